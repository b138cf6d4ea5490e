"""Read uploaded spreadsheets: detect format, encoding and delimiter; stream their rows.

CSV is streamed row by row (a million rows never sit in memory). XLSX uses openpyxl's
read-only mode and JSON (a list of objects) goes through django-import-export's JSON format.
"""

import codecs
import csv
import io
import json
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import PurePath

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy

FORMATS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "xlsx", ".json": "json"}
SAMPLE_BYTES = 256 * 1024
SAMPLE_ROWS = 5

EMPTY_FILE = gettext_lazy("The file is empty.")
HEADER_ONLY = gettext_lazy("The file has a header row but no contact rows.")
NO_HEADER = gettext_lazy("The first row (the header) is empty: it must name the columns.")
UNSUPPORTED = gettext_lazy(
    "“{name}” is not a supported file type: upload a .csv, .xlsx or .json file."
)
TOO_LARGE = gettext_lazy("The file is {size}; the largest file you can import is {limit}.")
NOT_TEXT = gettext_lazy(
    "“{name}” is not a CSV text file ({what}). Save it as CSV (UTF-8) or upload it as {hint}."
)
NOT_XLSX = gettext_lazy("“{name}” is not a valid Excel .xlsx workbook ({reason}).")
BAD_JSON = gettext_lazy("“{name}” is not valid JSON: {reason}.")
JSON_SHAPE = gettext_lazy(
    'A JSON import must be a list of objects, one per contact, e.g. [{"email": …}].'
)
INVALID_UTF8 = gettext_lazy(
    "The file is not valid UTF-8 (line {line}: byte 0x{byte:02x} cannot start or continue a "
    "character). Re-save it as “CSV UTF-8”, or choose Latin-1 as the encoding."
)
TOO_MANY_COLUMNS = gettext_lazy(
    "The header has {count:,} columns; at most {limit:,} can be imported."
)
CELL_TOO_LONG = gettext_lazy("Row {row}: a cell is longer than {limit:,} characters.")

ENCODINGS = {"auto": "Detect automatically", "utf-8": "UTF-8", "latin-1": "Latin-1 (ISO-8859-1)"}


@dataclass
class FileInfo:
    file_format: str
    encoding: str = ""
    delimiter: str = ""
    headers: list[str] = field(default_factory=list)
    sample_rows: list[list[str]] = field(default_factory=list)
    estimated_rows: int = 0
    notices: list[str] = field(default_factory=list)


def file_format_for(name: str) -> str:
    fmt = FORMATS.get(PurePath(name).suffix.lower())
    if fmt is None:
        raise ValidationError(UNSUPPORTED.format(name=name))
    return fmt


def inspect_file(fileobj, *, name: str, size: int, encoding: str = "auto") -> FileInfo:
    """Check an upload and describe it; raise ValidationError with a clear message if bad."""
    limit = settings.IMPORT_MAX_UPLOAD_BYTES
    if size > limit:
        raise ValidationError(
            TOO_LARGE.format(size=filesizeformat(size), limit=filesizeformat(limit))
        )
    fmt = file_format_for(name)
    fileobj.seek(0)
    head = fileobj.read(SAMPLE_BYTES)
    fileobj.seek(0)
    if not head.strip():
        raise ValidationError(EMPTY_FILE)
    if fmt == "csv":
        info = _inspect_csv(head, name=name, size=size, encoding=encoding)
    elif fmt == "xlsx":
        info = _inspect_xlsx(fileobj, name=name)
    else:
        info = _inspect_json(fileobj, name=name)
    if not any(h.strip() for h in info.headers):
        raise ValidationError(NO_HEADER)
    if len(info.headers) > settings.IMPORT_MAX_COLUMNS:
        raise ValidationError(
            TOO_MANY_COLUMNS.format(count=len(info.headers), limit=settings.IMPORT_MAX_COLUMNS)
        )
    if not info.sample_rows:
        raise ValidationError(HEADER_ONLY)
    return info


def _inspect_csv(head: bytes, *, name: str, size: int, encoding: str) -> FileInfo:
    if head.startswith(b"PK\x03\x04"):
        raise ValidationError(
            NOT_TEXT.format(name=name, what="it is a ZIP/Excel file", hint=".xlsx")
        )
    if b"\x00" in head:
        raise ValidationError(
            NOT_TEXT.format(name=name, what="it contains binary data", hint=".csv, .xlsx or .json")
        )
    info = FileInfo(file_format="csv", encoding=_detect_encoding(head, encoding))
    if info.encoding == "latin-1" and encoding == "auto":
        info.notices.append(
            "This file is not valid UTF-8, so it was read as Latin-1 (Western European). "
            "If names look wrong in the sample below, re-save the file as CSV UTF-8."
        )
    text = codecs.getincrementaldecoder(info.encoding)(errors="replace").decode(head, final=False)
    complete = size <= len(head)
    lines = text.splitlines(keepends=True)
    if not complete and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut off mid-way
    info.delimiter = _sniff_delimiter("".join(lines[:20]))
    rows = list(_csv_reader(io.StringIO("".join(lines)), info.delimiter))
    rows = [row for row in rows if any(cell.strip() for cell in row)]
    if not rows:
        raise ValidationError(EMPTY_FILE)
    info.headers = [cell.strip() for cell in rows[0]]
    info.sample_rows = rows[1 : SAMPLE_ROWS + 1]
    data_rows = len(rows) - 1
    if complete:
        info.estimated_rows = data_rows
    else:
        sampled = len("".join(lines).encode(info.encoding, errors="replace"))
        info.estimated_rows = max(data_rows, round(data_rows * size / max(sampled, 1)))
    return info


def _detect_encoding(head: bytes, requested: str) -> str:
    if requested == "latin-1":
        return "latin-1"
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError as error:
        if requested == "auto" and _looks_like_latin1(head):
            return "latin-1"
        line = head[: error.start].count(b"\n") + 1
        raise ValidationError(INVALID_UTF8.format(line=line, byte=head[error.start])) from error


def _first_decode_error(fileobj, encoding: str) -> tuple[int, int]:
    """Find the line and value of the first byte `encoding` cannot decode (only on failure)."""
    decoder = codecs.getincrementaldecoder(encoding)()
    fileobj.seek(0)
    line = 1
    while chunk := fileobj.read(1024 * 1024):
        try:
            decoder.decode(chunk)
        except UnicodeDecodeError as error:
            return line + chunk[: error.start].count(b"\n"), chunk[error.start]
        line += chunk.count(b"\n")
    return line, 0


def _looks_like_latin1(data: bytes) -> bool:
    """Latin-1 text has no C0 control bytes (other than tab/CR/LF) and few C1 ones."""
    controls = sum(1 for b in data if b < 32 and b not in (9, 10, 13)) + data.count(0x7F)
    c1 = sum(1 for b in data if 0x80 <= b <= 0x9F)
    return controls == 0 and c1 <= len(data) // 100


def _sniff_delimiter(text: str) -> str:
    try:
        return csv.Sniffer().sniff(text, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _csv_reader(stream, delimiter: str):
    return csv.reader(stream, delimiter=delimiter)


def _inspect_xlsx(fileobj, *, name: str) -> FileInfo:
    rows = _xlsx_rows(fileobj, name=name)
    try:
        header = next(rows)
    except StopIteration:
        raise ValidationError(EMPTY_FILE) from None
    info = FileInfo(file_format="xlsx", headers=[c.strip() for c in header])
    for row in rows:
        if any(cell.strip() for cell in row):
            info.sample_rows.append(row)
        if len(info.sample_rows) >= SAMPLE_ROWS:
            break
    info.estimated_rows = _xlsx_max_row(fileobj) - 1
    return info


def _xlsx_workbook(fileobj, *, name: str):
    from openpyxl import load_workbook

    fileobj.seek(0)
    try:
        return load_workbook(fileobj, read_only=True, data_only=True)
    except (zipfile.BadZipFile, KeyError, OSError, ValueError) as error:
        reason = (
            "it is not a zip-based workbook"
            if isinstance(error, zipfile.BadZipFile)
            else str(error)
        )
        raise ValidationError(NOT_XLSX.format(name=name, reason=reason)) from error


def _xlsx_max_row(fileobj) -> int:
    workbook = _xlsx_workbook(fileobj, name="")
    try:
        return workbook.worksheets[0].max_row or 0
    finally:
        workbook.close()


def _xlsx_rows(fileobj, *, name: str) -> Iterator[list[str]]:
    workbook = _xlsx_workbook(fileobj, name=name)
    try:
        for values in workbook.worksheets[0].iter_rows(values_only=True):
            yield ["" if v is None else _cell_text(v) for v in values]
    finally:
        workbook.close()


def _cell_text(value) -> str:
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


def _json_dataset(fileobj, *, name: str):
    from import_export.formats.base_formats import JSON

    fileobj.seek(0)
    raw = fileobj.read()
    try:
        text = raw.decode("utf-8-sig")
        data = json.loads(text)
    except UnicodeDecodeError as error:
        raise ValidationError(BAD_JSON.format(name=name, reason="it is not UTF-8 text")) from error
    except json.JSONDecodeError as error:
        reason = f"{error.msg} at line {error.lineno}, column {error.colno}"
        raise ValidationError(BAD_JSON.format(name=name, reason=reason)) from error
    if not isinstance(data, list) or not all(isinstance(item, dict) for item in data):
        raise ValidationError(JSON_SHAPE)
    if not data:
        raise ValidationError(HEADER_ONLY)
    # import-export's JSON format turns the objects into a tablib Dataset (headers = keys).
    headers = list(dict.fromkeys(key for item in data for key in item))
    normalised = [{key: item.get(key) for key in headers} for item in data]
    return JSON().create_dataset(json.dumps(normalised))


def _inspect_json(fileobj, *, name: str) -> FileInfo:
    dataset = _json_dataset(fileobj, name=name)
    rows = [[_json_cell(v) for v in row] for row in dataset]
    return FileInfo(
        file_format="json",
        headers=[str(h) for h in dataset.headers],
        sample_rows=rows[:SAMPLE_ROWS],
        estimated_rows=len(rows),
    )


def _json_cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, dict | list):
        return json.dumps(value)
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def iter_data_rows(fileobj, *, file_format: str, encoding: str, delimiter: str, name: str):
    """Yield (row_number, cells) for every data row; row 1 is the header."""
    if file_format == "csv":
        fileobj.seek(0)
        text = io.TextIOWrapper(fileobj, encoding=encoding, newline="")
        reader = _csv_reader(text, delimiter)
        try:
            next(reader, None)
            for cells in reader:
                yield reader.line_num, cells
        except UnicodeDecodeError as error:
            line, byte = _first_decode_error(fileobj, encoding)
            raise ValidationError(INVALID_UTF8.format(line=line, byte=byte)) from error
        except csv.Error as error:
            raise ValidationError(
                CELL_TOO_LONG.format(row=reader.line_num, limit=csv.field_size_limit())
            ) from error
        finally:
            text.detach()
    elif file_format == "xlsx":
        rows = _xlsx_rows(fileobj, name=name)
        next(rows, None)
        for number, cells in enumerate(rows, start=2):
            yield number, cells
    else:
        dataset = _json_dataset(fileobj, name=name)
        for number, row in enumerate(dataset, start=2):
            yield number, [_json_cell(v) for v in row]
