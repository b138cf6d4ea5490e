"""Streamed exports of contacts to CSV or XLSX that an import reads back unchanged.

Columns: the fixed ones below, then one per custom attribute present in the exported set
(sorted by name), headed with the attribute's name. Times are in the workspace's time zone,
to the second. In CSV, a text cell a spreadsheet would evaluate gets a leading `'` (OWASP
ASVS 5.0 1.2.10), except phone-like cells; in XLSX, text cells are text (never formulas) and
numbers, booleans and times are native.
"""

import csv
import json
import re
import tempfile
import zoneinfo
from datetime import datetime

from django.conf import settings
from django.contrib.postgres.expressions import ArraySubquery
from django.core.exceptions import ObjectDoesNotExist
from django.db import connection
from django.db.models import CharField, DateTimeField, F, Func, OuterRef, QuerySet, Value
from django.utils.formats import number_format
from django.utils.translation import ngettext

from engagex.contacts.models import Contact, ContactGroup, Membership, MembershipStatus
from engagex.core.audit import AuditVerb, audit_record
from engagex.core.tenancy import current_tenant, workspace_language

# The header the importer relies on; not translated, so a file reads back in any language.
FIXED_COLUMNS = [
    ("email", "Email"),
    ("first_name", "First name"),
    ("last_name", "Last name"),
    ("phone", "Phone"),
    ("language", "Language"),
    ("timezone", "Time zone"),
    ("status", "Status"),
    ("status_changed_at", "Status changed"),
    ("consent_at", "Consent given"),
    ("consent_source", "Consent source"),
    ("created_at", "Created"),
    ("group_names", "Groups"),
]
FIXED_HEADERS = [label for _, label in FIXED_COLUMNS]
# An attribute whose name is a fixed header (ignoring case) is headed "<name> (attribute)".
ATTRIBUTE_SUFFIX = " (attribute)"
GROUP_SEPARATOR = "; "
SQL_DATETIME_FORMAT = "YYYY-MM-DD HH24:MI:SS"  # YYYY-MM-DD HH:MM:SS
XLSX_DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
BATCH = 5000

# Cells starting with these are run by spreadsheets (OWASP ASVS 5.0 1.2.10)...
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\0")
_FORMULA_STARTS = frozenset(FORMULA_PREFIXES)
# ...unless they hold only what a phone number or a plain number does: `+34 600 000 001`.
_PHONE_LIKE = re.compile(r"[0-9 +\-().]*")
# Characters XML 1.0 cannot hold (openpyxl refuses them); they are dropped from XLSX cells.
_XML_ILLEGAL = re.compile(r"[\000-\010\013\014\016-\037]")
# openpyxl reads "=…" as a formula and "#N/A"-like text as an error value.
_XLSX_INFERRED = frozenset("=#")


def cell_neutralise(value):
    """Prefix text that a spreadsheet would evaluate with a single quote (CSV cells)."""
    if value is None:
        return ""
    if (
        isinstance(value, str)
        and value.startswith(FORMULA_PREFIXES)
        and not _PHONE_LIKE.fullmatch(value)
    ):
        return "'" + value
    return value


def group_names_join(names) -> str:
    """One cell of group names: `; ` between them, `\\;` for a `;` inside a name."""
    escaped = (name.replace("\\", "\\\\").replace(";", "\\;") for name in names)
    return GROUP_SEPARATOR.join(escaped)


def export_headers(attribute_keys: list[str]) -> list[str]:
    """The header row: the fixed columns, then one column per attribute."""
    fixed = {header.casefold() for header in FIXED_HEADERS}
    used = set(attribute_keys)
    headers = list(FIXED_HEADERS)
    for key in attribute_keys:
        header = key
        if header.casefold() in fixed:
            header += ATTRIBUTE_SUFFIX
            while header in used or header.casefold() in fixed:
                header += ATTRIBUTE_SUFFIX
            used.add(header)
        headers.append(header)
    return headers


def _name_order(name: str) -> tuple[str, str]:
    return name.casefold(), name


def export_attribute_keys(queryset: QuerySet[Contact]) -> list[str]:
    """The custom attribute names used by the contacts of `queryset`, in column order."""
    sql, params = queryset.order_by().values("attributes").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT DISTINCT k FROM (SELECT CASE WHEN jsonb_typeof(q.attributes) = 'object' "  # noqa: S608
            f"THEN q.attributes ELSE '{{}}'::jsonb END AS a FROM ({sql}) q) s, "
            "jsonb_object_keys(s.a) AS k",
            params,
        )
        keys = [row[0] for row in cursor.fetchall()]
    return sorted(keys, key=_name_order)


def export_time_zone() -> str:
    """The workspace's time zone (settings.TIME_ZONE outside a workspace or if it is unknown)."""
    try:
        name = current_tenant().timezone
    except ObjectDoesNotExist:
        name = settings.TIME_ZONE
    try:
        zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError, TypeError):
        return settings.TIME_ZONE
    return name


class LocalTime(Func):
    """A timestamp as wall-clock time in `zone`, to the second (as text when `text`)."""

    arg_joiner = " AT TIME ZONE "

    def __init__(self, field: str, zone: str, *, text: bool):
        output: CharField | DateTimeField
        if text:
            self.template = f"to_char((%(expressions)s), '{SQL_DATETIME_FORMAT}')"
            output = CharField()
        else:
            self.template = "date_trunc('second', (%(expressions)s))"
            output = DateTimeField()
        super().__init__(F(field), Value(zone), output_field=output)


def _rows(queryset: QuerySet[Contact], keys: list[str], zone: str, *, text_times: bool):
    """Yield each contact as a list of values: str, int, float, bool, None, and the times
    as naive wall-clock datetimes (or as text when `text_times`)."""
    # Group ids per contact (an index-only lookup), names from one read of the groups.
    groups = ArraySubquery(
        Membership.objects.filter(contact_id=OuterRef("pk"))
        .exclude(status=MembershipStatus.UNSUBSCRIBED)
        .values("group_id")
    )
    group_names = dict(ContactGroup.objects.values_list("pk", "name"))
    # Times are converted by PostgreSQL: far cheaper than a tz-aware datetime per cell.
    times = {
        name: LocalTime(name, zone, text=text_times)
        for name in ("status_changed_at", "consent_at", "created_at")
    }
    names = [f"{name}_local" if name in times else name for name, _ in FIXED_COLUMNS]
    rows = (
        queryset.order_by("pk")
        .annotate(group_names=groups, **{f"{name}_local": value for name, value in times.items()})
        .values_list(*names, "attributes")
        .iterator(chunk_size=BATCH)
    )
    position = {key: index for index, key in enumerate(keys)}
    width = len(keys)
    for *fixed, attributes in rows:
        names = [group_names[pk] for pk in fixed[-1] if pk in group_names]
        if len(names) > 1:
            names.sort(key=_name_order)
        fixed[-1] = group_names_join(names) or None
        values = [None] * width
        if attributes and isinstance(attributes, dict):
            for key, value in attributes.items():
                index = position.get(key)
                if index is not None:
                    if isinstance(value, dict | list):
                        value = json.dumps(value, ensure_ascii=False, separators=(",", ":"))
                    values[index] = value
        fixed.extend(values)
        yield fixed


def _csv_cell(value):
    """Text for a CSV cell; None, numbers and times (already text) pass through csv."""
    kind = type(value)
    if kind is str:
        return cell_neutralise(value) if value[:1] in _FORMULA_STARTS else value
    if kind is bool:
        return "true" if value else "false"
    return value


class EchoWriter:
    """A file-like object for csv.writer that hands each row back instead of storing it."""

    def write(self, value):
        return value


def export_csv_stream(queryset: QuerySet[Contact]):
    """Yield the CSV export line by line (for a StreamingHttpResponse)."""
    keys = export_attribute_keys(queryset)
    zone = export_time_zone()
    writer = csv.writer(EchoWriter())
    yield "\ufeff" + writer.writerow(export_headers(keys))
    for row in _rows(queryset, keys, zone, text_times=True):
        yield writer.writerow([_csv_cell(value) for value in row])


def export_xlsx_file(queryset: QuerySet[Contact]):
    """Write the XLSX export to a temporary file with openpyxl's write-only mode; return it."""
    from openpyxl import Workbook
    from openpyxl.cell import WriteOnlyCell

    keys = export_attribute_keys(queryset)
    zone = export_time_zone()
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Contacts")

    def text_cell(value: str):
        # openpyxl turns "=…" into a formula and "#N/A" into an error: keep them text.
        cell = WriteOnlyCell(sheet, value=value)
        cell.data_type = "s"
        return cell

    def time_cell(value: datetime):
        cell = WriteOnlyCell(sheet)
        cell.number_format = XLSX_DATETIME_FORMAT  # before the value: openpyxl keeps it
        cell.value = value
        return cell

    def cell(value):
        kind = type(value)
        if kind is str:
            if _XML_ILLEGAL.search(value):
                value = _XML_ILLEGAL.sub("", value)
            if value[:1] in _XLSX_INFERRED:
                return text_cell(value)
            return value or None
        if kind is datetime:
            return time_cell(value)
        return value

    sheet.append([text_cell(header) for header in export_headers(keys)])
    for row in _rows(queryset, keys, zone, text_times=False):
        sheet.append([cell(value) for value in row])
    handle = tempfile.NamedTemporaryFile(suffix=".xlsx")  # noqa: SIM115 - returned open
    workbook.save(handle)
    handle.seek(0)
    return handle


def export_record(*, user, queryset: QuerySet[Contact], file_format: str, filters: str = ""):
    """Write the audit entry of an export by `user` (how many contacts, which format/filter)."""
    count = queryset.order_by().count()
    with workspace_language():
        detail = ngettext(
            "%(count)s contact as %(format)s", "%(count)s contacts as %(format)s", count
        ) % {"count": number_format(count, force_grouping=True), "format": file_format}
        if filters:
            detail += f" ({filters})"
    return audit_record(user=user, verb=AuditVerb.EXPORTED, model=Contact, detail=detail[:1000])
