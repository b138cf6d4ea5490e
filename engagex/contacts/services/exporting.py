"""Streamed exports of contacts to CSV or XLSX, safe against spreadsheet formula injection."""

import csv
import tempfile

from django.db.models import QuerySet

from engagex.contacts.models import Contact

# OWASP ASVS 5.0 1.2.10: cells starting with these are prefixed with a quote.
FORMULA_PREFIXES = ("=", "+", "-", "@", "\t", "\r", "\0")
EXPORT_FIELDS = [
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
    ("attributes", "Custom attributes"),
]
BATCH = 5000


def cell_neutralise(value):
    """Prefix text that a spreadsheet would run as a formula with a single quote."""
    if isinstance(value, str) and value.startswith(FORMULA_PREFIXES):
        return "'" + value
    return "" if value is None else value


def _rows(queryset: QuerySet[Contact]):
    names = [name for name, _ in EXPORT_FIELDS]
    for values in queryset.order_by("pk").values_list(*names).iterator(chunk_size=BATCH):
        row = []
        for name, value in zip(names, values, strict=True):
            if name == "attributes":
                value = "; ".join(f"{k}={v}" for k, v in (value or {}).items())
            elif hasattr(value, "isoformat"):
                value = value.isoformat()
            row.append(cell_neutralise(value))
        yield row


class EchoWriter:
    """A file-like object for csv.writer that hands each row back instead of storing it."""

    def write(self, value):
        return value


def export_csv_stream(queryset: QuerySet[Contact]):
    """Yield the CSV export line by line (for a StreamingHttpResponse)."""
    writer = csv.writer(EchoWriter())
    yield "\ufeff" + writer.writerow([label for _, label in EXPORT_FIELDS])
    for row in _rows(queryset):
        yield writer.writerow(row)


def export_xlsx_file(queryset: QuerySet[Contact]):
    """Write the XLSX export to a temporary file with openpyxl's write-only mode; return it."""
    from openpyxl import Workbook

    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("Contacts")
    sheet.append([label for _, label in EXPORT_FIELDS])
    for row in _rows(queryset):
        sheet.append(row)
    handle = tempfile.NamedTemporaryFile(suffix=".xlsx")  # noqa: SIM115 - returned open
    workbook.save(handle)
    handle.seek(0)
    return handle
