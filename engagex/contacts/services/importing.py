"""Spreadsheet imports, set-based in PostgreSQL.

Rows are parsed in Python and streamed with COPY into a per-job UNLOGGED staging table.
One SQL statement then classifies every row (invalid, duplicate in the file, new, update,
unchanged, skipped); the dry run reports those counts. Applying works through the staging
table in row ranges, each range and the job's checkpoint committed together, so a run that
dies mid-import resumes where it stopped and never applies a range twice.

Every run of a job (a task in the cluster, or a request for a small file) goes through
`_process`, which holds the job's PostgreSQL advisory lock for as long as it works: the lock
is how "a live task is on this job" is known, since the database drops it the moment the
worker's connection dies (SIGKILL, a lost connection). The run also refreshes
`heartbeat_at` at every chunk. The minute sweeper re-queues a job that is in progress, whose
heartbeat is older than IMPORT_STALE_SECONDS and whose lock nobody holds. A job that keeps
killing its worker stops after IMPORT_MAX_ATTEMPTS runs without progress. Any failure ends
the job `failed` with a sentence a person understands (the exception goes to the log), and
notifies whoever uploaded the file; retry and cancel work from every state that needs them.
"""

import csv
import datetime
import hashlib
import io
import ipaddress
import json
import logging
import re
import tempfile
import zoneinfo
from collections.abc import Callable
from json.encoder import encode_basestring_ascii as _json_string
from typing import TYPE_CHECKING

from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.files import File
from django.db import (
    DatabaseError,
    IntegrityError,
    InterfaceError,
    OperationalError,
    connection,
    transaction,
)
from django.db.models import F, Q
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext, gettext_lazy
from psycopg import sql

from engagex.billing.limits import (
    LIMIT_REACHED,
    Limit,
    capacity,
    certainly_room,
    limit_serialise,
)
from engagex.billing.services.accounts import billing_account_get, ensure_writable
from engagex.contacts.models import Contact, ImportJob, ListConsent
from engagex.contacts.services import mapping as mapping_rules
from engagex.contacts.services.attributes import (
    attribute_types,
    attribute_value_from_file,
    attribute_value_problem,
)
from engagex.contacts.services.contacts import email_is_valid, email_normalize
from engagex.contacts.services.lists import confirmation_request_ids
from engagex.contacts.services.reading import (
    MAX_JSON_DEPTH,
    FileInfo,
    clean_text,
    display_text,
    file_check,
    inspect_file,
    iter_data_rows,
    json_depth,
    typed_value,
)
from engagex.contacts.services.status import (
    SUPPRESSED,
    status_raises,
    status_raises_sql,
    status_suppressed_sql,
)
from engagex.core.audit import AuditVerb, audit_record
from engagex.core.formats import number
from engagex.core.tenancy import current_schema, current_tenant, workspace_language

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

logger = logging.getLogger(__name__)

COPY_CHUNK_ROWS = 50_000
APPLY_CHUNK_ROWS = 100_000
# The memory each of an import's sorts, hashes and trigger row sets may take before
# spilling to disk, in its own transactions only (the server's default is 4 MB: a range's
# 100,000 contacts and the 200,000 memberships a trigger checks went to temporary files).
IMPORT_WORK_MEM = "64MB"
PREVIEW_ERRORS = 100
TIMEZONES = frozenset(zoneinfo.available_timezones())
FIELDS = ["first_name", "last_name", "phone", "language", "timezone", "status"]
STATUS = FIELDS.index("status")
# Consent columns, staged after the contact's fields (mapping.CONSENT's order).
CONSENT_FIELDS = list(mapping_rules.CONSENT)
# A consent date this far past the clock is a mistake in the file, not a time zone.
CONSENT_SLACK = datetime.timedelta(days=1)
# Runs of one job that may end without lasting progress before it is given up.
MAX_ATTEMPTS = 3
TRANSIENT_ERRORS = (OperationalError, InterfaceError, ConnectionError)
Status = ImportJob.Status
CONTACTS = sql.Identifier(Contact._meta.db_table)
MEMBERSHIPS = sql.Identifier(Contact.groups.through._meta.db_table)

ACTIONS = ["new", "update", "unchanged", "skipped", "invalid", "duplicate", "over_limit"]
NOT_READY = gettext_lazy("This import is “{status}”: it cannot be {verb} now.")
ALREADY_RUNNING = gettext_lazy(
    "This import is being worked on right now; it continues by itself and this page "
    "updates when it is done."
)
STATUS_UNKNOWN = gettext_lazy(
    "Unknown status “{value}”: use subscribed, unsubscribed, bounced or complained."
)
STATUS_NOT_SUBSCRIBED = gettext_lazy(
    "Status “{value}”: this person never confirmed a subscription (or is archived), so "
    "they are not imported."
)
TIMEZONE_UNKNOWN = gettext_lazy("Unknown time zone “{value}” (use a name such as Europe/Berlin).")
TOO_LONG = gettext_lazy("{label} is longer than {limit} characters.")
EMAIL_MISSING = gettext_lazy("Email is missing.")
EMAIL_INVALID = gettext_lazy("“{value}” is not a valid email address.")
EXTRA_CELLS = gettext_lazy("The row has {count} cells but the header has {columns} columns.")
NOT_A_JSON_OBJECT = gettext_lazy('The cell is not a JSON object such as {"city": "Berlin"}.')
SAME_AS_ROW = gettext_lazy("Same email address as row {row}")
NO_ROWS = gettext_lazy("The file has a header row but no contact rows.")
DRY_RUN_EXPIRED = gettext_lazy("This dry run has expired: upload the file again.")
LIST_CONSENT_REQUIRED = gettext_lazy(
    "You chose lists: say how the people in this file agreed to get email from you (you have "
    "their permission, or each of them is asked to confirm by email)."
)
CONSENT_DATE_INVALID = gettext_lazy(
    "“{value}” is not a date: write it like 2024-03-15 or 2024-03-15 14:30:00 (UTC)."
)
CONSENT_DATE_FUTURE = gettext_lazy("{value} is in the future: a consent date cannot be.")
CONSENT_IP_INVALID = gettext_lazy("“{value}” is not an IP address.")

# Failures, as the uploader reads them (the exception itself goes to the log).
CRASHED: dict[str, "StrOrPromise"] = {
    Status.READING: gettext_lazy(
        "The file could not be read because of a problem on our side; nothing was changed. "
        "Retry the import; if it fails again, save the file as CSV UTF-8 and upload that."
    ),
    Status.VALIDATING: gettext_lazy(
        "The check of the file stopped because of a problem on our side; nothing was changed "
        "in your contacts. Retry the import; if it fails again, tell your administrator."
    ),
    Status.IMPORTING: gettext_lazy(
        "The import stopped because of a problem on our side after {done} rows. Rows already "
        "imported stay imported; retry to continue from where it stopped."
    ),
}
STOPPED_REPEATEDLY = gettext_lazy(
    "The import stopped {attempts} times without getting further (the worker running it was "
    "stopped each time), so it is not tried again by itself. Rows already imported stay "
    "imported; retry to continue, or split the file into smaller ones."
)
INTERRUPTED = gettext_lazy(
    "The import was interrupted: the connection to the database was lost. It continues by "
    "itself within a few minutes, and rows already imported are not imported twice."
)
STAGE_LOST = gettext_lazy(
    "The import's working data was lost when the database restarted. Rows up to {row} were "
    "imported; upload the file again to import the rest (rows already imported will show as "
    "unchanged)."
)
PHASE_QUEUED = gettext_lazy("Waiting for a worker")
PHASE_READING = gettext_lazy("Reading the file")
PHASE_CHECKING = gettext_lazy("Checking rows")
PHASE_IMPORTING = gettext_lazy("Importing")


class _Cancelled(Exception):
    """The job left the state this run works on (cancelled meanwhile): stop quietly."""


# --- Creating a job -----------------------------------------------------------------------
@transaction.atomic
def import_job_create(
    *,
    upload,
    created_by=None,
    encoding: str = "auto",
    unattended: bool = False,
    update_existing: bool = True,
    groups=(),
    file_status: str | None = None,
    list_consent: str = "",
) -> ImportJob:
    """Check an uploaded file and create its import job.

    A CSV (read from its first 256 KB) and a small workbook or JSON file are described here;
    a larger one is read in the task cluster (status "reading"): parsing never runs long in a
    web request. An unattended job (API upload) is checked and applied without review.
    Lists (`groups`) need `list_consent`, said by `created_by` (see import_job_configure).
    """
    ensure_writable(current_tenant())
    groups = list(groups)
    import_list_consent_check(groups=groups, list_consent=list_consent)
    name = clean_text(upload.name or "upload")[:255]
    fmt, unpacked = file_check(upload, name=name, size=upload.size)
    job = ImportJob(
        original_name=name,
        file_format=fmt,
        file_size=upload.size,
        unpacked_size=unpacked,
        encoding="" if encoding == "auto" else encoding,
        created_by=created_by,
        unattended=unattended,
        update_existing=update_existing,
        file_status=mapping_rules.file_status_guess(name) if file_status is None else file_status,
    )
    if fmt == "csv" or unpacked <= settings.IMPORT_BACKGROUND_BYTES:
        _describe(job, inspect_file(upload, name=name, size=upload.size, encoding=encoding))
        if unattended:
            errors = mapping_rules.mapping_errors(job.mapping, job.headers)
            if errors:
                raise ValidationError(errors)
            job.status = Status.VALIDATING
    else:
        job.status = Status.READING
        job.phase = str(PHASE_QUEUED)
    upload.seek(0)
    job.file.save(name, upload, save=False)
    job.heartbeat_at = timezone.now()
    _list_consent_set(job, groups=groups, list_consent=list_consent, user=created_by)
    job.save()
    if groups:
        job.target_groups.set(groups)
    if unattended:
        audit_record(
            user=created_by,
            verb=AuditVerb.IMPORTED,
            obj=job,
            detail=gettext("%(name)s: uploaded through the API, applied without review")
            % {"name": name}
            + _consent_note(job, job.target_groups.all()),
        )
    if job.status in ImportJob.RUNNING:
        _queue(job)
    return job


def _describe(job: ImportJob, info: FileInfo) -> None:
    """Copy what reading found into the job and guess its mapping."""
    job.encoding = info.encoding
    job.delimiter = info.delimiter
    job.has_header = info.has_header
    job.headers = info.headers
    job.sample_rows = info.sample_rows
    job.estimated_rows = info.estimated_rows
    job.unpacked_size = info.unpacked_size or job.unpacked_size
    job.mapping = mapping_rules.mapping_guess(
        info.headers, samples=info.sample_rows, has_header=info.has_header
    )
    job.counts = {"notices": info.notices}


def import_job_configure(
    *,
    job: ImportJob,
    mapping: dict,
    update_existing: bool,
    groups=(),
    unknown_columns=None,
    file_status: str | None = None,
    list_consent: str = "",
    user=None,
) -> ImportJob:
    """Store the user's column mapping and options; raise ValidationError if unusable.

    Choosing lists needs `list_consent`: `user` has the people's permission, or each of them
    is asked to confirm by email (double opt-in) once the import commits.
    """
    _require(job, {Status.MAPPING, Status.VALIDATED}, gettext_lazy("configured"))
    mapping = {str(k): v for k, v in mapping.items()}
    errors = mapping_rules.mapping_errors(mapping, job.headers)
    if errors:
        raise ValidationError(errors)
    groups = list(groups)
    import_list_consent_check(groups=groups, list_consent=list_consent)
    _list_consent_set(job, groups=groups, list_consent=list_consent, user=user)
    job.mapping = mapping
    job.update_existing = update_existing
    if unknown_columns:
        job.unknown_columns = unknown_columns
    if file_status is not None:
        job.file_status = file_status
    job.status = Status.MAPPING
    job.save()
    job.target_groups.set(groups)
    return job


def import_list_consent_check(*, groups, list_consent: str) -> None:
    """Refuse lists without an answer to how their people agreed to get email."""
    if groups and list_consent not in ListConsent.values:
        raise ValidationError({"list_consent": LIST_CONSENT_REQUIRED})


def _list_consent_set(job: ImportJob, *, groups, list_consent: str, user) -> None:
    """Record the importer's consent choice: who made it, when, and its words as shown
    (in the language they read it in); no lists, no choice."""
    chosen = list_consent if groups else ""
    job.list_consent = chosen
    job.list_consent_confirmed_by = user if chosen == ListConsent.PERMISSION else None
    job.list_consent_at = timezone.now() if chosen else None
    job.list_consent_text = str(ListConsent(chosen).label) if chosen else ""


def import_runs_in_background(job: ImportJob) -> bool:
    """Large files (by rows, or by bytes to parse) are read, checked and applied in tasks."""
    return (
        job.status == Status.READING
        or max(job.estimated_rows, job.total_rows) > settings.IMPORT_BACKGROUND_ROWS
        or max(job.unpacked_size, job.file_size) > settings.IMPORT_BACKGROUND_BYTES
    )


def import_job_check(*, job: ImportJob) -> ImportJob:
    """Start the dry run of a configured job: here when small, else in the task cluster."""
    _require(job, {Status.MAPPING}, gettext_lazy("checked"))
    if import_runs_in_background(job):
        return _queue(job, status=Status.VALIDATING)
    return import_job_validate(job=job)


# --- Running (the one entry point of tasks, the sweeper and inline runs) ---------------------
def import_job_process(*, job_id: int) -> ImportJob | None:
    """Do all the work the job is waiting for, unless a live run already holds it."""
    job = ImportJob.objects.filter(pk=job_id).first()
    return None if job is None else _process(job)


def _queue(job: ImportJob, *, status=None) -> ImportJob:
    """Hand the job's next step to the task cluster (after this transaction commits)."""
    from engagex.contacts.tasks import contacts_import_run
    from engagex.core.tasks import enqueue_tenant_task

    import_job_mark_queued(job=job, status=status)
    enqueue_tenant_task(contacts_import_run, current_schema(), job.pk)
    return job


def import_job_mark_queued(*, job: ImportJob, status=None) -> ImportJob:
    """Show the job as waiting for a worker (its heartbeat counts from now)."""
    job.status = status or (job.status if job.status in ImportJob.RUNNING else Status.VALIDATING)
    job.background = True
    job.phase = str(PHASE_QUEUED)
    job.error_message = ""
    if job.status != Status.IMPORTING:
        job.processed_rows = 0
    job.heartbeat_at = timezone.now()
    ImportJob.objects.filter(pk=job.pk).update(
        status=job.status,
        background=True,
        phase=job.phase,
        error_message="",
        processed_rows=job.processed_rows,
        heartbeat_at=job.heartbeat_at,
        updated_at=timezone.now(),
    )
    return job


def _lock_key(job_pk: int) -> int:
    """The job's advisory-lock key: the same job id exists in every workspace schema."""
    digest = hashlib.blake2b(f"{current_schema()}:import:{job_pk}".encode(), digest_size=8)
    return int.from_bytes(digest.digest(), "big") & 0x7FFF_FFFF_FFFF_FFFF


def _try_lock(key: int) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_lock(%s)", [key])
        return cursor.fetchone()[0]


def _unlock(key: int) -> None:
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_unlock(%s)", [key])
    except DatabaseError:
        logger.warning("Could not release import lock %s (the connection is gone)", key)


def _lock_free(job_pk: int) -> bool:
    """True when no session holds the job's lock (no live run)."""
    key = _lock_key(job_pk)
    if not _try_lock(key):
        return False
    _unlock(key)
    return True


def _process(job: ImportJob) -> ImportJob:
    key = _lock_key(job.pk)
    if not _try_lock(key):
        job.refresh_from_db()
        return job
    try:
        job.refresh_from_db()
        if job.status == Status.CANCELLED:
            _drop_stage(job)
        while job.status in ImportJob.RUNNING:
            if job.attempts >= MAX_ATTEMPTS:
                _fail(job, STOPPED_REPEATEDLY.format(attempts=job.attempts))
                break
            ImportJob.objects.filter(pk=job.pk).update(
                attempts=F("attempts") + 1, heartbeat_at=timezone.now()
            )
            job.attempts += 1
            if not _run_step(job):
                break
    finally:
        _unlock(key)
    return job


def _run_step(job: ImportJob) -> bool:
    """Run the job's current step; True when it moved on to another status."""
    status = job.status
    steps: dict[str, Callable[[ImportJob], None]] = {
        Status.READING: _read,
        Status.VALIDATING: _dry_run,
        Status.IMPORTING: _apply,
    }
    try:
        steps[status](job)
    except _Cancelled:
        job.refresh_from_db()
        if job.status == Status.CANCELLED:
            _drop_stage(job)
        return False
    except ValidationError as error:
        _fail(job, " ".join(str(m) for m in error.messages))
        return False
    except TRANSIENT_ERRORS:
        logger.exception("Import %s interrupted while %s; it will be resumed", job.pk, status)
        _record_interruption(job)
        return False
    except Exception:
        logger.exception("Import %s failed while %s", job.pk, status)
        _reconnect_if_broken()
        _fail(job, CRASHED[status].format(done=number(job.applied_through_row)))
        return False
    ImportJob.objects.filter(pk=job.pk).update(attempts=0)
    job.attempts = 0
    return job.status != status


def _reconnect_if_broken() -> None:
    if not connection.in_atomic_block:
        connection.close_if_unusable_or_obsolete()


def _record_interruption(job: ImportJob) -> None:
    """Say why the job stopped; leave it in progress for the sweeper to resume."""
    try:
        _reconnect_if_broken()
        ImportJob.objects.filter(pk=job.pk).update(
            error_message=str(INTERRUPTED), updated_at=timezone.now()
        )
        job.error_message = str(INTERRUPTED)
    except DatabaseError:
        logger.warning("Import %s: could not record the interruption", job.pk)


def _beat(job: ImportJob, **fields) -> None:
    """Record progress (and that this run is alive); stop if the job was cancelled."""
    for name, value in fields.items():
        setattr(job, name, value)
    updated = ImportJob.objects.filter(pk=job.pk, status=job.status).update(
        **fields, heartbeat_at=timezone.now(), updated_at=timezone.now()
    )
    if not updated:
        raise _Cancelled


def _move(job: ImportJob, status, **fields) -> None:
    """Move the job from its current status to `status` (unless it was cancelled)."""
    fields = {"status": status, "phase": "", **fields}
    updated = ImportJob.objects.filter(pk=job.pk, status=job.status).update(
        **fields, heartbeat_at=timezone.now(), updated_at=timezone.now()
    )
    if not updated:
        raise _Cancelled
    for name, value in fields.items():
        setattr(job, name, value)


# --- Reading a large file (in the cluster) ---------------------------------------------------
def _read(job: ImportJob) -> None:
    _beat(job, phase=str(PHASE_READING))
    job.file.open("rb")
    try:
        info = inspect_file(
            job.file.file, name=job.original_name, size=job.file_size, encoding="auto"
        )
    finally:
        job.file.close()
    _describe(job, info)
    fields = {
        name: getattr(job, name)
        for name in ["encoding", "delimiter", "has_header", "headers", "sample_rows",
                     "estimated_rows", "unpacked_size", "mapping", "counts"]
    }  # fmt: skip
    if job.unattended:
        errors = mapping_rules.mapping_errors(job.mapping, job.headers)
        if errors:
            raise ValidationError(errors)
        _move(job, Status.VALIDATING, **fields)
    else:
        _move(job, Status.MAPPING, **fields)
        _notify(
            job,
            gettext("Import ready for its column mapping: %(name)s") % {"name": job.original_name},
            "info",
        )


# --- Dry run ------------------------------------------------------------------------------
def import_job_validate(*, job: ImportJob) -> ImportJob:
    """Stage and classify every row (the dry run) now; nothing in the workspace changes.

    A failure ends the job `failed` with its reason (not raised)."""
    _require(job, {Status.MAPPING, Status.VALIDATING}, gettext_lazy("validated"))
    if job.status == Status.MAPPING:
        _move(job, Status.VALIDATING, processed_rows=0, error_message="", attempts=0)
    return _process(job)


def _dry_run(job: ImportJob) -> None:
    _beat(job, phase=str(PHASE_READING), processed_rows=0)
    total = _stage(job)
    _beat(job, phase=str(PHASE_CHECKING), processed_rows=total, total_rows=total)
    _classify(job)
    counts = _counts(job)
    _write_error_report(job)
    counts["notices"] = job.counts.get("notices", [])
    _move(
        job,
        Status.VALIDATED,
        counts=counts,
        total_rows=total,
        error_report=job.error_report.name or "",
        error_message="",
    )
    if job.unattended:
        _move(job, Status.IMPORTING, processed_rows=0)
    elif job.background:
        _notify(
            job,
            gettext("Import ready to confirm: %(name)s") % {"name": job.original_name},
            "info",
        )


def _stage(job: ImportJob) -> int:
    """COPY the file's rows (normalised and checked) into the job's staging table."""
    table = _stage_table(job)
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(table))
        cursor.execute(
            sql.SQL("""CREATE UNLOGGED TABLE {} (
                row_no integer NOT NULL,
                email text,
                email_key text GENERATED ALWAYS AS (lower(email)) STORED,
                first_name text, last_name text, phone text, language text, timezone text,
                status text, status_source text, status_at timestamptz, attributes jsonb,
                consent_at timestamptz, consent_ip inet, confirmed_at timestamptz,
                confirm_ip inet,
                error_column text, error text, action text, contact_id bigint
            )""").format(table)
        )
    columns = sql.SQL(", ").join(
        sql.Identifier(name)
        for name in ["row_no", "email", *FIELDS, "status_source", "status_at", "attributes"]
        + [*CONSENT_FIELDS, "error_column", "error"]
    )
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
            columns=len(job.headers),
            headers=job.headers,
            has_header=job.has_header,
        )
        exhausted = False
        while not exhausted:
            written = 0
            with (
                transaction.atomic(),
                connection.cursor() as cursor,
                cursor.cursor.copy(
                    sql.SQL("COPY {} ({}) FROM STDIN").format(table, columns)
                ) as copy,
            ):
                for row_no, cells, count in rows:
                    staged = plan.stage(row_no, cells, count)
                    if staged is not None:
                        copy.write_row(staged)
                        written += 1
                        if written >= COPY_CHUNK_ROWS:
                            break
                else:
                    exhausted = True
            total += written
            _beat(job, processed_rows=total, total_rows=max(total, job.estimated_rows))
    finally:
        job.file.close()
    if total == 0:
        raise ValidationError(NO_ROWS)
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("ALTER TABLE {} ADD PRIMARY KEY (row_no)").format(table))
        cursor.execute(sql.SQL("CREATE INDEX ON {} (email_key)").format(table))
        cursor.execute(sql.SQL("ANALYZE {}").format(table))
    return total


class _RowPlan:
    """Turn a raw row into a staging tuple, checking each mapped value.

    Every message is made a `str` here: COPY cannot adapt a lazy translation.
    """

    def __init__(self, job: ImportJob):
        self.columns = len(job.headers)
        mapping = {int(i): field for i, field in job.mapping.items()}
        self.index = {field: i for i, field in mapping.items() if field in mapping_rules.SINGLE}
        keep = job.unknown_columns == ImportJob.UnknownColumns.ATTRIBUTES
        self.attributes = [
            (i, clean_text(job.headers[i]))
            for i, f in mapping.items()
            if f == mapping_rules.ATTRIBUTE and keep
        ]
        self.json_attributes = [
            (i, job.headers[i])
            for i, f in mapping.items()
            if f == mapping_rules.ATTRIBUTES_JSON and keep
        ]
        # Typed custom attributes: a value that does not fit its type is the row's error.
        self.types = attribute_types() if self.attributes or self.json_attributes else {}
        self.opt_outs = [
            (i, f, job.headers[i]) for i, f in mapping.items() if f in mapping_rules.OPT_OUTS
        ]
        self.email_index = self.index["email"]
        self.consent = [
            (
                position,
                field,
                self.index[field],
                _consent_time if field in mapping_rules.CONSENT_DATES else _consent_ip,
            )
            for position, field in enumerate(CONSENT_FIELDS)
            if field in self.index
        ]
        self.latest = timezone.now() + CONSENT_SLACK
        self.full_name = self.index.get(mapping_rules.FULL_NAME)
        self.fields = [self.index.get(f) for f in FIELDS]
        self.source = f"import: {job.original_name}"
        self.file_status = job.file_status or None
        # Spreadsheet exports (ours included) put a ' before text a spreadsheet would run.
        self.unquote = job.file_format == "csv"

    def stage(self, row_no: int, cells: list, count: int):
        # The hot loop of an import (a million calls): text cells take the short paths.
        error_column = error = None
        if count > self.columns:
            error_column, error = (
                "",
                str(EXTRA_CELLS.format(count=number(count), columns=number(self.columns))),
            )
        raw_email = _text(cells[self.email_index])
        if ":::" in raw_email:  # Google Contacts puts several addresses in one cell
            raw_email = raw_email.split(":::")[0]
        email = email_normalize(raw_email)
        if not email:
            if error is None and not any(_filled(cell) for cell in cells):
                return None  # a blank line
            error_column, error = error_column or "email", error or str(EMAIL_MISSING)
        elif error is None and not email_is_valid(email):
            error_column, error = "email", str(EMAIL_INVALID.format(value=email[:100]))
        values = [
            None
            if i is None
            else (v.strip() or None)
            if type(v := cells[i]) is str
            else (display_text(v).strip() or None)
            for i in self.fields
        ]
        if self.unquote:
            values = [_unquoted(v) if v and v[0] == "'" else v for v in values]
        if self.full_name is not None:
            parts = _text(cells[self.full_name]).split(None, 1)
            values[0] = parts[0] if parts else None
            values[1] = parts[1] if len(parts) > 1 else None
        if error is None:
            for field, value in zip(FIELDS, values, strict=True):
                if value is not None:
                    error_column, error = _check(field, value)
                    if error is not None:
                        break
        stated = values[STATUS]
        if stated is None and not self.opt_outs and not self.file_status:
            status = status_source = status_at = None
        else:
            status, status_source, status_at = self._status(cells, stated)
            if error is None and stated is not None and status == "":
                error_column = "status"
                error = str(STATUS_NOT_SUBSCRIBED.format(value=stated[:50]))
            values[STATUS] = status or None
        attributes = None
        if self.attributes or self.json_attributes:
            attrs = {}
            for i, name in self.attributes:
                value = cells[i]
                if type(value) is str:
                    value = value.strip()
                    if not value:
                        continue
                    if value[0] == "'" and self.unquote:
                        value = _unquoted(value)
                    if value[0] in "[{":
                        value = _json_text(value)
                elif value is None:
                    continue
                else:
                    value = typed_value(value)
                attrs[name] = value
            for i, name in self.json_attributes:
                found = _json_object(cells[i])
                if found is None and error is None:
                    error_column, error = name, str(NOT_A_JSON_OBJECT)
                attrs.update(found or {})
            if self.types:
                for name, value in attrs.items():
                    kind = self.types.get(name)
                    attrs[name] = value = attribute_value_from_file(kind, value)
                    problem = attribute_value_problem(kind, name, value)
                    if problem is not None and error is None:
                        error_column, error = name, problem
            attributes = _json_dumps(attrs) if attrs else None
        consent = [None, None, None, None]
        for position, field, i, parse in self.consent:
            value, problem = parse(cells[i], self.latest)
            consent[position] = value
            if problem is not None and error is None:
                error_column, error = field, problem
        return (
            row_no,
            email[:254] or None,
            *values,
            status_source,
            status_at,
            attributes,
            *consent,
            error_column,
            error,
        )

    def _status(self, cells: list, stated: str | None):
        """The row's status: the most severe of the file's, its status cell's and its
        opt-out columns'; with where it came from and when, for opted-out rows."""
        status = source = when = None
        if stated is not None:
            status = mapping_rules.status_from_cell(stated)
            if status is None:
                return stated.lower(), None, None  # reported by _check as unknown
            if status == "":
                return "", None, None
        for i, field, header in self.opt_outs:
            cell = cells[i]
            if cell is None or not mapping_rules.cell_is_true(display_text(cell)):
                continue
            if _worse(field, status) or (field == status and source is None):
                status, source, when = field, f"{self.source} ({header})", _when(cell)
        if self.file_status and _worse(self.file_status, status):
            status, source, when = self.file_status, self.source, None
        if status in SUPPRESSED and source is None:
            source = self.source
        return status, (source or "")[:120] or None, when


def _json_dumps(attrs: dict) -> str:
    """`json.dumps(attrs)`; a CSV's attributes (all text) are written directly, in a third
    of its time (1.3 s of a 1M-row import with two attribute columns)."""
    for key, value in attrs.items():
        if type(value) is not str or type(key) is not str:
            return json.dumps(attrs)
    return "{" + ",".join([_json_string(k) + ":" + _json_string(v) for k, v in attrs.items()]) + "}"


def _text(cell) -> str:
    return cell if type(cell) is str else display_text(cell)


_QUOTED = ("'=", "'+", "'-", "'@", "'\t", "'\r")


def _unquoted(value: str) -> str:
    """Text without the ' an export put before a leading = + - @, tab or CR (OWASP's
    formula-injection guard, which EngageX's own CSV export applies too)."""
    return value[1:] if value.startswith(_QUOTED) else value


def _json_text(value: str):
    """A list or object written as JSON text (how exports write them), as that value;
    any other text stays text."""
    if value[-1] not in "]}":
        return value
    try:
        parsed = json.loads(value)
    except (ValueError, RecursionError):
        return value
    if (
        not isinstance(parsed, list | dict)
        or json_depth(parsed, MAX_JSON_DEPTH + 1) > MAX_JSON_DEPTH
    ):
        return value
    return typed_value(parsed)


def _worse(status: str, than: str | None) -> bool:
    return status_raises(than, status)


def _filled(cell) -> bool:
    return cell is not None and not (isinstance(cell, str) and not cell.strip())


def _when(cell) -> datetime.datetime | None:
    """When an opt-out cell holds a time (Mailchimp's UNSUB_TIME, in UTC), that time."""
    if isinstance(cell, datetime.datetime):
        moment = cell
    else:
        try:
            moment = datetime.datetime.fromisoformat(display_text(cell).strip())
        except ValueError:
            return None
    if timezone.is_naive(moment):
        moment = moment.replace(tzinfo=datetime.UTC)
    return min(moment, timezone.now())


# Dotted IPv4 without leading zeros: already in the form ip_address() would give back.
_OCTET = r"(?:25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)"
_IPV4 = re.compile(rf"(?:{_OCTET}\.){{3}}{_OCTET}")


def _consent_ip(cell, latest=None):
    """An address cell as (text, None), (None, problem) or (None, None) when empty."""
    text = (cell if type(cell) is str else _text(cell)).strip()
    if not text:
        return None, None
    if _IPV4.fullmatch(text):  # the common case, without ipaddress's slower parse
        return text, None
    try:
        return str(ipaddress.ip_address(text)), None
    except ValueError:
        return None, str(CONSENT_IP_INVALID.format(value=text[:50]))


def _consent_time(cell, latest: datetime.datetime):
    """A date cell as (aware time, None), (None, problem) or (None, None) when empty. Times
    without a zone are UTC (as Mailchimp writes OPTIN_TIME and CONFIRM_TIME)."""
    if type(cell) is str:
        text = cell.strip()
        if not text:
            return None, None
        try:
            moment = datetime.datetime.fromisoformat(text)
        except ValueError:
            return None, str(CONSENT_DATE_INVALID.format(value=text[:50]))
    elif isinstance(cell, datetime.datetime):
        moment = cell
    elif isinstance(cell, datetime.date):
        moment = datetime.datetime(cell.year, cell.month, cell.day, tzinfo=datetime.UTC)
    elif cell is None:
        return None, None
    else:
        return _consent_time(_text(cell), latest)
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=datetime.UTC)
    if moment > latest:
        return None, str(CONSENT_DATE_FUTURE.format(value=_text(cell).strip()[:50]))
    return moment, None


def _json_object(cell):
    """A cell holding a JSON object (listmonk's "attributes"), or None when it is not one."""
    if isinstance(cell, dict):
        return typed_value(cell)
    text = display_text(cell).strip()
    if not text:
        return {}
    try:
        value = json.loads(text)
    except (ValueError, RecursionError):
        return None
    if not isinstance(value, dict) or json_depth(value, MAX_JSON_DEPTH + 1) > MAX_JSON_DEPTH:
        return None
    return typed_value(value)


def _check(field: str, value: str):
    limit = mapping_rules.MAX_LENGTHS.get(field)
    if limit and len(value) > limit:
        return field, str(TOO_LONG.format(label=mapping_rules.FIELDS[field], limit=limit))
    if field == "status" and mapping_rules.status_from_cell(value) is None:
        return field, str(STATUS_UNKNOWN.format(value=value[:50]))
    if field == "timezone" and value not in TIMEZONES:
        return field, str(TIMEZONE_UNKNOWN.format(value=value[:64]))
    return None, None


# An import only ever makes a status more severe (never re-subscribes anyone).
_STATUS_UP = status_raises_sql("c.status", "s.status")
_NUMBER = r"'^[-+]?[0-9]{1,30}(\.[0-9]{1,30})?([eE][-+]?[0-9]{1,3})?$'"


def _same_value(staged: str, stored: str) -> str:
    """SQL: the staged attribute value equals the stored one, allowing for the file's type:
    a CSV cell "3" is the stored number 3, "TRUE" the boolean true, " x " the text "x"."""
    a, b = f"btrim({staged} #>> '{{}}')", f"btrim({stored} #>> '{{}}')"
    return (
        f"({staged} = {stored} OR {a} = {b}"
        f" OR ({a} ~ {_NUMBER} AND {b} ~ {_NUMBER} AND {a}::numeric = {b}::numeric)"
        f" OR (lower({a}) IN ('true', 'false') AND lower({a}) = lower({b})))"
    )


# Staged attributes that differ from the contact's (absent, or another value).
_ATTRS_DIFFERENT = sql.SQL(
    "FROM jsonb_each(s.attributes) AS st(k, v) WHERE c.attributes -> st.k IS NULL "
    f"OR NOT {_same_value('st.v', 'c.attributes -> st.k')}"
)
_ATTRS_CHANGED = sql.SQL(
    "(s.attributes IS NOT NULL AND NOT c.attributes @> s.attributes AND EXISTS (SELECT 1 {}))"
).format(_ATTRS_DIFFERENT)

_CHANGED = sql.SQL("""(
    (s.first_name IS NOT NULL AND s.first_name IS DISTINCT FROM c.first_name)
    OR (s.last_name IS NOT NULL AND s.last_name IS DISTINCT FROM c.last_name)
    OR (s.phone IS NOT NULL AND s.phone IS DISTINCT FROM c.phone)
    OR (s.language IS NOT NULL AND s.language IS DISTINCT FROM c.language)
    OR (s.timezone IS NOT NULL AND s.timezone IS DISTINCT FROM c.timezone)
    OR {attrs_changed}
    OR {status_up}
)""").format(attrs_changed=_ATTRS_CHANGED, status_up=_STATUS_UP)


def _stage_table(job: ImportJob) -> sql.Identifier:
    return sql.Identifier(job.stage_table)


def _sorts_in_memory(cursor) -> None:
    """IMPORT_WORK_MEM for the rest of this transaction only (set_config, not SET LOCAL with
    a parameter, which server-side binding would refuse)."""
    cursor.execute("SELECT set_config('work_mem', %s, true)", [IMPORT_WORK_MEM])


def _classify(job: ImportJob) -> None:
    """Set every staged row's action in one statement, then mark rows over the limit.

    The staging table is written anew rather than updated in place: `CREATE TABLE AS` of a
    million rows costs about a third of an UPDATE of each (which writes every row again and
    its index entries). Its columns are `_stage`'s, in the same order.
    """
    table = _stage_table(job)
    classified = sql.Identifier(f"{job.stage_table}_classified")
    names = ["row_no", "email", "email_key", *FIELDS, "status_source", "status_at",
             "attributes", *CONSENT_FIELDS]  # fmt: skip
    kept = sql.SQL(", ").join(sql.SQL("s.{}").format(sql.Identifier(n)) for n in names)
    outer = sql.SQL(", ").join(
        sql.SQL("k.{}").format(sql.Identifier(n))
        for n in [*names, "error_column", "error", "action"]
    )
    with transaction.atomic(), connection.cursor() as cursor:
        _sorts_in_memory(cursor)
        cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(classified))
        cursor.execute(
            sql.SQL("""
            CREATE UNLOGGED TABLE {classified} AS
            SELECT {outer},
                CASE WHEN k.action <> 'duplicate' THEN k.found_id END AS contact_id
            FROM (
                SELECT {kept},
                    CASE WHEN f.first_row <> s.row_no AND s.error IS NULL THEN 'email'
                        ELSE s.error_column END AS error_column,
                    CASE WHEN f.first_row <> s.row_no AND s.error IS NULL
                        THEN replace(%(same)s, '{{row}}', f.first_row::text)
                        ELSE s.error END AS error,
                    CASE
                        WHEN s.error IS NOT NULL THEN 'invalid'
                        WHEN f.first_row <> s.row_no THEN 'duplicate'
                        WHEN c.id IS NULL THEN 'new'
                        WHEN NOT %(update)s THEN
                            CASE WHEN {status_up} THEN 'update' ELSE 'skipped' END
                        WHEN {changed} THEN 'update'
                        ELSE 'unchanged'
                    END AS action,
                    c.id AS found_id
                FROM {table} s
                LEFT JOIN (
                    SELECT row_no, min(row_no) OVER (PARTITION BY email_key) AS first_row
                    FROM {table} WHERE error IS NULL
                ) f ON f.row_no = s.row_no
                LEFT JOIN {contacts} c ON lower(c.email) = s.email_key AND s.error IS NULL
                ORDER BY s.row_no
            ) k
            """).format(
                classified=classified,
                kept=kept,
                outer=outer,
                table=table,
                contacts=CONTACTS,
                status_up=_STATUS_UP,
                changed=_CHANGED,
            ),
            {"update": job.update_existing, "same": str(SAME_AS_ROW)},
        )
        cursor.execute(sql.SQL("DROP TABLE {}").format(table))
        cursor.execute(sql.SQL("ALTER TABLE {} RENAME TO {}").format(classified, table))
        cursor.execute(sql.SQL("ALTER TABLE {} ADD PRIMARY KEY (row_no)").format(table))
        cursor.execute(sql.SQL("ANALYZE {}").format(table))
    _mark_erased(job)
    _mark_over_limit(job)


def _mark_erased(job: ImportJob, *, through: int | None = None) -> int:
    """Reject new rows (up to row `through`) whose address was erased at the person's
    request, in one statement. No hashing when nobody was erased (while applying: nobody
    since the job began, as its dry run checked the rest)."""
    from engagex.contacts.services import erasure

    if not erasure.any_erased(since=job.created_at if through is not None else None):
        return 0
    erased, params = erasure.erased_rows_sql(sql.SQL("s.email"))
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("""
            UPDATE {table} s SET action = 'invalid', contact_id = NULL,
                error_column = 'email', error = %(message)s
            WHERE s.action = 'new' AND s.row_no > %(done)s
                AND s.row_no <= coalesce(%(through)s::bigint, s.row_no) AND {erased}
            """).format(table=_stage_table(job), erased=erased),
            {
                **params,
                "message": str(erasure.ERASED_IN_IMPORT),
                "done": job.applied_through_row,
                "through": through,
            },
        )
        return cursor.rowcount


def _mark_over_limit(job: ImportJob, *, through: int | None = None) -> int:
    """Report new rows (up to row `through`) past the contact limit instead of dropping them."""
    if through is not None and certainly_room(
        Limit.CONTACTS, adding=through - job.applied_through_row
    ):
        # The range's rows fit even if each were new: no count of every contact and no
        # statement (the two took 2.2 s of a 1M-row import, range by range).
        return 0
    limit, count = capacity(Limit.CONTACTS)
    if limit is None:
        return 0
    remaining = max(0, limit - count)
    message = LIMIT_REACHED % {
        "plan": billing_account_get(current_tenant()).plan.name,
        "cap": number(limit),
        "limit": Limit.CONTACTS.label,
        "used": number(count),
        "adding": gettext("these"),
    }
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("""
            WITH ranked AS (
                SELECT row_no, row_number() OVER (ORDER BY row_no) AS n
                FROM {table}
                WHERE action = 'new' AND row_no > %(done)s
                    AND row_no <= coalesce(%(through)s::bigint, row_no)
            )
            UPDATE {table} s SET action = 'over_limit', error_column = 'email',
                error = %(message)s
            FROM ranked r WHERE s.row_no = r.row_no AND r.n > %(remaining)s
            """).format(table=_stage_table(job)),
            {
                "done": job.applied_through_row,
                "through": through,
                "message": str(message),
                "remaining": remaining,
            },
        )
        return cursor.rowcount


def _counts(job: ImportJob) -> dict:
    with connection.cursor() as cursor:
        table = _stage_table(job)
        cursor.execute(sql.SQL("SELECT action, count(*) FROM {} GROUP BY action").format(table))
        found = dict(cursor.fetchall())
        cursor.execute(
            sql.SQL(
                "SELECT status, count(*) FROM {} "
                "WHERE action IN ('new', 'update', 'unchanged', 'skipped') "
                "AND {} GROUP BY status"
            ).format(table, status_suppressed_sql("status"))
        )
        opted_out = dict(cursor.fetchall())
    counts = {action: found.get(action, 0) for action in ACTIONS}
    counts["opted_out"] = {status: opted_out.get(status, 0) for status in SUPPRESSED}
    return counts


def import_job_errors(*, job: ImportJob, limit: int = PREVIEW_ERRORS) -> list[dict]:
    """The first rejected rows (row number, email, column, reason) for the preview."""
    if not _stage_exists(job):
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL(
                "SELECT row_no, email, error_column, error FROM {} "
                "WHERE error IS NOT NULL ORDER BY row_no LIMIT %s"
            ).format(_stage_table(job)),
            [limit],
        )
        return [
            {"row": r, "email": e or "", "column": _column_label(job, c), "reason": m}
            for r, e, c, m in cursor.fetchall()
        ]


def _column_label(job: ImportJob, field: str | None) -> str:
    """The file's own header for `field`, else the field's name as the mapping step shows it."""
    if not field:
        return ""
    for index, mapped in job.mapping.items():
        if mapped == field:
            return job.headers[int(index)]
    return str(mapping_rules.FIELDS.get(field, field))


@workspace_language()
def _write_error_report(job: ImportJob) -> None:
    """Save a CSV of every rejected row and its reason next to the job (its headers in the
    workspace's language: the file is made once, for whoever downloads it)."""
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
        writer.writerow([gettext("Row"), *headers.values(), gettext("Column"), gettext("Reason")])
        with connection.cursor() as cursor:
            cursor.execute(
                sql.SQL(
                    "SELECT row_no, email, {}, error_column, error "
                    "FROM {} WHERE error IS NOT NULL ORDER BY row_no"
                ).format(sql.SQL(", ").join(map(sql.Identifier, FIELDS)), _stage_table(job))
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
def import_job_confirm(*, job: ImportJob, user=None) -> ImportJob:
    """Accept the dry run: the job is ready to be applied (inline or by a task)."""
    _require(job, {Status.VALIDATED}, gettext_lazy("confirmed"))
    ensure_writable(current_tenant())
    if not _stage_exists(job):
        raise ValidationError(DRY_RUN_EXPIRED)
    _move(job, Status.IMPORTING, phase=str(PHASE_IMPORTING), processed_rows=0, attempts=0)
    counts = job.counts
    with workspace_language():
        detail = gettext("%(name)s: %(new)s new, %(update)s updated, %(rejected)s rejected") % {
            "name": job.original_name,
            "new": number_format(counts.get("new", 0), force_grouping=True),
            "update": number_format(counts.get("update", 0), force_grouping=True),
            "rejected": number_format(_rejected(counts), force_grouping=True),
        }
        detail += _consent_note(job, list(job.target_groups.all()))
    audit_record(user=user, verb=AuditVerb.IMPORTED, obj=job, detail=detail)
    return job


def _consent_note(job: ImportJob, groups) -> str:
    """What the audit entry adds for lists: their names and the importer's consent choice."""
    if not job.list_consent or not groups:
        return ""
    names = ", ".join(sorted(group.name for group in groups))
    return f" · {names}: “{ListConsent(job.list_consent).label}”"


def import_job_start(*, job: ImportJob) -> ImportJob:
    """Apply a confirmed job: here when small, else in the task cluster."""
    _require(job, {Status.IMPORTING}, gettext_lazy("applied"))
    if import_runs_in_background(job):
        return _queue(job, status=Status.IMPORTING)
    return _process(job)


def import_job_apply(*, job: ImportJob) -> ImportJob:
    """Apply a confirmed job now, range by range; safe to call again after a crash."""
    _require(job, {Status.IMPORTING}, gettext_lazy("applied"))
    return _process(job)


def _apply(job: ImportJob) -> None:
    if not _stage_intact(job):
        raise ValidationError(STAGE_LOST.format(row=number(job.applied_through_row)))
    _beat(job, phase=str(PHASE_IMPORTING))
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("SELECT coalesce(max(row_no), 0) FROM {}").format(_stage_table(job)))
        last_row = cursor.fetchone()[0]
    source = f"import: {job.original_name}"[:120]
    groups = list(job.target_groups.values_list("pk", flat=True))
    total = job.total_rows or 1
    with connection.cursor() as cursor:
        # A dry run staged before consent columns existed (an import running across an
        # upgrade) gets them empty.
        cursor.execute(
            sql.SQL(
                "ALTER TABLE {} ADD COLUMN IF NOT EXISTS consent_at timestamptz, "
                "ADD COLUMN IF NOT EXISTS consent_ip inet, "
                "ADD COLUMN IF NOT EXISTS confirmed_at timestamptz, "
                "ADD COLUMN IF NOT EXISTS confirm_ip inet"
            ).format(_stage_table(job))
        )
    while job.applied_through_row < last_row:
        low = job.applied_through_row
        high = min(last_row, low + APPLY_CHUNK_ROWS)
        with transaction.atomic():
            # Recount under the workspace's contacts lock: another import or form adding
            # contacts meanwhile leaves these rows less room than the dry run saw.
            limit_serialise(Limit.CONTACTS)
            with connection.cursor() as cursor:
                _sorts_in_memory(cursor)
            _mark_erased(job, through=high)  # erased since the dry run
            _mark_over_limit(job, through=high)
            _apply_range(job, low, high, source=source, groups=groups)
            # The checkpoint commits with the range; a cancel committed meanwhile rolls
            # the range back (the update finds the job no longer importing).
            _beat(
                job,
                applied_through_row=high,
                processed_rows=min(total, high),
                attempts=1,
            )
    counts = {**_counts(job), "notices": job.counts.get("notices", [])}
    _move(
        job,
        Status.DONE,
        counts=counts,
        processed_rows=job.total_rows,
        finished_at=timezone.now(),
        error_message="",
    )
    _drop_stage(job)
    with connection.cursor() as cursor:
        # Keep the planner's row estimate (used by the changelist's count) current.
        cursor.execute(sql.SQL("ANALYZE {}").format(CONTACTS))
    title = gettext("Import finished: %(new)s new, %(updated)s updated, %(rejected)s rejected")
    _notify(
        job,
        title
        % {
            "new": number(counts.get("new", 0)),
            "updated": number(counts.get("update", 0)),
            "rejected": number(_rejected(counts)),
        },
        "success",
    )


def _rejected(counts: dict) -> int:
    return sum(counts.get(k, 0) for k in ("invalid", "duplicate", "over_limit"))


def _apply_range(job: ImportJob, low: int, high: int, *, source: str, groups: list[int]) -> None:
    # Double opt-in: new members wait unconfirmed and are asked to confirm once this range
    # commits. Otherwise the importer vouched for their consent (and without lists, the
    # import did so before lists had consent): new subscribed contacts consented now.
    double = bool(groups) and job.list_consent == ListConsent.DOUBLE_OPT_IN
    names = {
        "table": _stage_table(job),
        "contacts": CONTACTS,
        "through": MEMBERSHIPS,
        "in_range": sql.SQL("s.row_no > %(low)s AND s.row_no <= %(high)s"),
        "status_up": _STATUS_UP,
        "changed": _CHANGED,
        "attrs_different": _ATTRS_DIFFERENT,
        "drawn": sql.Identifier("pg_temp", f"{job.stage_table}_drawn"),
    }
    params: dict[str, int | str | bool | datetime.datetime | list[int]] = {
        "low": low,
        "high": high,
        "now": timezone.now(),
        "source": source,
        "groups": groups,
        "update": job.update_existing,
        "vouched": not double,
        "member_status": "unconfirmed" if double else "subscribed",
        "consent_text": job.list_consent_text,
    }
    with connection.cursor() as cursor:
        # Looked up once: as an argument of nextval() the lookup ran for every row (3.7 s
        # of a 1M-row import, against 0.1 s for drawing the ids themselves).
        cursor.execute("SELECT pg_get_serial_sequence(%s, 'id')", [Contact._meta.db_table])
        params["sequence"] = cursor.fetchone()[0]
        # The range's new rows draw their contacts' ids first, in file order, into a table
        # of this transaction; the contacts and their memberships are inserted with them,
        # so the staging table is not written again to note them.
        # (Dropped first: inside an outer transaction, an earlier range's is still there.)
        cursor.execute(sql.SQL("DROP TABLE IF EXISTS {drawn}").format(**names))
        cursor.execute(
            sql.SQL("""
            CREATE TEMPORARY TABLE {drawn} ON COMMIT DROP AS
            SELECT k.row_no, nextval(%(sequence)s::regclass) AS id
            FROM (SELECT s.row_no FROM {table} s WHERE s.action = 'new' AND {in_range}
                ORDER BY s.row_no) k
            """).format(**names),
            params,
        )
        cursor.execute(sql.SQL("ALTER TABLE {drawn} ADD PRIMARY KEY (row_no)").format(**names))
        # The dry run found none of these addresses, so they are inserted as they are; only
        # when someone has added one since (a form, the API) is the range inserted again
        # skipping those: the arbiter's check on every row made 1M inserts take 22.7 s, not 19.
        insert_new = sql.SQL("""
            INSERT INTO {contacts} (id, email, first_name, last_name, phone, language,
                timezone, attributes, status, status_changed_at, status_source, consent_at,
                consent_source, created_at, updated_at)
            SELECT d.id, s.email, coalesce(s.first_name, ''),
                coalesce(s.last_name, ''), coalesce(s.phone, ''),
                coalesce(s.language, ''), coalesce(s.timezone, ''),
                coalesce(s.attributes, '{{}}'::jsonb), coalesce(s.status, 'subscribed'),
                coalesce(s.status_at, %(now)s), coalesce(s.status_source, %(source)s),
                CASE WHEN coalesce(s.status, 'subscribed') = 'subscribed'
                    THEN coalesce(s.consent_at, CASE WHEN %(vouched)s THEN %(now)s END) END,
                CASE WHEN coalesce(s.status, 'subscribed') = 'subscribed'
                    AND (s.consent_at IS NOT NULL OR %(vouched)s)
                    THEN %(source)s ELSE '' END,
                %(now)s, %(now)s
            FROM {table} s JOIN {drawn} d ON d.row_no = s.row_no
            WHERE s.action = 'new' AND {in_range}
            ORDER BY s.row_no
            {conflict}
            """)
        try:
            with transaction.atomic():
                cursor.execute(insert_new.format(**names, conflict=sql.SQL("")), params)
        except IntegrityError:
            cursor.execute(
                insert_new.format(
                    **names, conflict=sql.SQL("ON CONFLICT (lower(email)) DO NOTHING")
                ),
                params,
            )
            # Those rows are now about an existing contact: classified as the dry run would
            # have (an opt-out in the file still applies), and joined to the lists as it.
            cursor.execute(
                sql.SQL("""
                UPDATE {table} s SET contact_id = c.id,
                    action = CASE
                        WHEN NOT %(update)s THEN
                            CASE WHEN {status_up} THEN 'update' ELSE 'skipped' END
                        WHEN {changed} THEN 'update'
                        ELSE 'unchanged'
                    END
                FROM {drawn} d, {contacts} c
                WHERE s.action = 'new' AND {in_range} AND d.row_no = s.row_no
                    AND lower(c.email) = s.email_key AND c.id <> d.id
                """).format(**names),
                params,
            )
            # Every row left new has its contact now (one whose address was taken and freed
            # again meanwhile is left out).
            cursor.execute(
                sql.SQL("""
                DELETE FROM {drawn} d
                WHERE NOT EXISTS (SELECT 1 FROM {contacts} c WHERE c.id = d.id)
                """).format(**names)
            )
        # With "update existing" off, only a more severe status (an opt-out) is applied.
        cursor.execute(
            sql.SQL("""
            UPDATE {contacts} c SET
                first_name = CASE WHEN %(update)s THEN coalesce(s.first_name, c.first_name)
                    ELSE c.first_name END,
                last_name = CASE WHEN %(update)s THEN coalesce(s.last_name, c.last_name)
                    ELSE c.last_name END,
                phone = CASE WHEN %(update)s THEN coalesce(s.phone, c.phone) ELSE c.phone END,
                language = CASE WHEN %(update)s THEN coalesce(s.language, c.language)
                    ELSE c.language END,
                timezone = CASE WHEN %(update)s THEN coalesce(s.timezone, c.timezone)
                    ELSE c.timezone END,
                attributes = CASE
                    WHEN NOT %(update)s OR s.attributes IS NULL
                        OR c.attributes @> s.attributes THEN c.attributes
                    ELSE c.attributes || coalesce(
                        (SELECT jsonb_object_agg(st.k, st.v) {attrs_different}), '{{}}'::jsonb)
                    END,
                status = CASE WHEN {status_up} THEN s.status ELSE c.status END,
                status_changed_at = CASE WHEN {status_up} THEN coalesce(s.status_at, %(now)s)
                    ELSE c.status_changed_at END,
                status_source = CASE WHEN {status_up} THEN coalesce(s.status_source, %(source)s)
                    ELSE c.status_source END,
                updated_at = %(now)s
            FROM {table} s
            WHERE s.action = 'update' AND s.contact_id = c.id AND {in_range}
            """).format(**names),
            params,
        )
        if groups:
            # Existing members keep their status (one who left stays unsubscribed). Double
            # opt-in asks only contacts who may get email at all, by contact (a batch then
            # holds each one's lists together); a file's confirmation is not theirs here.
            # Contacts this range created can have no membership yet (no other transaction
            # sees them): theirs are inserted without the conflict check (2M memberships:
            # 23 s instead of 31); the others' skip the lists they are already on.
            asked: list[int] = []
            for join, which, conflict in [
                ("{drawn} d ON d.row_no = s.row_no", "s.action = 'new'", ""),
                (
                    # a contact deleted since the dry run is left out
                    "{contacts} d ON d.id = s.contact_id",
                    "s.action IN ('update', 'unchanged', 'skipped')",
                    "ON CONFLICT DO NOTHING",
                ),
            ]:
                cursor.execute(
                    sql.SQL("""
                    INSERT INTO {through} (contact_id, group_id, status, status_changed_at,
                        source, consent_at, consent_text, consent_ip, confirmed_at,
                        confirm_ip)
                    SELECT d.id, g.id, %(member_status)s, %(now)s, 'import',
                        coalesce(s.consent_at, %(now)s), %(consent_text)s, s.consent_ip,
                        CASE WHEN %(vouched)s THEN s.confirmed_at END,
                        CASE WHEN %(vouched)s THEN s.confirm_ip END
                    FROM {table} s
                    JOIN {join}
                    CROSS JOIN unnest(%(groups)s::bigint[]) AS g(id)
                    WHERE {which} AND {in_range} {double}
                    {double_order}
                    {conflict}
                    {returning}
                    """).format(
                        **names,
                        join=sql.SQL(join).format(**names),
                        which=sql.SQL(which),
                        conflict=sql.SQL(conflict),
                        double=sql.SQL(
                            "AND EXISTS (SELECT 1 FROM {} c WHERE c.id = d.id "
                            "AND c.status = 'subscribed')"
                        ).format(CONTACTS)
                        if double
                        else sql.SQL(""),
                        double_order=sql.SQL("ORDER BY s.row_no, g.id" if double else ""),
                        returning=sql.SQL("RETURNING id" if double else ""),
                    ),
                    params,
                )
                if double:
                    asked += [row[0] for row in cursor.fetchall()]
            if double:
                confirmation_request_ids(ids=asked)


# --- Retry, cancel, the sweeper --------------------------------------------------------------
def import_job_retry(*, job: ImportJob, user=None) -> ImportJob:
    """Run a failed or interrupted job again.

    An import that failed while applying continues from its checkpoint; one that failed
    earlier is read and checked again. A job in progress with no live run (its worker died)
    is resumed now instead of at the sweeper's next pass.
    """
    if job.status in ImportJob.RUNNING:
        if not _lock_free(job.pk):
            raise ValidationError(ALREADY_RUNNING)
        status = job.status
    elif job.status == Status.FAILED:
        if job.failed_status == Status.IMPORTING and _stage_intact(job):
            status = Status.IMPORTING
        elif job.headers:
            status = Status.VALIDATING
        else:
            status = Status.READING
    else:
        raise ValidationError(
            NOT_READY.format(status=job.get_status_display(), verb=gettext("retried"))
        )
    ImportJob.objects.filter(pk=job.pk).update(
        status=status,
        attempts=0,
        error_message="",
        failed_status="",
        finished_at=None,
        updated_at=timezone.now(),
    )
    job.refresh_from_db()
    audit_record(user=user, verb=AuditVerb.RESUMED, obj=job, detail=job.original_name)
    if job.background or job.unattended or import_runs_in_background(job):
        return _queue(job, status=status)
    return _process(job)


def import_job_cancel(*, job: ImportJob, user=None) -> ImportJob:
    """Stop a job wherever it is; rows already imported stay imported."""
    cancellable = {
        Status.READING, Status.MAPPING, Status.VALIDATING, Status.VALIDATED,
        Status.IMPORTING, Status.FAILED,
    }  # fmt: skip
    _require(job, cancellable, gettext_lazy("cancelled"))
    updated = ImportJob.objects.filter(pk=job.pk, status=job.status).update(
        status=Status.CANCELLED, phase="", finished_at=timezone.now(), updated_at=timezone.now()
    )
    if not updated:  # it moved on meanwhile
        job.refresh_from_db()
        return import_job_cancel(job=job, user=user)
    job.refresh_from_db()
    key = _lock_key(job.pk)
    if _try_lock(key):  # otherwise the live run drops its data when it sees the cancel
        try:
            _drop_stage(job)
        finally:
            _unlock(key)
    audit_record(user=user, verb=AuditVerb.CANCELLED, obj=job, detail=job.original_name)
    return job


def import_job_stalled(*, job: ImportJob) -> bool:
    """In progress, silent for longer than IMPORT_STALE_SECONDS, and no live run holds it."""
    if job.status not in ImportJob.RUNNING:
        return False
    beat = job.heartbeat_at or job.updated_at
    stale = timezone.now() - datetime.timedelta(seconds=settings.IMPORT_STALE_SECONDS)
    return beat < stale and _lock_free(job.pk)


def import_jobs_sweep() -> int:
    """Re-queue this workspace's imports in progress that no live run holds (minute schedule).

    A job whose heartbeat is older than IMPORT_STALE_SECONDS and whose advisory lock nobody
    holds lost its worker: it is queued again (its heartbeat restarts, so a job waiting in a
    busy queue is not queued twice a minute). A lock held far longer than any task may run
    (the worker's connection half-open after a network failure) is released by ending that
    database session. Return how many jobs were queued.
    """
    from engagex.contacts.tasks import contacts_import_run
    from engagex.core.tasks import enqueue_tenant_task

    now = timezone.now()
    stale = now - datetime.timedelta(seconds=settings.IMPORT_STALE_SECONDS)
    hung = stale - datetime.timedelta(seconds=settings.Q_CLUSTER["timeout"])
    queued = 0
    candidates = ImportJob.objects.filter(status__in=ImportJob.RUNNING).filter(
        Q(heartbeat_at__lt=stale) | Q(heartbeat_at__isnull=True, updated_at__lt=stale)
    )
    for job in candidates:
        if not _lock_free(job.pk):
            if job.heartbeat_at and job.heartbeat_at < hung:
                _end_lock_holder(job)
            continue
        if job.attempts >= MAX_ATTEMPTS:
            key = _lock_key(job.pk)
            if _try_lock(key):
                try:
                    job.refresh_from_db()
                    if job.status in ImportJob.RUNNING:
                        _fail(job, STOPPED_REPEATEDLY.format(attempts=job.attempts))
                finally:
                    _unlock(key)
            continue
        updated = ImportJob.objects.filter(pk=job.pk, status=job.status).update(
            heartbeat_at=now, background=True, updated_at=now
        )
        if updated:
            logger.warning("Import %s had no live run; queued again", job.pk)
            enqueue_tenant_task(contacts_import_run, current_schema(), job.pk)
            queued += 1
    return queued


def _end_lock_holder(job: ImportJob) -> None:
    key = _lock_key(job.pk)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_locks WHERE locktype = 'advisory' "
            "AND granted AND classid = %s AND objid = %s AND objsubid = 1 "
            "AND pid <> pg_backend_pid()",
            [key >> 32, key & 0xFFFF_FFFF],
        )
    logger.warning("Import %s: ended the database session holding it since long ago", job.pk)


def _fail(job: ImportJob, message) -> None:
    """End the job `failed` with `message`, and tell whoever uploaded it."""
    failed_status = job.status if job.status in ImportJob.RUNNING else job.failed_status
    job.status = Status.FAILED
    job.failed_status = failed_status
    job.error_message = str(message)[:2000]
    job.phase = ""
    job.finished_at = timezone.now()
    ImportJob.objects.filter(pk=job.pk).update(
        status=job.status,
        failed_status=failed_status,
        error_message=job.error_message,
        phase="",
        finished_at=job.finished_at,
        updated_at=timezone.now(),
    )
    if failed_status != Status.IMPORTING:
        _drop_stage(job)  # an apply that failed keeps its data, to continue on retry
    _notify(job, gettext("Import failed: %(name)s") % {"name": job.original_name}, "error")


def _notify(job: ImportJob, title: str, level: str, *, email: bool | None = None) -> None:
    """Tell the uploader; by email too when the work ran while they may have left."""
    if job.created_by is None:
        return
    from django.urls import NoReverseMatch, reverse

    from engagex.notifications.services import notification_send

    try:
        link = reverse("admin:contacts_importjob_change", args=[job.pk])
    except NoReverseMatch:  # no console URLs in this process
        link = ""
    body = job.error_message or gettext("Open the import to see its counts and any rejected rows.")
    notification_send(
        recipients=[job.created_by],
        title=title,
        body=body,
        link=link,
        level=level,
        email=(job.background or job.unattended) if email is None else email,
    )


def _drop_stage(job: ImportJob) -> None:
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("DROP TABLE IF EXISTS {}").format(_stage_table(job)))


def _stage_exists(job: ImportJob) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [job.stage_table])
        return cursor.fetchone()[0] is not None


def _stage_intact(job: ImportJob) -> bool:
    """The staging table is there and holds its rows (crash recovery empties UNLOGGED ones)."""
    if not _stage_exists(job):
        return False
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("SELECT EXISTS (SELECT 1 FROM {})").format(_stage_table(job)))
        return cursor.fetchone()[0]


def _require(job: ImportJob, allowed: set, verb) -> None:
    if job.status not in allowed:
        raise ValidationError(NOT_READY.format(status=job.get_status_display(), verb=verb))


def import_job_remap(*, job: ImportJob) -> ImportJob:
    """Go back from the dry-run preview to the column mapping."""
    _require(job, {Status.VALIDATED}, gettext_lazy("re-mapped"))
    _drop_stage(job)
    job.status = Status.MAPPING
    job.counts = {"notices": job.counts.get("notices", [])}
    job.error_report = ""
    job.save()
    return job


def import_jobs_cleanup() -> int:
    """Cancel this workspace's imports left unconfirmed for two days, and drop the working
    data of failed ones as old; return how many were cancelled."""
    cutoff = timezone.now() - datetime.timedelta(days=2)
    cancelled = 0
    stale = ImportJob.objects.filter(
        status__in=[Status.MAPPING, Status.VALIDATED], updated_at__lt=cutoff
    )
    for job in stale:
        import_job_cancel(job=job)
        cancelled += 1
    for job in ImportJob.objects.filter(status=Status.FAILED, updated_at__lt=cutoff):
        _drop_stage(job)
    return cancelled
