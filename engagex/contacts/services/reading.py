"""Read uploaded spreadsheets: detect format, encoding and delimiter; stream their rows.

Every reader is bounded by the file itself, never by what the file claims: CSV is streamed
row by row; an .xlsx is refused when its zip directory says it unpacks to too much (or far
more than a spreadsheet compresses), and its sheet is walked cell by cell (openpyxl's own
row reader pads every row to the declared dimension, so a two-cell sheet declaring
A1:XFD1048576 cost minutes); JSON is parsed one object at a time with the column limit
enforced while the keys are collected. XLSX and JSON values keep their types (numbers,
booleans, dates) for custom attributes; NUL characters, which PostgreSQL cannot store, are
dropped everywhere.
"""

import codecs
import csv
import datetime
import io
import json
import math
import re
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import PurePath
from xml.etree.ElementTree import ParseError

from django.conf import settings
from django.core.exceptions import ValidationError
from django.template.defaultfilters import filesizeformat
from django.utils.translation import gettext_lazy

from engagex.core import formats

FORMATS = {".csv": "csv", ".txt": "csv", ".tsv": "csv", ".xlsx": "xlsx", ".json": "json"}
SAMPLE_BYTES = 256 * 1024
SAMPLE_ROWS = 5
# A contact's value nested deeper than this is not contact data (and deep nesting is how a
# small JSON file exhausts a parser's stack).
MAX_JSON_DEPTH = 16
# One JSON object (one contact) larger than this is refused rather than buffered.
MAX_JSON_OBJECT_CHARS = 1024 * 1024
# Spreadsheet XML compresses 5-20×; a workbook unpacking to over 100× its size is a zip bomb.
XLSX_MAX_RATIO = 100
XLSX_RATIO_FROM_BYTES = 16 * 1024 * 1024
# A sheet row is at least this many bytes of XML: caps a row estimate from a lying dimension.
XLSX_MIN_ROW_BYTES = 16
HEADERLESS_COLUMN = "Column {n}"  # data (it can become an attribute name): not translated

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
WHAT_ZIP = gettext_lazy("it is a ZIP/Excel file")
WHAT_BINARY = gettext_lazy("it contains binary data")
NOT_XLSX = gettext_lazy("“{name}” is not a valid Excel .xlsx workbook ({reason}).")
XLSX_NOT_ZIP = gettext_lazy("it is not a zip-based workbook")
XLSX_DAMAGED = gettext_lazy("its content is damaged or is not spreadsheet XML")
XLSX_NO_SHEET = gettext_lazy("it has no worksheet")
XLSX_UNPACKS_TOO_LARGE = gettext_lazy(
    "“{name}” unpacks to {size}; at most {limit} can be imported. Save the sheet as CSV "
    "and upload that."
)
XLSX_BOMB = gettext_lazy(
    "“{name}” unpacks from {packed} to {size}, far more than a spreadsheet does, so it was "
    "not opened. Save the sheet as CSV and upload that."
)
BAD_JSON = gettext_lazy("“{name}” is not valid JSON: {reason}.")
JSON_REASON_AT = gettext_lazy("the text stops making sense at line {line}, column {column}")
JSON_NOT_UTF8 = gettext_lazy("it is not UTF-8 text")
JSON_SHAPE = gettext_lazy(
    'A JSON import must be a list of objects, one per contact, e.g. [{"email": …}].'
)
JSON_ITEM_SHAPE = gettext_lazy(
    'Item {item} of the JSON list is not an object: each contact must be one {{"email": …}}.'
)
JSON_TOO_DEEP = gettext_lazy(
    "Item {item} of the JSON list nests values more than {limit} levels deep; contact data "
    "is at most a few levels deep."
)
JSON_OBJECT_TOO_LARGE = gettext_lazy(
    "Item {item} of the JSON list is larger than {limit}; one contact cannot be that large."
)
INVALID_UTF8 = gettext_lazy(
    "The file is not valid UTF-8 (line {line}: byte 0x{byte:02x} cannot start or continue a "
    "character). Re-save it as “CSV UTF-8”, or choose Windows-1252 / Latin-1 as the encoding."
)
TOO_MANY_COLUMNS = gettext_lazy("The header has {count} columns; at most {limit} can be imported.")
JSON_TOO_MANY_KEYS = gettext_lazy(
    "The JSON objects use more than {limit} different keys (columns), more than can be imported."
)
TOO_MANY_ROWS = gettext_lazy(
    "The file has more than {limit} rows; split it into files of at most {limit} rows."
)
CELL_TOO_LONG = gettext_lazy("Row {row}: a cell is longer than {limit} characters.")
LATIN1_NOTICE = gettext_lazy(
    "This file is not valid UTF-8, so it was read as {encoding} (Western European). "
    "If names look wrong in the sample below, re-save the file as CSV UTF-8."
)
HEADERLESS_NOTICE = gettext_lazy(
    "The first row holds an email address, so the file has no header row: every row is "
    "imported and the columns are numbered. Check the mapping below."
)

ENCODINGS = {
    "auto": gettext_lazy("Detect automatically"),
    "utf-8": gettext_lazy("UTF-8"),
    "latin-1": gettext_lazy("Windows-1252 / Latin-1 (Western European, Excel)"),
}
ENCODING_LABELS = {"cp1252": "Windows-1252", "latin-1": "Latin-1"}
# Windows-1252 is Latin-1 with printable characters (€ „ “ ’ – …) where Latin-1 has
# control codes; browsers decode "ISO-8859-1" as Windows-1252 for that reason. Both are read
# with the Windows-1252 codec; its five unassigned bytes fall back to their Latin-1 meaning.
_SINGLE_BYTE = {"latin-1", "cp1252"}
_FALLBACK = "engagex-latin1-fallback"


def _latin1_fallback(error: UnicodeError) -> tuple[str, int]:
    if not isinstance(error, UnicodeDecodeError):  # a decoding handler only
        raise error
    return error.object[error.start : error.end].decode("latin-1"), error.end


codecs.register_error(_FALLBACK, _latin1_fallback)


def _codec(encoding: str) -> tuple[str, str]:
    """The Python codec and error handler that read a file of `encoding`."""
    if encoding in _SINGLE_BYTE:
        return "cp1252", _FALLBACK
    return encoding, "strict"


@dataclass
class FileInfo:
    file_format: str
    encoding: str = ""
    delimiter: str = ""
    has_header: bool = True
    headers: list[str] = field(default_factory=list)
    sample_rows: list[list[str]] = field(default_factory=list)
    estimated_rows: int = 0
    unpacked_size: int = 0
    notices: list[str] = field(default_factory=list)


def clean_text(value: str) -> str:
    """Drop NUL characters: PostgreSQL text and jsonb cannot hold them."""
    return value.replace("\x00", "") if "\x00" in value else value


def file_format_for(name: str) -> str:
    fmt = FORMATS.get(PurePath(name).suffix.lower())
    if fmt is None:
        raise ValidationError(UNSUPPORTED.format(name=name))
    return fmt


def file_check(fileobj, *, name: str, size: int) -> tuple[str, int]:
    """Refuse what can be refused without parsing; return (format, bytes to parse).

    Cheap enough for a web request: an .xlsx is judged by its zip directory alone.
    """
    limit = settings.IMPORT_MAX_UPLOAD_BYTES
    if size > limit:
        raise ValidationError(
            TOO_LARGE.format(size=filesizeformat(size), limit=filesizeformat(limit))
        )
    fmt = file_format_for(name)
    if fmt == "xlsx":
        return fmt, _xlsx_unpacked_size(fileobj, name=name, size=size)
    return fmt, size


def inspect_file(fileobj, *, name: str, size: int, encoding: str = "auto") -> FileInfo:
    """Check an upload and describe it; raise ValidationError with a clear message if bad."""
    fmt, unpacked = file_check(fileobj, name=name, size=size)
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
    info.unpacked_size = unpacked
    if not any(h.strip() for h in info.headers):
        raise ValidationError(NO_HEADER)
    if len(info.headers) > settings.IMPORT_MAX_COLUMNS:
        raise ValidationError(
            TOO_MANY_COLUMNS.format(
                count=formats.number(len(info.headers)),
                limit=formats.number(settings.IMPORT_MAX_COLUMNS),
            )
        )
    if not info.sample_rows:
        raise ValidationError(HEADER_ONLY)
    return info


# --- CSV ----------------------------------------------------------------------------------
def _inspect_csv(head: bytes, *, name: str, size: int, encoding: str) -> FileInfo:
    bom_encoding = _bom_encoding(head)
    if head.startswith(b"PK\x03\x04"):
        raise ValidationError(NOT_TEXT.format(name=name, what=WHAT_ZIP, hint=".xlsx"))
    if bom_encoding is None and b"\x00" in head:
        raise ValidationError(
            NOT_TEXT.format(name=name, what=WHAT_BINARY, hint=".csv, .xlsx or .json")
        )
    info = FileInfo(file_format="csv", encoding=bom_encoding or _detect_encoding(head, encoding))
    if info.encoding in _SINGLE_BYTE and encoding == "auto":
        info.notices.append(str(LATIN1_NOTICE.format(encoding=ENCODING_LABELS[info.encoding])))
    codec, errors = _codec(info.encoding)
    text = codecs.getincrementaldecoder(codec)(errors=errors).decode(head, final=False)
    complete = size <= len(head)
    lines = text.splitlines(keepends=True)
    if not complete and len(lines) > 1:
        lines = lines[:-1]  # the last line may be cut off mid-way
    info.delimiter = _sniff_delimiter("".join(lines[:20]))
    reader = _csv_reader(io.StringIO("".join(lines)), info.delimiter)
    try:
        rows = [row for row in reader if any(cell.strip() for cell in row)]
    except csv.Error as error:
        raise ValidationError(
            CELL_TOO_LONG.format(row=reader.line_num, limit=formats.number(csv.field_size_limit()))
        ) from error
    if not rows:
        raise ValidationError(EMPTY_FILE)
    rows[: SAMPLE_ROWS + 1] = [[clean_text(c) for c in row] for row in rows[: SAMPLE_ROWS + 1]]
    data_rows = len(rows) - 1
    if _is_data_row(rows[0]):
        info.has_header = False
        info.headers = _numbered_headers(max(len(r) for r in rows[:SAMPLE_ROWS]))
        info.sample_rows = rows[:SAMPLE_ROWS]
        info.notices.append(str(HEADERLESS_NOTICE))
        data_rows += 1
    else:
        info.headers = [cell.strip() for cell in rows[0]]
        info.sample_rows = rows[1 : SAMPLE_ROWS + 1]
    if complete:
        info.estimated_rows = data_rows
    else:
        sampled = len("".join(lines).encode(codec, errors="replace"))
        info.estimated_rows = max(data_rows, round(data_rows * size / max(sampled, 1)))
    return info


def _bom_encoding(head: bytes) -> str | None:
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8-sig"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"  # Excel's "Unicode text"
    return None


def _detect_encoding(head: bytes, requested: str) -> str:
    if requested == "latin-1":
        return _single_byte_encoding(head)
    try:
        codecs.getincrementaldecoder("utf-8")().decode(head, final=False)
        return "utf-8"
    except UnicodeDecodeError as error:
        if requested == "auto" and _looks_like_text(head):
            return _single_byte_encoding(head)
        line = head[: error.start].count(b"\n") + 1
        raise ValidationError(INVALID_UTF8.format(line=line, byte=head[error.start])) from error


def _single_byte_encoding(head: bytes) -> str:
    """Windows-1252 when the bytes use its printable extras (€ „ “ ’ –), else Latin-1."""
    return "cp1252" if any(0x80 <= b <= 0x9F for b in head) else "latin-1"


def _looks_like_text(data: bytes) -> bool:
    """Western single-byte text has no C0 control bytes other than tab, CR and LF."""
    return not any(b < 32 and b not in (9, 10, 13) for b in data) and 0x7F not in data


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


def _sniff_delimiter(text: str) -> str:
    try:
        return csv.Sniffer().sniff(text, delimiters=",;\t|").delimiter
    except csv.Error:
        return ","


def _csv_reader(stream, delimiter: str):
    return csv.reader(stream, delimiter=delimiter)


def _is_data_row(cells: list) -> bool:
    """A first row holding an email address is a contact, not a header (Sendy's exports)."""
    from engagex.contacts.services.contacts import email_is_valid

    return any(
        isinstance(cell, str) and "@" in cell and email_is_valid(cell.strip()) for cell in cells
    )


def _numbered_headers(count: int) -> list[str]:
    return [HEADERLESS_COLUMN.format(n=i + 1) for i in range(count)]


# --- XLSX ---------------------------------------------------------------------------------
def _xlsx_unpacked_size(fileobj, *, name: str, size: int) -> int:
    """The workbook's unpacked size from its zip directory; refuse zip bombs unopened.

    Python's zipfile never inflates a member past the size its directory declares (and then
    fails its CRC check), so the declared sizes bound what parsing can cost.
    """
    fileobj.seek(0)
    try:
        with zipfile.ZipFile(fileobj) as archive:
            unpacked = sum(info.file_size for info in archive.infolist())
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as error:
        raise ValidationError(NOT_XLSX.format(name=name, reason=XLSX_NOT_ZIP)) from error
    finally:
        fileobj.seek(0)
    limit = settings.IMPORT_MAX_UNPACKED_BYTES
    if unpacked > limit:
        raise ValidationError(
            XLSX_UNPACKS_TOO_LARGE.format(
                name=name, size=filesizeformat(unpacked), limit=filesizeformat(limit)
            )
        )
    if unpacked > XLSX_RATIO_FROM_BYTES and unpacked > XLSX_MAX_RATIO * max(size, 1):
        raise ValidationError(
            XLSX_BOMB.format(name=name, packed=filesizeformat(size), size=filesizeformat(unpacked))
        )
    return unpacked


class _Workbook:
    """An .xlsx opened read-only, and the first sheet with a header row."""

    def __init__(self, fileobj, *, name: str):
        from openpyxl import load_workbook

        self.name = name
        fileobj.seek(0)
        try:
            self.book = load_workbook(fileobj, read_only=True, data_only=True)
        except zipfile.BadZipFile as error:
            raise self.damaged(XLSX_NOT_ZIP) from error
        except (KeyError, OSError, ValueError, TypeError, AttributeError, IndexError) as error:
            raise self.damaged() from error
        except ParseError as error:
            raise self.damaged() from error
        self.sheet = None

    def damaged(self, reason=XLSX_DAMAGED) -> ValidationError:
        return ValidationError(NOT_XLSX.format(name=self.name, reason=reason))

    def close(self):
        self.book.close()

    def rows(self, sheet) -> Iterator[tuple[int, list]]:
        """Yield (row number, [(column, value), …]) for the cells the sheet really has.

        openpyxl's read-only iter_rows pads each row to the sheet's declared dimension and
        yields every missing row in between; here a row costs what its XML costs.
        """
        from openpyxl.worksheet._reader import WorkSheetParser

        try:
            with sheet._get_source() as source:
                parser = WorkSheetParser(
                    source,
                    sheet._shared_strings,
                    data_only=True,
                    epoch=self.book.epoch,
                    # openpyxl's own reader takes these; its stubs keep them private.
                    date_formats=self.book._date_formats,  # type: ignore[attr-defined]
                    timedelta_formats=self.book._timedelta_formats,  # type: ignore[attr-defined]
                )
                for number, cells in parser.parse():
                    yield number, [(c["column"], c["value"]) for c in cells]
        except (ParseError, KeyError, ValueError, TypeError, IndexError, OSError) as error:
            raise self.damaged() from error
        except zipfile.BadZipFile as error:  # e.g. a CRC mismatch past the declared size
            raise self.damaged() from error

    def header_sheet(self):
        """The first worksheet with a non-empty row (an empty first sheet is skipped)."""
        for sheet in self.book.worksheets:
            for number, cells in self.rows(sheet):
                if any(_present(value) for _, value in cells):
                    return sheet, number, cells
        raise ValidationError(EMPTY_FILE)

    def estimated_rows(self, sheet) -> int:
        """Data rows from the sheet's dimension (capped by its XML size), or from its size."""
        archive = self.book._archive  # type: ignore[attr-defined]  # the open .xlsx zip file
        try:
            sheet_bytes = archive.getinfo(sheet._worksheet_path).file_size
        except KeyError:
            sheet_bytes = 0
        cap = sheet_bytes // XLSX_MIN_ROW_BYTES
        if sheet.max_row:
            return min(max(0, sheet.max_row - sheet.min_row), cap)
        return cap


def _present(value) -> bool:
    return value is not None and not (isinstance(value, str) and not value.strip())


def _inspect_xlsx(fileobj, *, name: str) -> FileInfo:
    workbook = _Workbook(fileobj, name=name)
    try:
        sheet, header_no, header_cells = workbook.header_sheet()
        first = _place(header_cells, _last_column(header_cells))
        info = FileInfo(file_format="xlsx")
        if sheet.max_row and sheet.max_row - sheet.min_row > settings.IMPORT_MAX_ROWS:
            raise ValidationError(
                TOO_MANY_ROWS.format(limit=formats.number(settings.IMPORT_MAX_ROWS))
            )
        if len(first) > settings.IMPORT_MAX_COLUMNS:
            raise ValidationError(
                TOO_MANY_COLUMNS.format(
                    count=formats.number(len(first)),
                    limit=formats.number(settings.IMPORT_MAX_COLUMNS),
                )
            )
        if _is_data_row(first):
            info.has_header = False
            info.headers = _numbered_headers(len(first))
            info.sample_rows.append([display_text(v) for v in first])
            info.notices.append(str(HEADERLESS_NOTICE))
        else:
            info.headers = [clean_text(display_text(v)).strip() for v in first]
        width = len(info.headers)
        for number, cells in workbook.rows(sheet):
            if len(info.sample_rows) >= SAMPLE_ROWS:
                break
            if number <= header_no:
                continue
            row = _place(cells, width)
            if any(_present(v) for v in row):
                info.sample_rows.append([display_text(v) for v in row])
        info.estimated_rows = workbook.estimated_rows(sheet) + (0 if info.has_header else 1)
        return info
    finally:
        workbook.close()


def _last_column(cells) -> int:
    return max((column for column, value in cells if _present(value)), default=0)


def _place(cells, width: int) -> list:
    """A row's values in column order, `width` long."""
    row: list[object] = [None] * width
    for column, value in cells:
        if column <= width:
            row[column - 1] = clean_text(value) if type(value) is str else value
    return row


def _xlsx_data_rows(fileobj, *, name: str, has_header: bool, columns: int):
    workbook = _Workbook(fileobj, name=name)
    try:
        sheet, header_no, _ = workbook.header_sheet()
        for number, cells in workbook.rows(sheet):
            if number < header_no or (has_header and number == header_no):
                continue
            # A cell right of the header is an unnamed column, not a sign of a misread row
            # (as it is in a CSV): it is left out like a column whose header is empty.
            yield number, _place(cells, columns), columns
    finally:
        workbook.close()


def display_text(value) -> str:
    """How a cell reads as text (samples, contact fields): 42.0 → "42", a date → ISO."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float):
        if value.is_integer() and abs(value) < 1e16:
            return str(int(value))
        return repr(value)
    if isinstance(value, datetime.datetime):
        if value.time() == datetime.time(0):
            return value.date().isoformat()
        return value.isoformat(timespec="seconds")
    if isinstance(value, datetime.date | datetime.time):
        return value.isoformat()
    if isinstance(value, datetime.timedelta):
        return str(value)
    if isinstance(value, dict | list):
        return json.dumps(value, ensure_ascii=False)
    return clean_text(str(value))


def typed_value(value):
    """A cell as a JSON value for custom attributes: numbers and booleans stay typed,
    dates become ISO strings ("2024-03-15", or with a time), text is stripped of NULs."""
    if isinstance(value, bool) or value is None:
        return value
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        if not math.isfinite(value):
            return repr(value)
        return int(value) if value.is_integer() and abs(value) < 1e16 else value
    if isinstance(value, str):
        return clean_text(value)
    if isinstance(value, dict):
        return {clean_text(str(k)): typed_value(v) for k, v in value.items()}
    if isinstance(value, list):
        return [typed_value(v) for v in value]
    return display_text(value)


# --- JSON ---------------------------------------------------------------------------------
_WS = re.compile(r"[ \t\n\r]*")


def _json_parse_float(text: str):
    number = float(text)
    return number if math.isfinite(number) else text


def _json_objects(fileobj, *, name: str) -> Iterator[tuple[int, dict]]:
    """Yield (item number, object) from a JSON list, one object in memory at a time."""
    fileobj.seek(0)
    reader = codecs.getreader("utf-8-sig")(fileobj)
    decoder = json.JSONDecoder(parse_float=_json_parse_float, parse_constant=str)
    buffer, eof, line_base = "", False, 1

    def more() -> bool:
        nonlocal buffer, eof
        if eof:
            return False
        try:
            chunk = reader.read(256 * 1024)
        except UnicodeDecodeError as error:
            raise ValidationError(BAD_JSON.format(name=name, reason=JSON_NOT_UTF8)) from error
        if not chunk:
            eof = True
            return False
        buffer += chunk
        return True

    def bad(position: int) -> ValidationError:
        line = line_base + buffer.count("\n", 0, position)
        column = position - buffer.rfind("\n", 0, position)
        return ValidationError(
            BAD_JSON.format(name=name, reason=JSON_REASON_AT.format(line=line, column=column))
        )

    def skip_ws(position: int) -> int:
        while True:
            match = _WS.match(buffer, position)  # always matches (`*`)
            position = match.end() if match else position
            if position < len(buffer) or not more():
                return position

    more()
    position = skip_ws(0)
    if position >= len(buffer):
        raise ValidationError(EMPTY_FILE)
    if buffer[position] != "[":
        raise ValidationError(JSON_SHAPE)
    position = skip_ws(position + 1)
    item = 0
    if position < len(buffer) and buffer[position] == "]":
        return
    while True:
        item += 1
        while True:
            try:
                value, end = decoder.raw_decode(buffer, position)
                break
            except json.JSONDecodeError as error:
                if len(buffer) - position > MAX_JSON_OBJECT_CHARS:
                    raise ValidationError(
                        JSON_OBJECT_TOO_LARGE.format(
                            item=item, limit=filesizeformat(MAX_JSON_OBJECT_CHARS)
                        )
                    ) from error
                if not more():
                    raise bad(error.pos) from error
            except RecursionError as error:
                raise ValidationError(
                    JSON_TOO_DEEP.format(item=item, limit=MAX_JSON_DEPTH)
                ) from error
            except ValueError as error:  # e.g. an integer of more than 4,300 digits
                raise bad(position) from error
        if not isinstance(value, dict):
            raise ValidationError(JSON_ITEM_SHAPE.format(item=item))
        if json_depth(value, MAX_JSON_DEPTH + 1) > MAX_JSON_DEPTH:
            raise ValidationError(JSON_TOO_DEEP.format(item=item, limit=MAX_JSON_DEPTH))
        yield item, value
        position = skip_ws(end)
        # Forget what was consumed so a large file never sits in memory.
        line_base += buffer.count("\n", 0, position)
        buffer, position = buffer[position:], 0
        if position >= len(buffer):
            raise bad(position)
        if buffer[position] == "]":
            return
        if buffer[position] != ",":
            raise bad(position)
        position = skip_ws(position + 1)


def json_depth(value, stop: int) -> int:
    """How deeply `value` nests (an object of plain values is 1), counting up to `stop`."""
    if not isinstance(value, dict | list) or stop <= 0:
        return 0
    children = value.values() if isinstance(value, dict) else value
    return 1 + max((json_depth(child, stop - 1) for child in children), default=0)


def _inspect_json(fileobj, *, name: str) -> FileInfo:
    """Collect the keys of every object (the columns), refusing past the column limit."""
    headers: dict[str, None] = {}
    limit = settings.IMPORT_MAX_COLUMNS
    info = FileInfo(file_format="json")
    samples: list[dict] = []
    count = 0
    for _, item in _json_objects(fileobj, name=name):
        count += 1
        for key in item:
            if key not in headers:
                headers[key] = None
                if len(headers) > limit:
                    raise ValidationError(JSON_TOO_MANY_KEYS.format(limit=formats.number(limit)))
        if len(samples) < SAMPLE_ROWS:
            samples.append(item)
    if not count:
        raise ValidationError(HEADER_ONLY)
    info.headers = [clean_text(str(key)) for key in headers]
    keys = list(headers)
    info.sample_rows = [[display_text(row.get(key)) for key in keys] for row in samples]
    info.estimated_rows = count
    return info


# --- All formats --------------------------------------------------------------------------
def iter_data_rows(
    fileobj,
    *,
    file_format: str,
    encoding: str,
    delimiter: str,
    name: str,
    columns: int,
    headers: list[str] | None = None,
    has_header: bool = True,
):
    """Iterate (row number, cells, cell count) over the data rows, `columns` cells each.

    The count is how many cells the row really has (more than `columns` means cells past
    the header). Rows past IMPORT_MAX_ROWS stop the read with a clear error.
    """
    if file_format == "csv":
        return _csv_data_rows(fileobj, encoding, delimiter, columns, has_header)
    if file_format == "xlsx":
        rows = _xlsx_data_rows(fileobj, name=name, has_header=has_header, columns=columns)
    else:
        rows = _json_data_rows(fileobj, name=name, headers=headers or [])
    return _at_most(rows, settings.IMPORT_MAX_ROWS)


def _at_most(rows, limit: int):
    for seen, row in enumerate(rows, start=1):
        if seen > limit:
            raise ValidationError(TOO_MANY_ROWS.format(limit=formats.number(limit)))
        yield row


def _csv_data_rows(fileobj, encoding: str, delimiter: str, columns: int, has_header: bool):
    fileobj.seek(0)
    codec, errors = _codec(encoding)
    text = io.TextIOWrapper(fileobj, encoding=codec, errors=errors, newline="")
    reader = _csv_reader(text, delimiter)
    limit = settings.IMPORT_MAX_ROWS
    try:
        if has_header:
            next(reader, None)
        for seen, cells in enumerate(reader, start=1):
            if seen > limit:
                raise ValidationError(TOO_MANY_ROWS.format(limit=formats.number(limit)))
            size = len(cells)
            if size > columns:
                count = size if any(c.strip() for c in cells[columns:]) else columns
                cells = cells[:columns]
            else:
                count = columns
                if size < columns:
                    cells.extend([""] * (columns - size))
            if "\x00" in "\x1f".join(cells):
                cells = [clean_text(c) for c in cells]
            yield reader.line_num, cells, count
    except UnicodeDecodeError as error:
        line, byte = _first_decode_error(fileobj, codec)
        raise ValidationError(INVALID_UTF8.format(line=line, byte=byte)) from error
    except csv.Error as error:
        raise ValidationError(
            CELL_TOO_LONG.format(row=reader.line_num, limit=formats.number(csv.field_size_limit()))
        ) from error
    finally:
        text.detach()


def _json_data_rows(fileobj, *, name: str, headers: list[str]):
    for item, row in _json_objects(fileobj, name=name):
        if any(isinstance(key, str) and "\x00" in key for key in row):
            row = {clean_text(key): value for key, value in row.items()}
        yield item + 1, [typed_value(row.get(key)) for key in headers], len(headers)
