"""The mapping guess (localised headers, EngageX's own export), opt-outs that carry over, and
re-imports that compare values allowing for the file's type."""

import datetime

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from engagex.contacts.models import Contact, ContactStatus, ImportJob
from engagex.contacts.services import importing
from engagex.contacts.services.mapping import ATTRIBUTE, mapping_guess
from tests.factories.contacts import ContactFactory

# EngageX's export after issue 14: fixed columns, then one column per custom attribute.
EXPORT_HEADERS = [
    "Email", "First name", "Last name", "Phone", "Language", "Time zone", "Status",
    "Status changed", "Consent given", "Consent source", "Created", "Groups",
]  # fmt: skip


def run(data: bytes, name="people.csv", update_existing=True, **options):
    job = importing.import_job_create(upload=SimpleUploadedFile(name, data), **options)
    importing.import_job_configure(job=job, mapping=job.mapping, update_existing=update_existing)
    importing.import_job_validate(job=job)
    assert job.status == ImportJob.Status.VALIDATED, job.error_message
    return job


def apply(job):
    importing.import_job_confirm(job=job)
    return importing.import_job_apply(job=job)


@pytest.mark.parametrize(
    ("headers", "expected"),
    [
        (["Vorname", "Nachname", "E-Mail-Adresse", "Telefon", "Sprache"],
         ["first_name", "last_name", "email", "phone", "language"]),
        (["Prénom", "Nom", "Courriel", "Téléphone", "Adresse e-mail"],
         ["first_name", "last_name", "email", "phone", ATTRIBUTE]),
        (["Nombre", "Apellidos", "Correo electrónico", "Teléfono", "Zona horaria"],
         ["first_name", "last_name", "email", "phone", "timezone"]),
        (["E-Mail", "Vorname", "Name", "Handy"], ["email", "first_name", "last_name", "phone"]),
        (["Email", "Name"], ["email", "full_name"]),
        (["Home Phone", "E-mail Address", "Mobile Phone"], [ATTRIBUTE, "email", "phone"]),
    ],
)  # fmt: skip
def test_localised_headers_are_mapped(headers, expected):
    assert list(mapping_guess(headers).values()) == expected


def test_a_german_file_fills_first_and_last_name_not_attributes(in_tenant):
    job = run("Vorname;Nachname;E-Mail-Adresse\nJürgen;Weiß;j@example.de\n".encode())
    apply(job)

    contact = Contact.objects.get()
    assert (contact.first_name, contact.last_name, contact.attributes) == ("Jürgen", "Weiß", {})


def test_engagex_export_headers_map_to_fields_and_leave_metadata_out():
    mapping = mapping_guess([*EXPORT_HEADERS, "Company", "Score"])

    assert list(mapping.values()) == [
        "email", "first_name", "last_name", "phone", "language", "timezone", "status",
        "", "", "", "", "",  # status changed, consent, created, groups: not attributes
        ATTRIBUTE, ATTRIBUTE,
    ]  # fmt: skip


def test_reimporting_an_export_changes_nothing_and_keeps_attribute_types(in_tenant):
    group = "VIP"
    contact = ContactFactory(
        email="ann@example.com",
        first_name="Ann",
        last_name="Lee",
        status=ContactStatus.SUBSCRIBED,
        attributes={"Score": 3, "Joined": "2024-03-15", "VIP": True, "Ratio": 0.5, "City": "Rome"},
    )
    before = Contact.objects.values().get(pk=contact.pk)
    header = ",".join([*EXPORT_HEADERS, "Score", "Joined", "VIP", "Ratio", "City"])
    row = (
        "ann@example.com,Ann,Lee,,,,subscribed,2024-03-15 10:00,2024-03-15 10:00,admin,"
        f"2024-03-15 10:00,{group},3,2024-03-15,True,0.50, Rome "
    )

    job = run(f"{header}\n{row}\n".encode())
    apply(job)

    assert (job.counts["unchanged"], job.counts["update"]) == (1, 0)
    after = Contact.objects.values().get(pk=contact.pk)
    assert {k: v for k, v in after.items() if k != "updated_at"} == {
        k: v for k, v in before.items() if k != "updated_at"
    }


def test_an_update_keeps_the_stored_type_of_attributes_the_file_repeats(in_tenant):
    ContactFactory(email="ann@example.com", first_name="Ann", attributes={"Score": 3, "Old": 1})

    job = run(b"email,first_name,Score,Plan\nann@example.com,Anna,3,gold\n")
    apply(job)

    assert job.counts["update"] == 1
    contact = Contact.objects.get()
    assert contact.first_name == "Anna"
    assert contact.attributes == {"Score": 3, "Old": 1, "Plan": "gold"}


def test_a_changed_value_of_another_type_is_an_update(in_tenant):
    ContactFactory(email="ann@example.com", attributes={"Score": 3})

    job = run(b"email,Score\nann@example.com,4\n")
    apply(job)

    assert job.counts["update"] == 1
    assert Contact.objects.get().attributes == {"Score": "4"}


# --- opt-outs ---------------------------------------------------------------------------------
def test_opt_outs_apply_even_when_existing_contacts_are_not_updated(in_tenant):
    ContactFactory(email="ann@example.com", first_name="Ann")

    job = run(
        b"Email Address,First Name,UNSUB_TIME\nann@example.com,Changed,2024-02-11 08:59:58\n",
        update_existing=False,
    )
    apply(job)

    assert job.counts["update"] == 1
    ann = Contact.objects.get()
    assert (ann.status, ann.first_name) == ("unsubscribed", "Ann")
    assert ann.status_source == "import: people.csv (UNSUB_TIME)"
    assert ann.status_changed_at == datetime.datetime(2024, 2, 11, 8, 59, 58, tzinfo=datetime.UTC)


def test_an_import_never_makes_a_status_less_severe(in_tenant):
    ContactFactory(email="gone@example.com", status=ContactStatus.BOUNCED)

    job = run(b"email,status\ngone@example.com,unsubscribed\n")
    apply(job)

    assert job.counts["unchanged"] == 1
    assert Contact.objects.get().status == ContactStatus.BOUNCED


@pytest.mark.parametrize(
    ("cell", "status"),
    [("Abgemeldet", "unsubscribed"), ("cleaned", "bounced"), ("Blocklisted", "unsubscribed"),
     ("Marked as spam", "complained"), ("Enabled", "subscribed"), ("Désabonné", "unsubscribed")],
)  # fmt: skip
def test_other_tools_status_words_are_understood(in_tenant, cell, status):
    job = run(f"email,status\nann@example.com,{cell}\n".encode())
    apply(job)

    assert Contact.objects.get().status == status


def test_pending_members_never_confirmed_and_are_not_imported(in_tenant):
    job = run(b"email,status\nann@example.com,pending\nbob@example.com,subscribed\n")

    assert (job.counts["new"], job.counts["invalid"]) == (1, 1)
    assert importing.import_job_errors(job=job)[0]["reason"] == (
        "Status “pending”: this person never confirmed a subscription (or is archived), so "
        "they are not imported."
    )


def test_a_file_of_unsubscribed_members_can_be_told_as_such(in_tenant):
    job = run(b"email\nann@example.com\n", name="export.csv", file_status="unsubscribed")
    apply(job)

    ann = Contact.objects.get()
    assert (ann.status, ann.status_source, ann.consent_at) == (
        "unsubscribed",
        "import: export.csv",
        None,
    )
    assert job.counts["opted_out"] == {"unsubscribed": 1, "bounced": 0, "complained": 0}


def test_the_dry_run_page_says_who_is_imported_opted_out(tenant, owner_client):
    from django.urls import reverse
    from django_tenants.utils import schema_context

    add = reverse("admin:contacts_importjob_add", urlconf="config.urls_tenants")
    data = b"Email,Unsubscribed from all email\na@example.com,true\nb@example.com,false\n"
    url = owner_client.post(add, {"file": SimpleUploadedFile("hs.csv", data), "encoding": "auto"})[
        "Location"
    ]
    page = owner_client.post(
        url,
        {"step": "configure", "column_0": "email", "column_1": "unsubscribed",
         "unknown_columns": "attributes", "update_existing": "on", "file_status": ""},
        follow=True,
    ).content.decode()  # fmt: skip

    assert "1 contact in this file unsubscribed, bounced or complained" in page
    assert "1 unsubscribed." in page
    with schema_context(tenant.schema_name):
        assert Contact.objects.count() == 0


def test_excel_unicode_text_utf16_tab_separated_is_read(in_tenant):
    data = "E-Mail\tVorname\nzoe@example.de\tZoë\n".encode("utf-16")

    job = run(data, name="unicode.txt")
    apply(job)

    assert (job.encoding, job.delimiter) == ("utf-16", "\t")
    assert Contact.objects.get().first_name == "Zoë"


def test_a_csv_cells_formula_guard_quote_is_dropped_and_other_quotes_kept(in_tenant):
    data = b"email,first_name,last_name,Note,Nick\nann@example.com,'@ann,'+Lee,'=1+1,'Annie\n"

    apply(run(data))

    contact = Contact.objects.get()
    assert (contact.first_name, contact.last_name) == ("@ann", "+Lee")
    assert contact.attributes == {"Note": "=1+1", "Nick": "'Annie"}


def test_lists_and_objects_written_as_json_text_import_as_values(in_tenant):
    data = (
        b"email,Tags,Address,Label,Broken\n"
        b'ann@example.com,"[""a"", ""b""]","{""city"": ""Rome""}",[Gold],"[1, 2"\n'
    )

    apply(run(data))

    assert Contact.objects.get().attributes == {
        "Tags": ["a", "b"],
        "Address": {"city": "Rome"},
        "Label": "[Gold]",
        "Broken": "[1, 2",
    }
