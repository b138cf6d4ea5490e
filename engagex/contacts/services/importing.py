"""Spreadsheet imports, set-based in PostgreSQL.

Rows are parsed in Python and streamed with COPY into a per-job UNLOGGED staging table.
One SQL statement then classifies every row (invalid, duplicate in the file, new, update,
unchanged, skipped); the dry run reports those counts. Applying works through the staging
table in row ranges, each range and the job's checkpoint committed together, so a worker
that dies mid-import resumes where it stopped and never applies a range twice.
"""

import csv
import io
import json
import logging
import tempfile
import zoneinfo

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import connection, transaction
from django.utils import timezone
from django.utils.translation import gettext_lazy

from engagex.billing.limits import LIMIT_REACHED, Limit, capacity, limit_serialise
from engagex.billing.services import billing_account_get, ensure_writable
from engagex.contacts.models import Contact, ImportJob
from engagex.contacts.services import mapping as mapping_rules
from engagex.contacts.services.contacts import email_is_valid, email_normalize
from engagex.contacts.services.reading import FileInfo, inspect_file, iter_data_rows
from engagex.core.tenancy import current_tenant

logger = logging.getLogger(__name__)

COPY_CHUNK_ROWS = 50_000
APPLY_CHUNK_ROWS = 100_000
PREVIEW_ERRORS = 100
STATUSES = {"subscribed", "unsubscribed", "bounced", "complained"}
TIMEZONES = frozenset(zoneinfo.available_timezones())
FIELDS = ["first_name", "last_name", "phone", "language", "timezone", "status"]

ACTIONS = ["new", "update", "unchanged", "skipped", "invalid", "duplicate", "over_limit"]
NOT_READY = gettext_lazy("This import is {status}; it cannot be {verb} now.")
STATUS_UNKNOWN = gettext_lazy(
    "Unknown status “{value}”: use subscribed, unsubscribed, bounced or complained."
)
TIMEZONE_UNKNOWN = gettext_lazy("Unknown time zone “{value}” (use a name such as Europe/Berlin).")
TOO_LONG = gettext_lazy("{label} is longer than {limit} characters.")
EMAIL_MISSING = gettext_lazy("Email is missing.")
EMAIL_INVALID = gettext_lazy("“{value}” is not a valid email address.")
EXTRA_CELLS = gettext_lazy("The row has {count:,} cells but the header has {columns:,} columns.")


# --- Creating a job -----------------------------------------------------------------------
@transaction.atomic
def import_job_create(*, upload, created_by=None, encoding: str = "auto") -> ImportJob:
    """Check an uploaded file and create an import job waiting for its column mapping."""
    ensure_writable(current_tenant())
    info: FileInfo = inspect_file(upload, name=upload.name, size=upload.size, encoding=encoding)
    job = ImportJob(
        original_name=upload.name[:255],
        file_format=info.file_format,
        file_size=upload.size,
        encoding=info.encoding,
        delimiter=info.delimiter,
        headers=info.headers,
        sample_rows=info.sample_rows,
        estimated_rows=info.estimated_rows,
        mapping=mapping_rules.mapping_guess(info.headers),
        counts={"notices": info.notices},
        created_by=created_by,
    )
    upload.seek(0)
    job.file.save(upload.name, upload, save=False)
    job.save()
    return job


def import_job_configure(
    *, job: ImportJob, mapping: dict, update_existing: bool, groups=(), unknown_columns=None
) -> ImportJob:
    """Store the user's column mapping and options; raise ValidationError if unusable."""
    _require(job, {ImportJob.Status.MAPPING, ImportJob.Status.VALIDATED}, "configured")
    mapping = {str(k): v for k, v in mapping.items()}
    errors = mapping_rules.mapping_errors(mapping, job.headers)
    if errors:
        raise ValidationError(errors)
    job.mapping = mapping
    job.update_existing = update_existing
    if unknown_columns:
        job.unknown_columns = unknown_columns
    job.status = ImportJob.Status.MAPPING
    job.save()
    job.target_groups.set(groups)
    return job


def import_runs_in_background(job: ImportJob) -> bool:
    return max(job.estimated_rows, job.total_rows) > settings.IMPORT_BACKGROUND_ROWS


# --- Dry run ------------------------------------------------------------------------------
def import_job_validate(*, job: ImportJob) -> ImportJob:
    """Stage and classify every row (the dry run); nothing in the workspace changes."""
    _require(job, {ImportJob.Status.MAPPING, ImportJob.Status.VALIDATING}, "validated")
    _progress(job, status=ImportJob.Status.VALIDATING, phase="Reading the file", processed=0)
    try:
        total = _stage(job)
        _progress(job, phase="Checking rows", processed=total, total=total)
        _classify(job)
        counts = _counts(job)
        _write_error_report(job)
    except ValidationError as error:
        _fail(job, " ".join(error.messages))
        return job
    job.counts = {**counts, "notices": job.counts.get("notices", [])}
    job.total_rows = total
    job.status = ImportJob.Status.VALIDATED
    job.phase = ""
    job.save()
    return job


def _stage(job: ImportJob) -> int:
    """COPY the file's rows (normalised and checked) into the job's staging table."""
    table = job.stage_table
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {table}")
        cursor.execute(
            f"""CREATE UNLOGGED TABLE {table} (
                row_no integer NOT NULL,
                email text,
                email_key text GENERATED ALWAYS AS (lower(email)) STORED,
                first_name text, last_name text, phone text, language text, timezone text,
                status text, attributes jsonb,
                error_column text, error text, action text, contact_id bigint
            )"""
        )
    columns = ", ".join(["row_no", "email", *FIELDS, "attributes", "error_column", "error"])
    plan = _RowPlan(job)
    total = 0
    job.file.open("rb")
    try:
        rows = iter_data_rows(
            job.file.file,
            file_format=job.file_format,
            encoding=job.encoding,
            delimiter=job.delimiter,
            name=job.original_name,
        )
        exhausted = False
        while not exhausted:
            written = 0
            with (
                transaction.atomic(),
                connection.cursor() as cursor,
                cursor.cursor.copy(f"COPY {table} ({columns}) FROM STDIN") as copy,
            ):
                for row_no, cells in rows:
                    staged = plan.stage(row_no, cells)
                    if staged is not None:
                        copy.write_row(staged)
                        written += 1
                        if written >= COPY_CHUNK_ROWS:
                            break
                else:
                    exhausted = True
            total += written
            _progress(job, processed=total, total=max(total, job.estimated_rows))
    finally:
        job.file.close()
    if total == 0:
        raise ValidationError("The file has a header row but no contact rows.")
    with connection.cursor() as cursor:
        cursor.execute(f"ALTER TABLE {table} ADD PRIMARY KEY (row_no)")
        cursor.execute(f"CREATE INDEX ON {table} (email_key)")
        cursor.execute(f"ANALYZE {table}")
    return total


class _RowPlan:
    """Turn a raw row into a staging tuple, checking each mapped value."""

    def __init__(self, job: ImportJob):
        self.columns = len(job.headers)
        self.index = {
            field: int(i) for i, field in job.mapping.items() if field in mapping_rules.FIELDS
        }
        self.attributes = [
            (int(i), job.headers[int(i)])
            for i, field in job.mapping.items()
            if field == mapping_rules.ATTRIBUTE
            and job.unknown_columns == ImportJob.UnknownColumns.ATTRIBUTES
        ]
        self.email_index = self.index["email"]
        self.fields = [(f, self.index.get(f)) for f in FIELDS]

    def stage(self, row_no: int, cells: list[str]):
        count = len(cells)
        if count == 0 or (count == 1 and not cells[0].strip()):
            return None  # a blank line
        error_column = error = None
        if count > self.columns and any(c.strip() for c in cells[self.columns :]):
            error_column, error = "", EXTRA_CELLS.format(count=count, columns=self.columns)
            cells = cells[: self.columns]
            count = self.columns
        raw_email = cells[self.email_index] if self.email_index < count else ""
        email = email_normalize(raw_email)
        if not email:
            if not any(c.strip() for c in cells):
                return None
            error_column, error = error_column or "email", error or EMAIL_MISSING
        elif error is None and not email_is_valid(email):
            error_column, error = "email", EMAIL_INVALID.format(value=email[:100])
        values = []
        for field, i in self.fields:
            value = cells[i].strip() if i is not None and i < count else ""
            if not value:
                values.append(None)
                continue
            if error is None:
                error_column, error = _check(field, value)
            values.append(value.lower() if field == "status" else value)
        if len(email) > 254:
            email = email[:254]
        attributes = None
        if self.attributes:
            attrs = {name: cells[i] for i, name in self.attributes if i < count and cells[i] != ""}
            attributes = json.dumps(attrs) if attrs else None
        return (row_no, email or None, *values, attributes, error_column, error)


def _check(field: str, value: str):
    limit = mapping_rules.MAX_LENGTHS.get(field)
    if limit and len(value) > limit:
        return field, TOO_LONG.format(label=mapping_rules.FIELDS[field], limit=limit)
    if field == "status" and value.lower() not in STATUSES:
        return field, STATUS_UNKNOWN.format(value=value[:50])
    if field == "timezone" and value not in TIMEZONES:
        return field, TIMEZONE_UNKNOWN.format(value=value[:64])
    return None, None


_CHANGED = """(
    (s.first_name IS NOT NULL AND s.first_name IS DISTINCT FROM c.first_name)
    OR (s.last_name IS NOT NULL AND s.last_name IS DISTINCT FROM c.last_name)
    OR (s.phone IS NOT NULL AND s.phone IS DISTINCT FROM c.phone)
    OR (s.language IS NOT NULL AND s.language IS DISTINCT FROM c.language)
    OR (s.timezone IS NOT NULL AND s.timezone IS DISTINCT FROM c.timezone)
    OR (s.attributes IS NOT NULL AND NOT c.attributes @> s.attributes)
    OR (s.status IS NOT NULL AND s.status <> c.status
        AND NOT (c.status <> 'subscribed' AND s.status = 'subscribed'))
)"""


def _classify(job: ImportJob) -> None:
    """Set every staged row's action in one statement, then mark rows over the limit."""
    table = job.stage_table
    contacts = Contact._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH firsts AS (
                SELECT row_no, min(row_no) OVER (PARTITION BY email_key) AS first_row
                FROM {table} WHERE error IS NULL
            ), classified AS (
                SELECT s.row_no, c.id AS contact_id, f.first_row,
                    CASE
                        WHEN s.error IS NOT NULL THEN 'invalid'
                        WHEN f.first_row <> s.row_no THEN 'duplicate'
                        WHEN c.id IS NULL THEN 'new'
                        WHEN NOT %(update)s THEN 'skipped'
                        WHEN {_CHANGED} THEN 'update'
                        ELSE 'unchanged'
                    END AS action
                FROM {table} s
                LEFT JOIN firsts f ON f.row_no = s.row_no
                LEFT JOIN {contacts} c ON lower(c.email) = s.email_key AND s.error IS NULL
            )
            UPDATE {table} s SET
                action = k.action,
                contact_id = CASE WHEN k.action = 'duplicate' THEN NULL ELSE k.contact_id END,
                error_column = CASE WHEN k.action = 'duplicate' THEN 'email'
                    ELSE s.error_column END,
                error = CASE WHEN k.action = 'duplicate'
                    THEN 'Same email address as row ' || k.first_row ELSE s.error END
            FROM classified k WHERE s.row_no = k.row_no
            """,  # noqa: S608
            {"update": job.update_existing},
        )
    _mark_over_limit(job)


def _mark_over_limit(job: ImportJob, *, through: int | None = None) -> int:
    """Report new rows (up to row `through`) past the contact limit instead of dropping them."""
    limit, count = capacity(Limit.CONTACTS)
    if limit is None:
        return 0
    remaining = max(0, limit - count)
    message = LIMIT_REACHED % {
        "plan": billing_account_get(current_tenant()).plan.name,
        "cap": f"{limit:,}",
        "limit": Limit.CONTACTS.label,
        "used": f"{count:,}",
        "adding": gettext_lazy("these"),
    }
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH ranked AS (
                SELECT row_no, row_number() OVER (ORDER BY row_no) AS n
                FROM {job.stage_table}
                WHERE action = 'new' AND row_no > %(done)s
                    AND row_no <= coalesce(%(through)s::bigint, row_no)
            )
            UPDATE {job.stage_table} s SET action = 'over_limit', error_column = 'email',
                error = %(message)s
            FROM ranked r WHERE s.row_no = r.row_no AND r.n > %(remaining)s
            """,  # noqa: S608
            {
                "done": job.applied_through_row,
                "through": through,
                "message": message,
                "remaining": remaining,
            },
        )
        return cursor.rowcount


def _counts(job: ImportJob) -> dict:
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT action, count(*) FROM {job.stage_table} GROUP BY action")  # noqa: S608
        found = dict(cursor.fetchall())
    return {action: found.get(action, 0) for action in ACTIONS}


def import_job_errors(*, job: ImportJob, limit: int = PREVIEW_ERRORS) -> list[dict]:
    """The first rejected rows (row number, email, column, reason) for the preview."""
    if not _stage_exists(job):
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT row_no, email, error_column, error FROM {job.stage_table} "  # noqa: S608
            "WHERE error IS NOT NULL ORDER BY row_no LIMIT %s",
            [limit],
        )
        return [
            {"row": r, "email": e or "", "column": _column_label(job, c), "reason": m}
            for r, e, c, m in cursor.fetchall()
        ]


def _column_label(job: ImportJob, field: str | None) -> str:
    if not field:
        return ""
    for index, mapped in job.mapping.items():
        if mapped == field:
            return job.headers[int(index)]
    return field


def _write_error_report(job: ImportJob) -> None:
    """Save a CSV of every rejected row and its reason next to the job."""
    if not any(
        job_count
        for action, job_count in _counts(job).items()
        if action in {"invalid", "duplicate", "over_limit"}
    ):
        return
    headers = {field: _column_label(job, field) for field in ["email", *FIELDS]}
    with tempfile.TemporaryFile() as raw:
        text = io.TextIOWrapper(raw, encoding="utf-8", newline="")
        writer = csv.writer(text)
        writer.writerow(["row", *headers.values(), "column", "reason"])
        with connection.cursor() as cursor:
            cursor.execute(
                f"SELECT row_no, email, {', '.join(FIELDS)}, error_column, error "  # noqa: S608
                f"FROM {job.stage_table} WHERE error IS NOT NULL ORDER BY row_no"
            )
            while batch := cursor.fetchmany(5000):
                for row in batch:
                    *values, column, reason = row
                    writer.writerow(
                        [_neutralise(v) for v in values] + [_column_label(job, column), reason]
                    )
        text.flush()
        text.detach()
        raw.seek(0)
        job.error_report.save(f"import-{job.pk}-errors.csv", File(raw), save=False)


def _neutralise(value):
    from engagex.contacts.services.exporting import cell_neutralise

    return cell_neutralise(value)


# --- Applying -----------------------------------------------------------------------------
def import_job_confirm(*, job: ImportJob) -> ImportJob:
    """Accept the dry run: the job is ready to be applied (inline or by a task)."""
    _require(job, {ImportJob.Status.VALIDATED}, "confirmed")
    ensure_writable(current_tenant())
    if not _stage_exists(job):
        raise ValidationError("This dry run has expired: upload the file again.")
    _progress(job, status=ImportJob.Status.IMPORTING, phase="Importing", processed=0)
    return job


def import_job_apply(*, job: ImportJob) -> ImportJob:
    """Apply a confirmed job range by range; safe to call again after a crash."""
    _require(job, {ImportJob.Status.IMPORTING}, "applied")
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT coalesce(max(row_no), 0) FROM {job.stage_table}")  # noqa: S608
        last_row = cursor.fetchone()[0]
    source = f"import: {job.original_name}"[:120]
    groups = list(job.target_groups.values_list("pk", flat=True))
    total = job.total_rows or 1
    while job.applied_through_row < last_row:
        low = job.applied_through_row
        high = min(last_row, low + APPLY_CHUNK_ROWS)
        with transaction.atomic():
            # Recount under the workspace's contacts lock: another import or form adding
            # contacts meanwhile leaves these rows less room than the dry run saw.
            limit_serialise(Limit.CONTACTS)
            _mark_over_limit(job, through=high)
            _apply_range(job, low, high, source=source, groups=groups)
            job.applied_through_row = high
            job.processed_rows = min(total, high)
            ImportJob.objects.filter(pk=job.pk).update(
                applied_through_row=high,
                processed_rows=job.processed_rows,
                updated_at=timezone.now(),
            )
    job.counts = {**_counts(job), "notices": job.counts.get("notices", [])}
    job.status = ImportJob.Status.DONE
    job.phase = ""
    job.processed_rows = job.total_rows
    job.finished_at = timezone.now()
    job.save()
    _drop_stage(job)
    with connection.cursor() as cursor:
        # Keep the planner's row estimate (used by the changelist's count) current.
        cursor.execute(f"ANALYZE {Contact._meta.db_table}")
    return job


def _apply_range(job: ImportJob, low: int, high: int, *, source: str, groups: list[int]) -> None:
    table = job.stage_table
    contacts = Contact._meta.db_table
    through = Contact.groups.through._meta.db_table
    params = {"low": low, "high": high, "now": timezone.now(), "source": source, "groups": groups}
    in_range = "s.row_no > %(low)s AND s.row_no <= %(high)s"
    with connection.cursor() as cursor:
        cursor.execute(
            f"""
            WITH ins AS (
                INSERT INTO {contacts} (email, first_name, last_name, phone, language, timezone,
                    attributes, status, status_changed_at, status_source, consent_at,
                    consent_source, created_at, updated_at)
                SELECT s.email, coalesce(s.first_name, ''), coalesce(s.last_name, ''),
                    coalesce(s.phone, ''), coalesce(s.language, ''), coalesce(s.timezone, ''),
                    coalesce(s.attributes, '{{}}'::jsonb), coalesce(s.status, 'subscribed'),
                    %(now)s, %(source)s,
                    CASE WHEN coalesce(s.status, 'subscribed') = 'subscribed' THEN %(now)s END,
                    CASE WHEN coalesce(s.status, 'subscribed') = 'subscribed'
                        THEN %(source)s ELSE '' END,
                    %(now)s, %(now)s
                FROM {table} s WHERE s.action = 'new' AND {in_range}
                ORDER BY s.row_no
                ON CONFLICT (lower(email)) DO NOTHING
                RETURNING id, lower(email) AS email_key
            )
            UPDATE {table} s SET contact_id = ins.id FROM ins
            WHERE s.email_key = ins.email_key AND s.action = 'new' AND {in_range}
            """,  # noqa: S608
            params,
        )
        status_changes = (
            "s.status IS NOT NULL AND s.status <> c.status "
            "AND NOT (c.status <> 'subscribed' AND s.status = 'subscribed')"
        )
        cursor.execute(
            f"""
            UPDATE {contacts} c SET
                first_name = coalesce(s.first_name, c.first_name),
                last_name = coalesce(s.last_name, c.last_name),
                phone = coalesce(s.phone, c.phone),
                language = coalesce(s.language, c.language),
                timezone = coalesce(s.timezone, c.timezone),
                attributes = CASE WHEN s.attributes IS NULL THEN c.attributes
                    ELSE c.attributes || s.attributes END,
                status = CASE WHEN {status_changes} THEN s.status ELSE c.status END,
                status_changed_at = CASE WHEN {status_changes} THEN %(now)s
                    ELSE c.status_changed_at END,
                status_source = CASE WHEN {status_changes} THEN %(source)s
                    ELSE c.status_source END,
                updated_at = %(now)s
            FROM {table} s
            WHERE s.action = 'update' AND s.contact_id = c.id AND {in_range}
            """,  # noqa: S608
            params,
        )
        if groups:
            cursor.execute(
                f"""
                INSERT INTO {through} (contact_id, contactgroup_id)
                SELECT s.contact_id, g.id FROM {table} s
                CROSS JOIN unnest(%(groups)s::bigint[]) AS g(id)
                WHERE s.contact_id IS NOT NULL
                    AND s.action IN ('new', 'update', 'unchanged', 'skipped') AND {in_range}
                ON CONFLICT DO NOTHING
                """,  # noqa: S608
                params,
            )


# --- Housekeeping -------------------------------------------------------------------------
def import_job_cancel(*, job: ImportJob) -> ImportJob:
    _require(job, {ImportJob.Status.MAPPING, ImportJob.Status.VALIDATED}, "cancelled")
    job.status = ImportJob.Status.CANCELLED
    job.finished_at = timezone.now()
    job.save()
    _drop_stage(job)
    return job


def import_job_interrupted(*, job: ImportJob, message: str) -> ImportJob:
    """Note why applying stopped; the job stays resumable from its checkpoint."""
    ImportJob.objects.filter(pk=job.pk).update(
        error_message=f"Stopped after row {job.applied_through_row:,}: {message}"[:2000],
        updated_at=timezone.now(),
    )
    job.refresh_from_db()
    return job


def import_job_resume(*, job: ImportJob) -> ImportJob:
    """Clear an interruption so the job can be applied again from its checkpoint."""
    _require(job, {ImportJob.Status.IMPORTING}, "resumed")
    if not _stage_exists(job):
        _fail(
            job,
            "The import's working data is gone (the database was restarted); "
            "upload the file again.",
        )
        raise ValidationError(job.error_message)
    job.error_message = ""
    job.save(update_fields=["error_message", "updated_at"])
    return job


def import_job_fail(*, job: ImportJob, message: str) -> ImportJob:
    _fail(job, message)
    return job


def _fail(job: ImportJob, message: str) -> None:
    job.status = ImportJob.Status.FAILED
    job.error_message = message
    job.phase = ""
    job.finished_at = timezone.now()
    job.save()
    _drop_stage(job)


def _drop_stage(job: ImportJob) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f"DROP TABLE IF EXISTS {job.stage_table}")


def _stage_exists(job: ImportJob) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [job.stage_table])
        return cursor.fetchone()[0] is not None


def _require(job: ImportJob, allowed: set, verb: str) -> None:
    if job.status not in allowed:
        raise ValidationError(NOT_READY.format(status=job.get_status_display().lower(), verb=verb))


def _progress(job: ImportJob, *, status=None, phase=None, processed=None, total=None) -> None:
    """Record progress outside any transaction so the admin's progress bar sees it."""
    if status is not None:
        job.status = status
    if phase is not None:
        job.phase = phase
    if processed is not None:
        job.processed_rows = processed
    if total is not None:
        job.total_rows = total
    ImportJob.objects.filter(pk=job.pk).update(
        status=job.status,
        phase=job.phase,
        processed_rows=job.processed_rows,
        total_rows=job.total_rows,
        updated_at=timezone.now(),
    )


def import_job_mark_queued(*, job: ImportJob) -> ImportJob:
    """Show the job as validating while its background dry run waits for a worker."""
    _progress(job, status=ImportJob.Status.VALIDATING, phase="Waiting for a worker", processed=0)
    return job


def import_job_remap(*, job: ImportJob) -> ImportJob:
    """Go back from the dry-run preview to the column mapping."""
    _require(job, {ImportJob.Status.VALIDATED}, "re-mapped")
    _drop_stage(job)
    job.status = ImportJob.Status.MAPPING
    job.counts = {"notices": job.counts.get("notices", [])}
    job.error_report = ""
    job.save()
    return job


def import_job_queue_unattended(*, job: ImportJob) -> ImportJob:
    """Queue an import that checks and then applies itself (API uploads)."""
    from engagex.contacts.tasks import contacts_import_unattended
    from engagex.core.tasks import enqueue_tenant_task

    job.background = True
    job.save(update_fields=["background"])
    import_job_mark_queued(job=job)
    enqueue_tenant_task(contacts_import_unattended, connection.schema_name, job.pk)
    return job
