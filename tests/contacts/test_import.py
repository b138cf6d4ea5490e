import io
import json
import re

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_q.models import OrmQ
from django_tenants.utils import schema_context
from openpyxl import Workbook

from engagex.accounts import roles
from engagex.contacts.models import Contact, ContactStatus, ImportJob
from engagex.contacts.services import importing, reading
from engagex.contacts.services.mapping import NO_EMAIL_COLUMN, mapping_guess
from engagex.contacts.tasks import contacts_import_apply, contacts_import_validate
from engagex.notifications.models import Notification
from tests.factories.contacts import ContactFactory, ContactGroupFactory
from tests.fixtures.tenants import logged_in_client

MAPPING_POST = {
    "step": "configure",
    "column_0": "email",
    "column_1": "first_name",
    "unknown_columns": "attributes",
    "update_existing": "on",
}


def upload(name, data):
    return SimpleUploadedFile(name, data)


def run_import(
    data: bytes,
    name="people.csv",
    update_existing=True,
    groups=(),
    mapping=None,
    list_consent="permission",
    **kw,
):
    """Upload → mapping → dry run → confirm → apply, through the services the admin uses."""
    job = importing.import_job_create(upload=upload(name, data), **kw)
    importing.import_job_configure(
        job=job,
        mapping=mapping or job.mapping,
        update_existing=update_existing,
        groups=groups,
        list_consent=list_consent if groups else "",
    )
    importing.import_job_validate(job=job)
    return job


def apply(job):
    importing.import_job_confirm(job=job)
    return importing.import_job_apply(job=job)


def test_text_attributes_keep_quotes_backslashes_and_any_script(in_tenant):
    """A CSV's custom attributes are written as JSON without json.dumps (the import's fast
    path): what is stored reads back as the file wrote it."""
    job = run_import(
        'Email,Firma "Nord",Notiz\n'
        'ann@example.com,"Café ""Zum Anker""",a\\b \u2028 Straße 😀\n'
        "bob@example.com,,'=1+1\n".encode()
    )
    apply(job)

    assert Contact.objects.get(email="ann@example.com").attributes == {
        'Firma "Nord"': 'Café "Zum Anker"',
        "Notiz": "a\\b \u2028 Straße 😀",
    }
    assert Contact.objects.get(email="bob@example.com").attributes == {"Notiz": "=1+1"}


def test_mapping_guess_recognises_common_headers():
    headers = ["Email Address", "FNAME", "Last Name", "E-mail", "Company", ""]

    assert mapping_guess(headers) == {
        "0": "email",
        "1": "first_name",
        "2": "last_name",
        "3": "attribute",  # a second email column is not mapped twice
        "4": "attribute",
        "5": "",
    }


def test_import_counts_new_invalid_and_duplicates_then_applies(in_tenant):
    data = (
        b"Email Address,First Name,Company\n"
        b"ann@example.com,Ann,Acme\n"
        b"not-an-email,Bob,Nope\n"
        b"ANN@Example.com,Ann again,Acme\n"
        b"zoe@example.com,Zoe,\n"
    )
    group = ContactGroupFactory(name="Imported")

    job = run_import(data, groups=[group])

    assert job.status == ImportJob.Status.VALIDATED
    assert {k: v for k, v in job.counts.items() if v and k not in ("notices", "opted_out")} == {
        "new": 2,
        "invalid": 1,
        "duplicate": 1,
    }
    assert Contact.objects.count() == 0  # a dry run changes nothing
    errors = importing.import_job_errors(job=job)
    assert errors == [
        {"row": 3, "email": "not-an-email", "column": "Email Address",
         "reason": "“not-an-email” is not a valid email address."},
        {"row": 4, "email": "ANN@example.com", "column": "Email Address",
         "reason": "Same email address as row 2"},
    ]  # fmt: skip

    apply(job)

    assert job.status == ImportJob.Status.DONE
    ann = Contact.objects.get(email="ann@example.com")
    assert ann.first_name == "Ann"
    assert ann.attributes == {"Company": "Acme"}
    assert ann.consent_source == "import: people.csv"
    assert Contact.objects.get(email="zoe@example.com").attributes == {}
    assert group.contacts.count() == 2


def test_reimport_updates_changed_contacts_and_counts_unchanged(in_tenant):
    ContactFactory(email="ann@example.com", first_name="Old", last_name="Lee")
    ContactFactory(email="bob@example.com", first_name="Bob", last_name="Same")

    job = run_import(
        b"email,first_name,last_name\nann@example.com,New,\nbob@example.com,Bob,Same\n"
    )
    apply(job)

    assert (job.counts["update"], job.counts["unchanged"], job.counts["new"]) == (1, 1, 0)
    ann = Contact.objects.get(email="ann@example.com")
    assert (ann.first_name, ann.last_name) == ("New", "Lee")  # an empty cell keeps the value


def test_skip_existing_leaves_them_alone_but_adds_them_to_groups(in_tenant):
    ContactFactory(email="ann@example.com", first_name="Old")
    group = ContactGroupFactory()

    job = run_import(
        b"email,first_name\nann@example.com,New\n", update_existing=False, groups=[group]
    )
    apply(job)

    assert job.counts["skipped"] == 1
    assert Contact.objects.get().first_name == "Old"
    assert group.contacts.count() == 1


@pytest.mark.parametrize("status", ["unsubscribed", "bounced", "complained"])
def test_import_never_resubscribes_a_suppressed_contact(in_tenant, status):
    ContactFactory(email="gone@example.com", status=status)

    job = run_import(b"email,status\ngone@example.com,subscribed\n")
    apply(job)

    assert Contact.objects.get().status == status


def test_import_can_unsubscribe_and_creates_with_given_status(in_tenant):
    ContactFactory(email="ann@example.com")

    job = run_import(b"email,status\nann@example.com,Unsubscribed\nnew@example.com,bounced\n")
    apply(job)

    assert Contact.objects.get(email="ann@example.com").status == ContactStatus.UNSUBSCRIBED
    assert Contact.objects.get(email="ann@example.com").status_source == "import: people.csv"
    assert Contact.objects.get(email="new@example.com").status == ContactStatus.BOUNCED


def test_rows_over_the_contact_limit_are_reported_not_dropped(in_tenant, on_plan):
    on_plan(in_tenant, contact_limit=2)
    ContactFactory(email="existing@example.com")

    job = run_import(b"email\na@example.com\nb@example.com\nc@example.com\n")

    assert (job.counts["new"], job.counts["over_limit"]) == (1, 2)
    reasons = [e["reason"] for e in importing.import_job_errors(job=job)]
    assert reasons
    assert all("plan allows 2 contacts" in r for r in reasons)
    apply(job)
    assert Contact.objects.count() == 2


def test_contacts_added_after_the_dry_run_leave_the_import_less_room(in_tenant, on_plan):
    on_plan(in_tenant, contact_limit=3)
    job = run_import(b"email\na@example.com\nb@example.com\n")
    assert (job.counts["new"], job.counts["over_limit"]) == (2, 0)
    ContactFactory(email="meanwhile1@example.com")
    ContactFactory(email="meanwhile2@example.com")

    apply(job)

    assert (job.counts["new"], job.counts["over_limit"]) == (1, 1)
    assert Contact.objects.count() == 3
    assert Contact.objects.filter(email="a@example.com").exists()  # rows apply in file order


def test_field_errors_name_the_column(in_tenant):
    job = run_import(
        b"email,tz,status,first_name\n"
        b"a@example.com,Mars/Olympus,subscribed,A\n"
        b"b@example.com,Europe/Berlin,maybe,B\n"
        b"c@example.com,UTC,subscribed," + b"x" * 101 + b"\n",
        mapping={"0": "email", "1": "timezone", "2": "status", "3": "first_name"},
    )

    errors = importing.import_job_errors(job=job)
    assert [(e["row"], e["column"]) for e in errors] == [
        (2, "tz"),
        (3, "status"),
        (4, "first_name"),
    ]
    assert "Unknown time zone “Mars/Olympus”" in errors[0]["reason"]
    assert "First name is longer than 100 characters." == errors[2]["reason"]


def test_values_that_do_not_fit_a_typed_attribute_are_row_errors_naming_it(in_tenant):
    """Typed attributes are checked on import as on every other write: the row is reported
    with the attribute and value named, the others are imported, an untyped name takes
    anything, and an existing contact keeps what it had."""
    from engagex.contacts.models import AttributeDefinition

    AttributeDefinition.objects.create(name="seats", type="number")
    AttributeDefinition.objects.create(name="renews", type="date")
    AttributeDefinition.objects.create(name="vip", type="boolean")
    kept = ContactFactory(email="old@example.com", attributes={"seats": 3})
    job = run_import(
        b"email,seats,renews,vip,notes\n"
        b"ann@example.com,12,31.01.2027,yes,anything\n"
        b"bob@example.com,lots,2027-01-31,no,\n"
        b"cy@example.com,4,31.02.2027,,\n"
        b"dee@example.com,,,maybe,\n"
        b"old@example.com,many,,,\n"
        b"eve@example.com,-2.5,,TRUE,x\n"
        b"fay@example.com,0012,,FALSCH,\n"
        b"gus@example.com,123456789012345678901,,vrai,\n"
    )

    errors = importing.import_job_errors(job=job)
    assert [(e["row"], e["column"]) for e in errors] == [
        (3, "seats"), (4, "renews"), (5, "vip"), (6, "seats"),
    ]  # fmt: skip
    assert errors[0]["reason"] == "Custom attribute “seats” holds numbers: “lots” is not a number."
    assert "YYYY-MM-DD" in errors[1]["reason"]
    apply(job)
    assert sorted(Contact.objects.values_list("email", flat=True)) == [
        "ann@example.com", "eve@example.com", "fay@example.com", "gus@example.com",
        "old@example.com",
    ]  # fmt: skip
    # A code with leading zeros stays as written; a big integer stays exact.
    assert Contact.objects.get(email="fay@example.com").attributes == {
        "seats": "0012", "vip": False,
    }  # fmt: skip
    assert Contact.objects.get(email="gus@example.com").attributes == {
        "seats": 123456789012345678901, "vip": True,
    }  # fmt: skip
    # Typed values are stored as their type reads them (yes → true, "12" → 12, a German
    # 31.01.2027 → 2027-01-31); the untyped "notes" stays as written.
    assert Contact.objects.get(email="ann@example.com").attributes == {
        "seats": 12, "renews": "2027-01-31", "vip": True, "notes": "anything",
    }  # fmt: skip
    assert Contact.objects.get(email="eve@example.com").attributes == {
        "seats": -2.5, "vip": True, "notes": "x",
    }  # fmt: skip
    kept.refresh_from_db()
    assert kept.attributes == {"seats": 3}


def test_a_typed_attribute_inside_a_json_attributes_column_is_checked(in_tenant):
    from engagex.contacts.models import AttributeDefinition

    AttributeDefinition.objects.create(name="seats", type="number")
    job = run_import(
        b'email,attributes\nann@example.com,"{""seats"": 5}"\n'
        b'bob@example.com,"{""seats"": ""x""}"\n',
        mapping={"0": "email", "1": "attributes_json"},
    )
    errors = importing.import_job_errors(job=job)
    assert [(e["row"], e["column"]) for e in errors] == [(3, "seats")]
    apply(job)
    assert list(Contact.objects.values_list("email", flat=True)) == ["ann@example.com"]


@pytest.mark.parametrize("delimiter", [",", ";", "\t", "|"])
def test_any_delimiter_is_detected(in_tenant, delimiter):
    rows = [["email", "first_name"], ["ann@example.com", "Ann"], ["bob@example.com", "Bob"]]
    data = "\n".join(delimiter.join(r) for r in rows).encode()

    job = run_import(data)

    assert job.delimiter == delimiter
    assert job.counts["new"] == 2


def test_utf8_with_bom_and_latin1_files_are_read_correctly(in_tenant):
    bom = run_import("\ufeffEmail,First name\nzoe@example.com,Zoë\n".encode())
    latin = run_import("Email,First name\nrene@example.com,René\n".encode("latin-1"))
    apply(bom)
    apply(latin)

    assert bom.headers[0] == "Email"
    assert latin.encoding == "latin-1"
    assert "not valid UTF-8" in latin.counts["notices"][0]
    assert Contact.objects.get(email="zoe@example.com").first_name == "Zoë"
    assert Contact.objects.get(email="rene@example.com").first_name == "René"


def test_xlsx_import(in_tenant):
    workbook = Workbook()
    sheet = workbook.active
    sheet.append(["E-mail", "First Name", "Score"])
    sheet.append(["ann@example.com", "Ann", 42])
    sheet.append(["bob@example.com", "Bob", None])
    buffer = io.BytesIO()
    workbook.save(buffer)

    job = run_import(buffer.getvalue(), name="people.xlsx")
    apply(job)

    assert job.file_format == "xlsx"
    assert Contact.objects.get(email="ann@example.com").attributes == {"Score": 42}
    assert Contact.objects.count() == 2


def test_json_import(in_tenant):
    data = json.dumps(
        [{"email": "ann@example.com", "fname": "Ann", "plan": "gold"}, {"email": "x"}]
    )

    job = run_import(data.encode(), name="people.json")
    apply(job)

    assert (job.counts["new"], job.counts["invalid"]) == (1, 1)
    assert Contact.objects.get().attributes == {"plan": "gold"}


def test_unknown_columns_can_be_ignored(in_tenant):
    job = importing.import_job_create(
        upload=upload("p.csv", b"email,Company\nann@example.com,Acme\n")
    )
    importing.import_job_configure(
        job=job, mapping=job.mapping, update_existing=True, unknown_columns="ignore"
    )
    importing.import_job_validate(job=job)
    apply(job)

    assert Contact.objects.get().attributes == {}


# --- bad files -----------------------------------------------------------------------------
@pytest.mark.parametrize(
    ("name", "data", "message"),
    [
        ("empty.csv", b"", "The file is empty."),
        ("blank.csv", b"\n\n  \n", "The file is empty."),
        ("header.csv", b"email,first_name\n", "The file has a header row but no contact rows."),
        ("fake.csv", b"PK\x03\x04" + b"\x00" * 100, "it is a ZIP/Excel file"),
        ("garbage.csv", bytes(range(256)) * 40, "it contains binary data"),
        ("fake.xlsx", b"email\nann@example.com\n", "is not a valid Excel .xlsx workbook"),
        ("broken.json", b'[{"email": "a@b.co",}]', "is not valid JSON"),
        ("shape.json", b'{"email": "a@b.co"}', "must be a list of objects"),
        ("people.pdf", b"%PDF-1.7", "is not a supported file type"),
    ],
)
def test_bad_files_get_a_clear_message_and_store_nothing(in_tenant, name, data, message):
    with pytest.raises(ValidationError) as error:
        importing.import_job_create(upload=upload(name, data))

    assert message in " ".join(error.value.messages)
    assert ImportJob.objects.count() == 0
    assert Contact.objects.count() == 0


def test_invalid_utf8_is_refused_when_utf8_is_chosen(in_tenant):
    data = b"email,first_name\nann@example.com,Caf\xc3\x28\n"

    with pytest.raises(ValidationError, match=r"not valid UTF-8 \(line 2: byte 0xc3"):
        importing.import_job_create(upload=upload("p.csv", data), encoding="utf-8")


def test_file_over_the_size_limit_is_refused_naming_the_limit(in_tenant, settings):
    settings.IMPORT_MAX_UPLOAD_BYTES = 1024

    with pytest.raises(ValidationError) as error:
        importing.import_job_create(upload=upload("big.csv", b"email\n" + b"a@example.com\n" * 147))

    assert error.value.messages == [
        "The file is 2.0\xa0KB; the largest file you can import is 1.0\xa0KB."
    ]


def test_200mb_upload_is_refused_by_the_default_limit(in_tenant):
    class Huge:
        name = "huge.csv"
        size = 200 * 1024 * 1024

    with pytest.raises(ValidationError, match="largest file you can import is 150"):
        reading.inspect_file(io.BytesIO(b"email\n"), name=Huge.name, size=Huge.size)


def test_header_with_too_many_columns_is_refused(in_tenant):
    header = ",".join(f"c{i}" for i in range(10_000)).encode()

    with pytest.raises(ValidationError, match="The header has 10,001 columns; at most 200"):
        importing.import_job_create(upload=upload("wide.csv", b"email," + header + b"\na@b.co\n"))


def test_a_row_with_10000_cells_is_rejected_with_its_row_number(in_tenant):
    wide_row = b"b@example.com," + b",".join(b"x" for _ in range(10_000))
    job = run_import(b"email,first_name\na@example.com,A\n" + wide_row + b"\n")

    errors = importing.import_job_errors(job=job)
    assert job.counts["new"] == 1
    assert errors[0]["row"] == 3
    assert errors[0]["reason"] == "The row has 10,001 cells but the header has 2 columns."


def test_no_email_column_is_a_mapping_error(in_tenant):
    job = importing.import_job_create(upload=upload("p.csv", b"name,company\nAnn,Acme\n"))

    with pytest.raises(ValidationError) as error:
        importing.import_job_configure(job=job, mapping=job.mapping, update_existing=True)

    assert error.value.messages == [NO_EMAIL_COLUMN]


def test_invalid_utf8_late_in_a_large_file_fails_the_job_without_changes(in_tenant, monkeypatch):
    monkeypatch.setattr(reading, "SAMPLE_BYTES", 64)
    data = (
        b"email\n"
        + b"".join(f"p{i}@example.com\n".encode() for i in range(20))
        + b"bad\xff@x.com\n"
    )

    job = run_import(data, encoding="utf-8")

    assert job.status == ImportJob.Status.FAILED
    assert "not valid UTF-8 (line 22" in job.error_message
    assert Contact.objects.count() == 0


# --- resumability ----------------------------------------------------------------------------
def test_apply_interrupted_midway_resumes_without_duplicates(in_tenant, monkeypatch):
    monkeypatch.setattr(importing, "APPLY_CHUNK_ROWS", 3)  # rows 2-3, 4-6 (row 1: header)
    job = run_import(b"email\n" + b"".join(f"p{i}@example.com\n".encode() for i in range(5)))
    importing.import_job_confirm(job=job)
    original = importing._apply_range
    calls = {"n": 0}

    def crash_on_second_range(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise ConnectionError("worker lost its database connection")
        return original(*args, **kwargs)

    monkeypatch.setattr(importing, "_apply_range", crash_on_second_range)
    importing.import_job_apply(job=job)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.IMPORTING  # left for the sweeper to resume
    assert job.error_message == str(importing.INTERRUPTED)
    assert Contact.objects.count() == 2  # the first range only, never half a range

    importing.import_job_apply(job=job)

    assert job.status == ImportJob.Status.DONE
    assert Contact.objects.count() == 5


# --- background path through tasks -----------------------------------------------------------
def test_large_files_validate_and_apply_in_tasks_and_notify(
    tenant, owner_client, owner, settings, django_capture_on_commit_callbacks
):
    settings.IMPORT_BACKGROUND_ROWS = 2
    data = b"email,first_name\n" + b"".join(f"p{i}@example.com,P{i}\n".encode() for i in range(6))
    add = reverse("admin:contacts_importjob_add", urlconf="config.urls_tenants")
    response = owner_client.post(add, {"file": upload("big.csv", data), "encoding": "auto"})
    job_url = response["Location"]
    with schema_context(tenant.schema_name):
        job = ImportJob.objects.get()
    queued = OrmQ.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(job_url, MAPPING_POST)
    assert OrmQ.objects.count() == queued + 1
    contacts_import_validate(tenant.schema_name, job.pk)
    with django_capture_on_commit_callbacks(execute=True):
        page = owner_client.post(job_url, {"step": "confirm"}, follow=True)
    assert OrmQ.objects.count() == queued + 2
    assert "Importing" in page.content.decode()
    contacts_import_apply(tenant.schema_name, job.pk)

    with schema_context(tenant.schema_name):
        job.refresh_from_db()
        assert job.status == ImportJob.Status.DONE
        assert Contact.objects.count() == 6
        titles = list(Notification.objects.filter(recipient=owner).values_list("title", flat=True))
        assert "Import finished: 6 new, 0 updated, 0 rejected" in titles
        assert "Import ready to confirm: big.csv" in titles


# --- the admin pages -------------------------------------------------------------------------
def test_admin_upload_map_preview_confirm(tenant, owner_client):
    add = reverse("admin:contacts_importjob_add", urlconf="config.urls_tenants")
    data = b"E-mail;FNAME\nann@example.com;Ann\nbroken;Bob\n"

    response = owner_client.post(add, {"file": upload("people.csv", data), "encoding": "auto"})
    job_url = response["Location"]
    mapping_page = owner_client.get(job_url).content.decode()
    assert "Map the columns" in mapping_page
    assert 'value="email" selected' in mapping_page

    preview = owner_client.post(
        job_url, {"step": "configure", "column_0": "email", "column_1": "first_name",
                  "unknown_columns": "attributes", "update_existing": "on"}, follow=True,
    ).content.decode()  # fmt: skip
    assert "Dry run: what the import will do" in preview
    assert "“broken” is not a valid email address." in preview
    with schema_context(tenant.schema_name):
        assert Contact.objects.count() == 0

    report = owner_client.get(
        job_url.rstrip("/").rsplit("/", 2)[0] + f"/{_job_id(job_url)}/errors.csv"
    )
    assert b"broken" in b"".join(report.streaming_content)

    done = owner_client.post(job_url, {"step": "confirm"}, follow=True).content.decode()
    assert "Import finished" in done
    with schema_context(tenant.schema_name):
        assert list(Contact.objects.values_list("email", flat=True)) == ["ann@example.com"]


def test_the_import_page_describes_the_file_in_words(tenant, owner_client):
    add = reverse("admin:contacts_importjob_add", urlconf="config.urls_tenants")
    data = "\ufeffE-Mail;Vorname\nann@example.com;Änne\n".encode()

    job_url = owner_client.post(add, {"file": upload("leute.csv", data), "encoding": "auto"})[
        "Location"
    ]

    page = owner_client.get(job_url).content.decode()
    assert "CSV · UTF-8 · semicolon-separated" in page
    assert "utf-8-sig" not in page


def test_a_viewer_cannot_download_the_rejected_rows(tenant, owner_client, make_member):
    # given: a dry run with a rejected row (its file holds the row's address and name)
    add = reverse("admin:contacts_importjob_add", urlconf="config.urls_tenants")
    data = b"email,first_name\nann@example.com,Ann\nbroken,Bob Secret\n"
    job_url = owner_client.post(add, {"file": upload("people.csv", data), "encoding": "auto"})[
        "Location"
    ]
    owner_client.post(job_url, MAPPING_POST)
    viewer = logged_in_client(tenant, make_member(roles.VIEWER))
    report_url = job_url.rstrip("/").rsplit("/", 2)[0] + f"/{_job_id(job_url)}/errors.csv"

    # when
    page = viewer.get(job_url).content.decode()
    report = viewer.get(report_url)

    # then: the viewer sees the page but not the download
    assert "“broken” is not a valid email address." in page
    assert "Download rejected rows" not in page
    assert report.status_code == 403
    assert "Download rejected rows" in owner_client.get(job_url).content.decode()


def test_admin_upload_shows_file_errors_on_the_form(tenant, owner_client):
    add = reverse("admin:contacts_importjob_add", urlconf="config.urls_tenants")

    response = owner_client.post(add, {"file": upload("empty.csv", b"email\n"), "encoding": "auto"})

    assert response.status_code == 200
    assert "The file has a header row but no contact rows." in response.content.decode()


def test_admin_mapping_without_email_shows_an_error(tenant, owner_client):
    add = reverse("admin:contacts_importjob_add", urlconf="config.urls_tenants")
    job_url = owner_client.post(
        add, {"file": upload("p.csv", b"email,x\na@b.co,1\n"), "encoding": "auto"}
    )["Location"]

    response = owner_client.post(
        job_url,
        {
            "step": "configure",
            "column_0": "",
            "column_1": "attribute",
            "unknown_columns": "attributes",
        },
    )

    assert str(NO_EMAIL_COLUMN) in response.content.decode()


def test_viewer_cannot_upload_or_confirm(tenant, make_member):
    from engagex.accounts import roles
    from tests.fixtures.tenants import logged_in_client

    viewer = logged_in_client(tenant, make_member(roles.VIEWER))
    add = reverse("admin:contacts_importjob_add", urlconf="config.urls_tenants")

    response = viewer.post(add, {"file": upload("p.csv", b"email\na@b.co\n"), "encoding": "auto"})

    assert response.status_code == 403
    with schema_context(tenant.schema_name):
        assert ImportJob.objects.count() == 0


def _job_id(url: str) -> str:
    return re.search(r"/(\d+)/", url).group(1)


def test_abandoned_dry_runs_are_cancelled_by_the_daily_cleanup(in_tenant):
    from datetime import timedelta

    from django.utils import timezone

    from engagex.contacts.tasks import contacts_imports_cleanup

    job = run_import(b"email\na@example.com\n")
    ImportJob.objects.filter(pk=job.pk).update(updated_at=timezone.now() - timedelta(days=3))
    fresh = run_import(b"email\nb@example.com\n")

    assert contacts_imports_cleanup() == 1

    job.refresh_from_db()
    fresh.refresh_from_db()
    assert job.status == ImportJob.Status.CANCELLED
    assert fresh.status == ImportJob.Status.VALIDATED
    assert not importing._stage_exists(job)


def test_the_rejected_rows_file_speaks_the_workspaces_language(tenant, owner_client):
    """Its header names the columns as the import page does, in the workspace's language,
    not the importer's internal field names."""
    type(tenant).objects.filter(pk=tenant.pk).update(default_language="de")
    owner_client.cookies["django_language"] = "es"  # whoever imports, in whatever language
    add = reverse("admin:contacts_importjob_add", urlconf="config.urls_tenants")
    data = b"email,first_name\nann@example.com,Ann\nbroken,Bob\n"
    job_url = owner_client.post(add, {"file": upload("people.csv", data), "encoding": "auto"})[
        "Location"
    ]
    owner_client.post(job_url, MAPPING_POST)

    report = owner_client.get(
        job_url.rstrip("/").rsplit("/", 2)[0] + f"/{_job_id(job_url)}/errors.csv"
    )

    header = b"".join(report.streaming_content).decode().splitlines()[0]
    assert header == (
        "Zeile,email,first_name,Nachname,Telefon,Sprache,Zeitzone,Status,Spalte,Grund"
    )
