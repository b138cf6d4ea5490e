"""Importing into lists: the importer says how the people agreed (issue 16), and the file's
consent columns become each membership's evidence."""

import datetime
import re
from pathlib import Path

import pytest
from django.contrib.admin.models import LogEntry
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils.html import escape
from django_q.models import OrmQ
from django_tenants.utils import schema_context

from engagex.contacts.models import Contact, ContactStatus, ImportJob, Membership
from engagex.contacts.services import importing, lists
from engagex.contacts.services.mapping import (
    DOUBLE_MAPPED,
    FULL_NAME_AND_PARTS,
    NO_EMAIL_COLUMN,
    mapping_guess,
)
from engagex.contacts.tasks import contacts_confirmation_request
from engagex.core.audit import audit_parse
from tests.factories.contacts import ContactFactory, ContactGroupFactory

CORPUS = Path(__file__).parent / "corpus"
MAILCHIMP = CORPUS / "mailchimp" / "subscribed_members_export_4f2a1c9e.csv"
UTC = datetime.UTC
PERMISSION = "I have their permission to email them"


@pytest.fixture
def sent_confirmations():
    """Stand in for the sign-up app's sender: record the memberships it is handed."""
    handed: list[list[int]] = []

    def sender(*, memberships):
        handed.append([m.pk for m in memberships])

    lists.register_confirmation_sender(sender)
    yield handed
    lists._CONFIRMATION_SENDERS.remove(sender)


def queued_confirmations(tenant) -> list[list[int]]:
    """The membership ids of each queued confirmation task, in queue order."""
    batches = []
    for queued in OrmQ.objects.order_by("id"):
        task = queued.task
        if task["func"].endswith("contacts_confirmation_request"):
            assert task["args"][0] == tenant.schema_name
            batches.append(list(task["args"][1]))
    return batches


def upload_to_mapping(client, path_or_name, data=None) -> tuple[str, int]:
    name = path_or_name.name if isinstance(path_or_name, Path) else path_or_name
    body = path_or_name.read_bytes() if data is None else data
    add = reverse("admin:contacts_importjob_add", urlconf="config.urls_tenants")
    response = client.post(add, {"file": SimpleUploadedFile(name, body), "encoding": "auto"})
    assert response.status_code == 302, response.content.decode()[:2000]
    return response["Location"], int(re.search(r"/(\d+)/", response["Location"]).group(1))


def configure(client, tenant, job_url, job_id, **extra):
    with schema_context(tenant.schema_name):
        job = ImportJob.objects.get(pk=job_id)
    proposed = {f"column_{i}": field for i, field in job.mapping.items()}
    return client.post(
        job_url,
        {
            "step": "configure",
            "unknown_columns": "attributes",
            "update_existing": "on",
            "file_status": job.file_status,
            **proposed,
            **extra,
        },
        follow=True,
    )


def test_mailchimps_consent_columns_are_mapped_by_their_headers():
    headers = ["Email Address", "OPTIN_TIME", "OPTIN_IP", "CONFIRM_TIME", "CONFIRM_IP"]

    assert mapping_guess(headers) == {
        "0": "email",
        "1": "consent_at",
        "2": "consent_ip",
        "3": "confirmed_at",
        "4": "confirm_ip",
    }
    assert mapping_guess(["E-Mail", "Consent date", "Consent IP"]) == {
        "0": "email",
        "1": "consent_at",
        "2": "consent_ip",
    }


def test_console_import_into_two_lists_with_permission_keeps_the_files_consent_evidence(
    tenant, owner, owner_client
):
    with schema_context(tenant.schema_name):
        news = ContactGroupFactory(name="Newsletter")
        offers = ContactGroupFactory(name="Offers")
    job_url, job_id = upload_to_mapping(owner_client, MAILCHIMP)
    page = owner_client.get(job_url).content.decode()

    dry_run = configure(
        owner_client,
        tenant,
        job_url,
        job_id,
        groups=[news.pk, offers.pk],
        list_consent="permission",
    )
    done = owner_client.post(job_url, {"step": "confirm"}, follow=True)

    assert "How did the people in this file agree to get email from you?" in page
    assert "Ask each of them to confirm by email (double opt-in)" in page
    assert "confirmed having their permission to email them" in dry_run.content.decode()
    assert "Import finished" in done.content.decode()
    with schema_context(tenant.schema_name):
        job = ImportJob.objects.get(pk=job_id)
        assert (job.list_consent, job.list_consent_confirmed_by) == ("permission", owner)
        assert job.list_consent_text == PERMISSION
        assert job.list_consent_at is not None
        members = {
            (m.contact.email, m.group.name): (
                m.status, m.source, m.consent_at, m.consent_ip, m.confirmed_at, m.consent_text
            )
            for m in Membership.objects.select_related("contact", "group")
        }  # fmt: skip
        assert queued_confirmations(tenant) == []  # nobody is asked to confirm
        audit = LogEntry.objects.filter(object_id=str(job_id)).latest("pk")
        assert audit.user == owner
        assert audit_parse(audit)[1] == (
            "subscribed_members_export_4f2a1c9e.csv: 3 new, 0 updated, 1 rejected"
            f" · Newsletter, Offers: “{PERMISSION}”"
        )
    ana = (
        "subscribed",
        "import",
        datetime.datetime(2023, 1, 10, 9, 15, 2, tzinfo=UTC),
        "83.45.1.2",
        datetime.datetime(2023, 1, 10, 9, 16, 40, tzinfo=UTC),
        PERMISSION,
    )
    jurgen = ("subscribed", "import", datetime.datetime(2023, 5, 2, 18, 1, 44, tzinfo=UTC),
              "91.64.2.3", None, PERMISSION)  # fmt: skip
    assert members[("ana.garcia@example.es", "Newsletter")] == ana
    assert members[("ana.garcia@example.es", "Offers")] == ana
    assert members[("jurgen.mueller@example.de", "Offers")] == jurgen
    assert len(members) == 6  # 3 imported rows × 2 lists (the row without email is rejected)


def test_choosing_lists_without_saying_how_they_agreed_is_refused_and_changes_nothing(
    tenant, owner_client
):
    with schema_context(tenant.schema_name):
        news = ContactGroupFactory(name="Newsletter")
    job_url, job_id = upload_to_mapping(owner_client, MAILCHIMP)

    response = configure(owner_client, tenant, job_url, job_id, groups=[news.pk])

    assert response.status_code == 200
    assert str(importing.LIST_CONSENT_REQUIRED) in response.content.decode()
    with schema_context(tenant.schema_name):
        job = ImportJob.objects.get(pk=job_id)
        assert job.status == ImportJob.Status.MAPPING
        assert (job.list_consent, list(job.target_groups.all())) == ("", [])
        assert Contact.objects.count() == Membership.objects.count() == 0


@pytest.mark.parametrize(
    ("columns", "with_lists", "errors"),
    [
        (["email", "first_name", "last_name"], True,
         {"list_consent": [str(importing.LIST_CONSENT_REQUIRED)]}),
        (["", "first_name", "last_name"], False, {"__all__": [str(NO_EMAIL_COLUMN)]}),
        (["email", "first_name", "first_name"], False,
         {"__all__": [str(DOUBLE_MAPPED).format(field="First name", columns="first, last")]}),
        # The mapping is refused first: the consent answer is asked for once it is usable.
        (["email", "full_name", "last_name"], True, {"__all__": [str(FULL_NAME_AND_PARTS)]}),
    ],
)  # fmt: skip
def test_a_refused_mapping_shows_the_form_again_with_each_error_on_its_field(
    tenant, owner_client, columns, with_lists, errors
):
    with schema_context(tenant.schema_name):
        news = ContactGroupFactory(name="Newsletter")
    job_url, job_id = upload_to_mapping(
        owner_client, "people.csv", b"email,first,last\nann@example.com,Ann,Lee\n"
    )
    with schema_context(tenant.schema_name):
        before = ImportJob.objects.filter(pk=job_id).values().get()

    response = owner_client.post(
        job_url,
        {
            "step": "configure",
            "unknown_columns": "attributes",
            "update_existing": "on",
            **{f"column_{i}": field for i, field in enumerate(columns)},
            **({"groups": [news.pk]} if with_lists else {}),
        },
    )

    assert response.status_code == 200
    assert response.context["form"].errors == errors
    page = response.content.decode()
    for message in [m for field_errors in errors.values() for m in field_errors]:
        assert escape(message) in page
    assert [str(m) for m in get_messages(response.wsgi_request)] == []
    with schema_context(tenant.schema_name):
        job = ImportJob.objects.get(pk=job_id)
        assert ImportJob.objects.filter(pk=job_id).values().get() == before
        assert list(job.target_groups.all()) == []
        assert Contact.objects.count() == Membership.objects.count() == 0


def test_without_lists_no_consent_choice_is_recorded(tenant, owner_client):
    job_url, job_id = upload_to_mapping(owner_client, "people.csv", b"email\nann@example.com\n")

    configure(owner_client, tenant, job_url, job_id, list_consent="double_opt_in")
    owner_client.post(job_url, {"step": "confirm"}, follow=True)

    with schema_context(tenant.schema_name):
        job = ImportJob.objects.get(pk=job_id)
        assert (job.status, job.list_consent, job.list_consent_text) == ("done", "", "")
        ann = Contact.objects.get()
        assert ann.consent_source == "import: people.csv"  # vouched, as before lists
        assert Membership.objects.count() == 0


def test_double_opt_in_import_adds_unconfirmed_members_asked_after_commit_in_batches(
    tenant, owner, owner_client, monkeypatch, sent_confirmations, django_capture_on_commit_callbacks
):
    monkeypatch.setattr(lists, "CONFIRMATION_BATCH", 2)
    with schema_context(tenant.schema_name):
        news = ContactGroupFactory(name="Newsletter")
        offers = ContactGroupFactory(name="Offers")
        member = ContactFactory(email="member@example.com")
        lists.membership_subscribe(contact=member, group=news, consent=lists.Consent(source="form"))
        left = ContactFactory(email="left@example.com")
        lists.membership_subscribe(contact=left, group=news, consent=lists.Consent(source="form"))
        lists.membership_unsubscribe(contact=left, groups=[news])
        ContactFactory(email="bounced@example.com", status=ContactStatus.BOUNCED)
    data = (
        b"email,first_name\nnew1@example.com,A\nnew2@example.com,B\nmember@example.com,M\n"
        b"left@example.com,L\nbounced@example.com,X\n"
    )
    job_url, job_id = upload_to_mapping(owner_client, "people.csv", data)
    configure(
        owner_client,
        tenant,
        job_url,
        job_id,
        groups=[news.pk, offers.pk],
        list_consent="double_opt_in",
    )

    with schema_context(tenant.schema_name):
        assert queued_confirmations(tenant) == []
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        owner_client.post(job_url, {"step": "confirm"}, follow=True)

    with schema_context(tenant.schema_name):
        statuses = {
            (m.contact.email, m.group.name): m.status
            for m in Membership.objects.select_related("contact", "group")
        }
        batches = queued_confirmations(tenant)
        unconfirmed = list(
            Membership.objects.filter(status="unconfirmed")
            .order_by("contact__email", "group__name")
            .values_list("contact__email", "group__name", "source", "consent_text")
        )
    assert statuses == {
        ("member@example.com", "Newsletter"): "subscribed",  # members keep their status
        ("left@example.com", "Newsletter"): "unsubscribed",  # and who left stays out
        ("member@example.com", "Offers"): "unconfirmed",
        ("left@example.com", "Offers"): "unconfirmed",
        ("new1@example.com", "Newsletter"): "unconfirmed",
        ("new1@example.com", "Offers"): "unconfirmed",
        ("new2@example.com", "Newsletter"): "unconfirmed",
        ("new2@example.com", "Offers"): "unconfirmed",
    }  # the bounced contact joins no list and is not emailed
    text = "Ask each of them to confirm by email (double opt-in)"
    assert [row[2:] for row in unconfirmed] == [("import", text)] * 6
    assert callbacks  # the tasks were queued after the commit, not during the run
    assert [len(batch) for batch in batches] == [2, 2, 2]
    with schema_context(tenant.schema_name):
        asked_ids = set(
            Membership.objects.filter(status="unconfirmed").values_list("pk", flat=True)
        )
        new1 = set(
            Membership.objects.filter(contact__email="new1@example.com").values_list(
                "pk", flat=True
            )
        )
    assert {pk for batch in batches for pk in batch} == asked_ids
    assert set(batches[0]) == new1  # a contact's two lists go together

    with django_capture_on_commit_callbacks(execute=True):  # the tasks run in autocommit
        for batch in batches:
            contacts_confirmation_request(tenant.schema_name, batch)

    assert [sorted(b) for b in sent_confirmations] == [sorted(b) for b in batches]
    with schema_context(tenant.schema_name):
        new = Contact.objects.get(email="new1@example.com")
        assert (new.status, new.consent_at, new.consent_source) == ("subscribed", None, "")


def test_permission_import_leaves_a_member_who_unsubscribed_unsubscribed(in_tenant):
    news = ContactGroupFactory(name="Newsletter")
    left = ContactFactory(email="left@example.com")
    lists.membership_subscribe(contact=left, group=news, consent=lists.Consent(source="form"))
    lists.membership_unsubscribe(contact=left, groups=[news])
    job = importing.import_job_create(
        upload=SimpleUploadedFile("people.csv", b"email\nleft@example.com\nnew@example.com\n")
    )
    importing.import_job_configure(
        job=job, mapping=job.mapping, update_existing=True, groups=[news],
        list_consent="permission",
    )  # fmt: skip
    importing.import_job_validate(job=job)
    importing.import_job_confirm(job=job)
    importing.import_job_apply(job=job)

    assert dict(Membership.objects.values_list("contact__email", "status")) == {
        "left@example.com": "unsubscribed",
        "new@example.com": "subscribed",
    }


def test_a_services_caller_without_a_consent_answer_is_refused_before_anything_is_stored(
    in_tenant,
):
    news = ContactGroupFactory(name="Newsletter")

    with pytest.raises(ValidationError, match="say how the people in this file agreed") as raised:
        importing.import_job_create(
            upload=SimpleUploadedFile("people.csv", b"email\nann@example.com\n"),
            unattended=True,
            groups=[news],
        )

    assert raised.value.message_dict == {"list_consent": [str(importing.LIST_CONSENT_REQUIRED)]}
    assert ImportJob.objects.count() == Contact.objects.count() == 0


def test_bad_consent_cells_are_row_errors_naming_the_row_and_column(tenant, owner_client):
    with schema_context(tenant.schema_name):
        news = ContactGroupFactory(name="Newsletter")
    data = (
        b"Email,Consent date,Consent IP\n"
        b"ok@example.com,2024-03-15 10:00:00,2001:db8::1\n"
        b"word@example.com,last spring,\n"
        b"future@example.com,2999-01-01,\n"
        b"ip@example.com,,300.1.2.3\n"
        b"blank@example.com,,\n"
    )
    job_url, job_id = upload_to_mapping(owner_client, "people.csv", data)

    dry_run = configure(
        owner_client, tenant, job_url, job_id, groups=[news.pk], list_consent="permission"
    )

    page = dry_run.content.decode()
    with schema_context(tenant.schema_name):
        job = ImportJob.objects.get(pk=job_id)
        errors = importing.import_job_errors(job=job)
        assert Contact.objects.count() == 0  # the dry run wrote nothing
    assert [(e["row"], e["column"], e["reason"]) for e in errors] == [
        (3, "Consent date",
         "“last spring” is not a date: write it like 2024-03-15 or 2024-03-15 14:30:00 (UTC)."),
        (4, "Consent date", "2999-01-01 is in the future: a consent date cannot be."),
        (5, "Consent IP", "“300.1.2.3” is not an IP address."),
    ]  # fmt: skip
    assert "“last spring” is not a date" in page
    assert (job.counts["new"], job.counts["invalid"]) == (2, 3)

    owner_client.post(job_url, {"step": "confirm"}, follow=True)

    with schema_context(tenant.schema_name):
        members = {
            m.contact.email: (m.consent_at, m.consent_ip)
            for m in Membership.objects.select_related("contact")
        }
        ok = Contact.objects.get(email="ok@example.com")
    assert set(members) == {"ok@example.com", "blank@example.com"}
    assert members["ok@example.com"] == (
        datetime.datetime(2024, 3, 15, 10, 0, tzinfo=UTC),
        "2001:db8::1",
    )
    assert ok.consent_at == datetime.datetime(2024, 3, 15, 10, 0, tzinfo=UTC)


def test_addresses_added_or_deleted_after_the_dry_run_are_applied_as_they_now_are(in_tenant):
    """A form adds b@ and c@ between the dry run and the import, and d@ is deleted: b@ and
    c@ are not created twice but updated as the dry run would have (c@'s opt-out applies),
    and d@ is left out instead of failing the import."""
    news = ContactGroupFactory(name="Newsletter")
    gone = ContactFactory(email="d@example.com")
    job = importing.import_job_create(
        upload=SimpleUploadedFile(
            "people.csv",
            b"email,first_name,status\na@example.com,Ann,\nb@example.com,Bea,\n"
            b"c@example.com,Cy,unsubscribed\nd@example.com,Di,\n",
        )
    )
    importing.import_job_configure(
        job=job, mapping=job.mapping, update_existing=True, groups=[news],
        list_consent="permission",
    )  # fmt: skip
    importing.import_job_validate(job=job)
    assert (job.counts["new"], job.counts["update"]) == (3, 1)
    form_b = ContactFactory(email="B@example.com", first_name="Form")
    form_c = ContactFactory(email="c@example.com", first_name="Cy")
    gone.delete()

    importing.import_job_confirm(job=job)
    importing.import_job_apply(job=job)

    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE
    assert (job.counts["new"], job.counts["update"]) == (1, 3)
    assert Contact.objects.count() == 3
    form_b.refresh_from_db()
    form_c.refresh_from_db()
    assert form_b.first_name == "Bea"
    assert form_c.status == ContactStatus.UNSUBSCRIBED
    assert sorted(Membership.objects.values_list("contact__email", flat=True)) == [
        "B@example.com",
        "a@example.com",
        "c@example.com",
    ]
