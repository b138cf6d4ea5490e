"""Hostile files get a clear message, cost little, and never parse at length in a request."""

import io
import json
import re
import time
import zipfile

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_q.models import OrmQ
from django_tenants.utils import schema_context
from openpyxl.utils import get_column_letter

from engagex.accounts import roles
from engagex.contacts.models import Contact, ImportJob
from engagex.contacts.services import importing, reading
from engagex.contacts.tasks import contacts_import_run
from tests.api.conftest import key_client
from tests.contacts.corpus.build_xlsx import PARTS

API = "/api/v1"
ADD = "admin:contacts_importjob_add"


def post_upload(client, name: str, data: bytes):
    add = reverse(ADD, urlconf="config.urls_tenants")
    return client.post(add, {"file": SimpleUploadedFile(name, data), "encoding": "auto"})


def workbook(sheet_xml: str | None = None, *, strings: str | None = None, padding=0) -> bytes:
    """The corpus workbook with its first sheet (or shared strings) replaced; `padding` MB
    of blanks inside the sheet's XML make a zip bomb (blanks compress about 1000:1)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, text in PARTS.items():
            if name == "xl/worksheets/sheet1.xml" and sheet_xml is not None:
                text = sheet_xml
            if name == "xl/sharedStrings.xml" and strings is not None:
                text = strings
            if name == "xl/worksheets/sheet1.xml" and padding:
                head, tail = text.split("<sheetData>")
                with archive.open(name, "w") as member:
                    member.write(f"{head}<sheetData>".encode())
                    for _ in range(padding):
                        member.write(b" " * (1024 * 1024))
                    member.write(tail.encode())
                continue
            archive.writestr(name, text)
    return buffer.getvalue()


def sheet(rows: str, dimension: str | None = "A1:B3") -> str:
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="http://schemas.openxmlformats'
        f'.org/spreadsheetml/2006/main">{dim}<sheetData>{rows}</sheetData></worksheet>'
    )


def cell(ref: str, text: str) -> str:
    return f'<c r="{ref}" t="inlineStr"><is><t>{text}</t></is></c>'


ROWS = (
    f'<row r="1">{cell("A1", "Email")}{cell("B1", "First name")}</row>'
    f'<row r="2">{cell("A2", "ann@example.com")}{cell("B2", "Ann")}</row>'
    f'<row r="3">{cell("A3", "bob@example.com")}{cell("B3", "Bob")}</row>'
)


def job_of(response) -> int:
    return int(re.search(r"/(\d+)/", response["Location"]).group(1))


def test_an_xlsx_zip_bomb_is_refused_from_its_directory_without_unpacking(tenant, owner_client):
    bomb = workbook(padding=120)  # 120 MB of XML in a file of a few hundred KB
    started = time.monotonic()

    response = post_upload(owner_client, "bomb.xlsx", bomb)

    elapsed = time.monotonic() - started
    assert response.status_code == 200
    assert re.search(r"unpacks from \d+\.\d.KB to 120\.0.MB, far more than a spreadsheet does",
                     response.content.decode())  # fmt: skip
    assert elapsed < 3
    with schema_context(tenant.schema_name):
        assert ImportJob.objects.count() == 0


def test_an_xlsx_unpacking_past_the_limit_is_refused(tenant, owner_client, settings):
    settings.IMPORT_MAX_UNPACKED_BYTES = 4096

    response = post_upload(owner_client, "members.xlsx", workbook())

    assert "“members.xlsx” unpacks to 5.2\xa0KB; at most 4.0\xa0KB can be imported." in (
        response.content.decode()
    )


def test_a_large_workbook_is_read_in_the_cluster_not_in_the_request(
    tenant, owner, owner_client, settings, django_capture_on_commit_callbacks
):
    settings.IMPORT_BACKGROUND_BYTES = 1000
    queued = OrmQ.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        response = post_upload(owner_client, "members.xlsx", workbook(sheet(ROWS)))
    job_id = job_of(response)

    with schema_context(tenant.schema_name):
        job = ImportJob.objects.get(pk=job_id)
        assert (job.status, job.headers, job.sample_rows) == ("reading", [], [])
    assert OrmQ.objects.count() == queued + 1
    page = owner_client.get(response["Location"]).content.decode()
    assert "Reading the file…" in page
    assert 'value="cancel"' in page
    contacts_import_run(tenant.schema_name, job_id)
    with schema_context(tenant.schema_name):
        job.refresh_from_db()
        assert job.status == ImportJob.Status.MAPPING
        assert job.headers == ["Email", "First name"]
        assert job.mapping == {"0": "email", "1": "first_name"}
    assert "Map the columns" in owner_client.get(response["Location"]).content.decode()


def test_a_sheet_declaring_a_million_columns_and_rows_costs_what_its_cells_cost(
    tenant, owner_client
):
    liar = sheet(ROWS, dimension="A1:XFD1048576")  # openpyxl would pad every row to XFD
    started = time.monotonic()

    response = post_upload(owner_client, "liar.xlsx", workbook(liar))
    job_url = response["Location"]
    owner_client.post(
        job_url,
        {"step": "configure", "column_0": "email", "column_1": "first_name",
         "unknown_columns": "attributes", "update_existing": "on", "file_status": ""},
    )  # fmt: skip
    owner_client.post(job_url, {"step": "confirm"})

    assert time.monotonic() - started < 5
    with schema_context(tenant.schema_name):
        assert sorted(Contact.objects.values_list("first_name", flat=True)) == ["Ann", "Bob"]


def test_a_sheet_without_a_dimension_imports(tenant, owner_client):
    response = post_upload(owner_client, "nodim.xlsx", workbook(sheet(ROWS, dimension=None)))

    assert response.status_code == 302
    with schema_context(tenant.schema_name):
        job = ImportJob.objects.get(pk=job_of(response))
        assert job.headers == ["Email", "First name"]
        assert job.estimated_rows > 0


# --- Rows and columns: refused at upload when the file says so, else when the rows are read ---
CY = f'<row r="4">{cell("A4", "cy@example.com")}{cell("B4", "Cy")}</row>'
TOO_MANY_ROWS = "The file has more than 2 rows; split it into files of at most 2 rows."


def wide_rows(columns: int, *, far: bool = False) -> str:
    """A header `columns` cells wide (or Email plus one cell in column `columns`, `far`)
    and one contact row."""
    letters = [get_column_letter(n) for n in ([columns] if far else range(2, columns + 1))]
    header = cell("A1", "Email") + "".join(cell(f"{c}1", f"Extra {c}") for c in letters)
    return f'<row r="1">{header}</row><row r="2">{cell("A2", "ann@example.com")}</row>'


def too_wide(columns: int) -> str:
    return f"The header has {columns:,} columns; at most 200 can be imported."


def configure_two_columns(client, job_url):
    return client.post(
        job_url,
        {"step": "configure", "column_0": "email", "column_1": "first_name",
         "unknown_columns": "attributes", "update_existing": "on", "file_status": ""},
        follow=True,
    )  # fmt: skip


def test_an_xlsx_declaring_more_rows_than_the_limit_is_refused_at_upload(
    tenant, owner_client, settings
):
    settings.IMPORT_MAX_ROWS = 2

    response = post_upload(owner_client, "long.xlsx", workbook(sheet(ROWS + CY, "A1:B4")))
    at_the_limit = post_upload(owner_client, "ok.xlsx", workbook(sheet(ROWS, "A1:B3")))

    assert response.status_code == 200
    assert TOO_MANY_ROWS in response.content.decode()
    assert at_the_limit.status_code == 302  # the header plus 2 rows is within a limit of 2
    with schema_context(tenant.schema_name):
        assert list(ImportJob.objects.values_list("original_name", flat=True)) == ["ok.xlsx"]
        assert Contact.objects.count() == 0


@pytest.mark.parametrize(
    "dimension",
    [pytest.param(None, id="no-dimension"), pytest.param("A1:B2", id="dimension-understated")],
)
def test_an_xlsx_whose_rows_pass_the_limit_unannounced_fails_its_dry_run(
    tenant, owner_client, settings, dimension
):
    # Nothing at upload tells how many rows there are: the dry run counts them as it reads.
    settings.IMPORT_MAX_ROWS = 2
    response = post_upload(owner_client, "long.xlsx", workbook(sheet(ROWS + CY, dimension)))
    assert response.status_code == 302

    page = configure_two_columns(owner_client, response["Location"])

    html = page.content.decode()
    assert page.status_code == 200
    assert "The import failed" in html
    assert TOO_MANY_ROWS in html
    with schema_context(tenant.schema_name):
        job = ImportJob.objects.get(pk=job_of(response))
        assert (job.status, job.error_message) == (ImportJob.Status.FAILED, TOO_MANY_ROWS)
        assert Contact.objects.count() == 0


@pytest.mark.parametrize(
    ("rows", "message"),
    [
        pytest.param(wide_rows(201), too_wide(201), id="201-columns"),
        # One far cell makes the header as wide as its column (the cells between are empty).
        pytest.param(wide_rows(16_384, far=True), too_wide(16_384), id="a-cell-in-column-XFD"),
    ],
)
def test_an_xlsx_wider_than_the_column_limit_is_refused_at_upload(
    tenant, owner_client, rows, message
):
    response = post_upload(owner_client, "wide.xlsx", workbook(sheet(rows, dimension=None)))
    at_the_limit = post_upload(owner_client, "ok.xlsx", workbook(sheet(wide_rows(200), None)))

    assert response.status_code == 200
    assert message in response.content.decode()
    assert at_the_limit.status_code == 302
    with schema_context(tenant.schema_name):
        assert list(ImportJob.objects.values_list("original_name", flat=True)) == ["ok.xlsx"]
        assert Contact.objects.count() == 0


@pytest.mark.parametrize(
    ("rows", "dimension", "message"),
    [
        pytest.param(ROWS + CY, "A1:B4", TOO_MANY_ROWS, id="rows"),
        pytest.param(wide_rows(201), None, too_wide(201), id="columns"),
    ],
)
def test_a_large_xlsx_past_a_limit_fails_when_the_cluster_reads_it(
    tenant, owner_client, settings, django_capture_on_commit_callbacks, rows, dimension, message
):
    settings.IMPORT_MAX_ROWS = 2
    settings.IMPORT_BACKGROUND_BYTES = 1000  # read in the cluster, not in the request
    with django_capture_on_commit_callbacks(execute=True):
        response = post_upload(owner_client, "big.xlsx", workbook(sheet(rows, dimension)))
    job_id = job_of(response)

    contacts_import_run(tenant.schema_name, job_id)

    page = owner_client.get(response["Location"]).content.decode()
    assert "The import failed" in page
    assert message in page
    with schema_context(tenant.schema_name):
        job = ImportJob.objects.get(pk=job_id)
        assert (job.status, job.error_message) == (ImportJob.Status.FAILED, message)
        assert Contact.objects.count() == 0


def api_upload(client, data: bytes, name="people.xlsx"):
    file = io.BytesIO(data)
    file.name = name
    return client.post(f"{API}/contacts/import/", {"file": file})


@pytest.mark.parametrize(
    ("rows", "dimension", "message"),
    [
        pytest.param(ROWS + CY, "A1:B4", TOO_MANY_ROWS, id="rows"),
        pytest.param(wide_rows(201), None, too_wide(201), id="columns"),
    ],
)
def test_api_upload_of_an_xlsx_past_a_limit_is_a_400_and_stores_nothing(
    tenant, owner, settings, rows, dimension, message
):
    settings.IMPORT_MAX_ROWS = 2
    api = key_client(tenant, roles.OWNER, owner)

    response = api_upload(api, workbook(sheet(rows, dimension)))

    assert response.status_code == 400
    assert response.json()["error"]["message"] == message
    with schema_context(tenant.schema_name):
        assert ImportJob.objects.count() == 0
        assert Contact.objects.count() == 0


def test_api_upload_of_an_xlsx_with_unannounced_rows_past_the_limit_fails_the_job(
    tenant, owner, settings, django_capture_on_commit_callbacks
):
    settings.IMPORT_MAX_ROWS = 2
    api = key_client(tenant, roles.OWNER, owner)
    with django_capture_on_commit_callbacks(execute=True):
        response = api_upload(api, workbook(sheet(ROWS + CY, dimension=None)))
    assert response.status_code == 202

    contacts_import_run(tenant.schema_name, response.json()["id"])

    job = api.get(f"{API}/imports/{response.json()['id']}/").json()
    assert (job["status"], job["error_message"]) == ("failed", TOO_MANY_ROWS)
    with schema_context(tenant.schema_name):
        assert Contact.objects.count() == 0


@pytest.mark.parametrize(
    ("sheet_xml", "strings"),
    [
        pytest.param(sheet(ROWS)[:-40], None, id="sheet-cut-off"),
        pytest.param(sheet(ROWS.replace("</row>", "</rw>", 2)), None, id="mismatched-tags"),
        pytest.param(None, "<sst><si><t>Email</t></si", id="shared-strings-cut-off"),
        pytest.param(sheet('<row r="1"><c r="A1" t="s"><v>999</v></c></row>'), None,
                     id="shared-string-out-of-range"),
    ],
)  # fmt: skip
def test_malformed_xlsx_xml_is_a_clear_error(tenant, owner_client, sheet_xml, strings):
    response = post_upload(owner_client, "broken.xlsx", workbook(sheet_xml, strings=strings))

    assert response.status_code == 200
    assert (
        "“broken.xlsx” is not a valid Excel .xlsx workbook (its content is damaged or is not "
        "spreadsheet XML)." in response.content.decode()
    )
    with schema_context(tenant.schema_name):
        assert ImportJob.objects.count() == 0


def test_a_csv_cell_over_the_field_limit_in_the_first_256_kb_is_a_clear_error(tenant, owner_client):
    data = b"email,notes\nann@example.com," + b"x" * 140_000 + b"\n"

    response = post_upload(owner_client, "long.csv", data)

    assert response.status_code == 200
    assert "Row 2: a cell is longer than 131,072 characters." in response.content.decode()


def test_json_with_a_new_key_in_every_object_is_refused_at_the_column_limit(tenant, owner_client):
    data = json.dumps([{"email": f"p{i}@example.com", f"key{i}": i} for i in range(5000)])
    started = time.monotonic()

    response = post_upload(owner_client, "wide.json", data.encode())

    assert time.monotonic() - started < 2
    assert (
        "The JSON objects use more than 200 different keys (columns), more than can be "
        "imported." in response.content.decode()
    )


@pytest.mark.parametrize(
    ("data", "message"),
    [
        pytest.param("[" * 100_000, "Item 1 of the JSON list nests values more than 16 levels",
                     id="list-nesting"),
        pytest.param(
            json.dumps([{"email": "a@example.com", "deep": json.loads("[" * 30 + "]" * 30)}]),
            "Item 1 of the JSON list nests values more than 16 levels", id="value-nesting"),
        pytest.param('[{"email": "a@example.com"}, 7]', "Item 2 of the JSON list is not an object",
                     id="not-an-object"),
        pytest.param('[{"email": "a@example.com", "n": 1' + "0" * 5000 + "}]",
                     "is not valid JSON", id="huge-number"),
    ],
)  # fmt: skip
def test_hostile_json_is_a_clear_error(tenant, owner_client, data, message):
    response = post_upload(owner_client, "bad.json", data.encode())

    assert response.status_code == 200
    assert message in response.content.decode()


def test_nul_characters_never_reach_postgresql(in_tenant):
    filler = "x" * 1000
    head = b"email,notes\n" + b"".join(f"p{i}@example.com,{filler}\n".encode() for i in range(300))
    csv_data = head + b"nul@example.com,bad\x00value\n"  # past the 256 KB the upload reads
    assert len(head) > reading.SAMPLE_BYTES
    json_data = json.dumps([{"email": "json@example.com", "no\u0000te": "a\u0000b"}]).encode()

    for name, data in [("nul.csv", csv_data), ("nul.json", json_data)]:
        job = importing.import_job_create(upload=SimpleUploadedFile(name, data))
        importing.import_job_configure(job=job, mapping=job.mapping, update_existing=True)
        importing.import_job_validate(job=job)
        importing.import_job_confirm(job=job)
        importing.import_job_apply(job=job)
        assert job.status == ImportJob.Status.DONE, job.error_message

    assert Contact.objects.get(email="nul@example.com").attributes == {"notes": "badvalue"}
    assert Contact.objects.get(email="json@example.com").attributes == {"note": "ab"}


def test_json_values_keep_their_types(in_tenant):
    data = json.dumps(
        [{"email": "a@example.com", "score": 3.5, "visits": 12, "vip": True, "tags": ["x"]}]
    )
    job = importing.import_job_create(upload=SimpleUploadedFile("p.json", data.encode()))
    importing.import_job_configure(job=job, mapping=job.mapping, update_existing=True)
    importing.import_job_validate(job=job)
    importing.import_job_confirm(job=job)
    importing.import_job_apply(job=job)

    assert Contact.objects.get().attributes == {
        "score": 3.5,
        "visits": 12,
        "vip": True,
        "tags": ["x"],
    }
