"""Erasure: the contact goes, a peppered hash of the address stays, and no import, API call
or console form brings the address back; the audit log says so without the address."""

import json

import pytest
from django.contrib.admin.models import LogEntry
from django.core.exceptions import ValidationError
from django.db import connection
from django.test import override_settings
from django.utils import timezone
from django_tenants.utils import schema_context
from psycopg import sql

from engagex.accounts.services import PERSON_ACTOR_EMAIL
from engagex.analytics.models import EmailEvent
from engagex.campaigns.models import CampaignRecipient
from engagex.contacts.models import Contact, ErasedAddress, ImportJob, Membership
from engagex.contacts.services import erasure
from engagex.contacts.services.contacts import (
    contact_bulk_upsert,
    contact_create,
    contact_update,
)
from engagex.contacts.services.erasure import ERASED, address_hash, contact_erase
from engagex.core.audit import AuditVerb, audit_parse
from tests.api.conftest import key_client
from tests.contacts.test_import import apply, run_import
from tests.factories.campaigns import CampaignFactory
from tests.factories.contacts import ContactFactory, MembershipFactory

API = "/api/v1"


def _erase(email="Erin.Erased@Example.com"):
    contact = ContactFactory(email=email)
    MembershipFactory(contact=contact)
    contact_erase(contact=contact, via="test")
    return contact


def test_the_sql_hash_equals_the_python_hash(in_tenant):
    address = "  MiXed.Case+Tag@Example.COM "
    condition, params = erasure.erased_rows_sql(sql.SQL("%(address)s"))
    ErasedAddress.objects.create(email_hash=address_hash("mixed.case+tag@example.com"))

    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("SELECT {}").format(condition), {**params, "address": address})
        assert cursor.fetchone()[0] is True
        cursor.execute(
            sql.SQL("SELECT {}").format(condition), {**params, "address": "other@example.com"}
        )
        assert cursor.fetchone()[0] is False


def test_erasure_deletes_the_contact_keeps_a_hash_and_audits_without_the_address(in_tenant):
    campaign = CampaignFactory()
    contact = ContactFactory(email="erin.erased@example.com", first_name="Erin")
    MembershipFactory(contact=contact)
    copy = CampaignRecipient.objects.create(
        campaign=campaign,
        contact=contact,
        email=contact.email,
        status="failed",
        error="550 <erin.erased@example.com>: no such user",
    )
    EmailEvent.objects.create(
        event_id="ev-1",
        type="bounce",
        campaign_id=campaign.pk,
        recipient_id=copy.pk,
        contact_id=contact.pk,
        occurred_at=timezone.now(),
        received_at=timezone.now(),
        reason="550 5.1.1 <erin.erased@example.com>: Recipient address rejected",
    )

    erased = contact_erase(contact=contact, via="preference centre")

    assert not Contact.objects.filter(pk=contact.pk).exists()
    assert Membership.objects.filter(contact_id=contact.pk).count() == 0
    assert list(ErasedAddress.objects.values_list("email_hash", flat=True)) == [
        address_hash("erin.erased@example.com")
    ]
    assert erased.email_hash != "erin.erased@example.com"
    # the campaign keeps its row and outcome, without the address or a link to anyone
    copy = CampaignRecipient.objects.get(campaign=campaign)
    assert (copy.contact_id, copy.email, copy.error, copy.status) == (None, "", "", "failed")
    event = EmailEvent.objects.get()
    assert (event.type, event.reason) == ("bounce", "")
    entry = LogEntry.objects.get()
    verb, detail = audit_parse(entry)
    assert verb == AuditVerb.ERASED
    assert "erin.erased@example.com" not in json.dumps([entry.change_message, entry.object_repr])
    assert "erin.erased" not in detail
    assert detail.startswith("e•••@example.com erased at the person's request")
    assert entry.user.email == PERSON_ACTOR_EMAIL
    assert (entry.user.is_active, entry.user.is_staff, entry.user.has_usable_password()) == (
        False,
        False,
        False,
    )


def test_the_team_page_does_not_list_the_preference_centre_stand_in(tenant, owner_client):
    with schema_context(tenant.schema_name):
        _erase()

    response = owner_client.get("/admin/accounts/user/")

    assert response.status_code == 200
    assert PERSON_ACTOR_EMAIL not in response.content.decode()


def test_the_console_and_api_create_refuse_an_erased_address(in_tenant):
    _erase()

    with pytest.raises(ValidationError) as refused:
        contact_create(email="erin.erased@EXAMPLE.com")

    assert refused.value.message_dict == {"email": [str(ERASED)]}
    assert Contact.objects.count() == 0


def test_changing_another_contact_to_an_erased_address_is_refused(in_tenant):
    _erase()
    other = ContactFactory(email="other@example.com")

    with pytest.raises(ValidationError):
        contact_update(contact=other, email="ERIN.erased@example.com")

    other.refresh_from_db()
    assert other.email == "other@example.com"


def test_a_sign_up_with_new_consent_may_pass_an_erased_address(in_tenant):
    _erase()

    contact = contact_create(email="erin.erased@example.com", allow_erased=True, source="form")

    assert Contact.objects.get().pk == contact.pk


def test_the_api_refuses_an_erased_address_and_bulk_upsert_skips_it(tenant, owner):
    api = key_client(tenant, user=owner)
    with schema_context(tenant.schema_name):
        _erase()

    created = api.post(
        f"{API}/contacts/", {"email": "erin.erased@example.com"}, content_type="application/json"
    )
    bulk = api.post(
        f"{API}/contacts/bulk-upsert/",
        {"contacts": [{"email": "Erin.Erased@example.com"}, {"email": "new@example.com"}]},
        content_type="application/json",
    )

    assert created.status_code == 400
    assert created.json()["error"]["fields"]["email"] == [str(ERASED)]
    assert bulk.status_code == 200
    assert bulk.json() == {"created": 1, "updated": 0, "erased": 1}
    with schema_context(tenant.schema_name):
        assert list(Contact.objects.values_list("email", flat=True)) == ["new@example.com"]


def test_bulk_upsert_still_updates_a_contact_who_signed_up_again(in_tenant):
    _erase()
    contact_create(email="erin.erased@example.com", allow_erased=True, source="form")

    result = contact_bulk_upsert(items=[{"email": "erin.erased@example.com", "first_name": "E"}])

    assert result == {"created": 0, "updated": 1, "erased": 0}
    assert Contact.objects.get().first_name == "E"


def test_an_import_skips_erased_addresses_with_a_reason(in_tenant):
    _erase()
    data = b"email,first_name\nann@example.com,Ann\nERIN.ERASED@example.com,Erin\n"

    job = run_import(data)

    assert (job.counts["new"], job.counts["invalid"]) == (1, 1)
    errors = run_errors(job)
    assert errors == [(3, "email", str(erasure.ERASED_IN_IMPORT))]
    apply(job)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE
    assert list(Contact.objects.values_list("email", flat=True)) == ["ann@example.com"]


def run_errors(job):
    from engagex.contacts.services.importing import import_job_errors

    return [(e["row"], e["column"], e["reason"]) for e in import_job_errors(job=job)]


def test_an_erasure_between_the_dry_run_and_the_apply_still_keeps_the_address_out(in_tenant):
    job = run_import(b"email\nann@example.com\nerin@example.com\n")
    assert job.counts["new"] == 2
    ErasedAddress.objects.create(email_hash=address_hash("erin@example.com"))

    apply(job)

    assert list(Contact.objects.values_list("email", flat=True)) == ["ann@example.com"]


def test_hashes_made_before_a_key_rotation_match_while_the_old_key_is_a_fallback(in_tenant):
    with override_settings(SECRET_KEY="old-key-" + "x" * 50):
        _erase("rotated@example.com")
    with override_settings(
        SECRET_KEY="new-key-" + "y" * 50, SECRET_KEY_FALLBACKS=["old-key-" + "x" * 50]
    ):
        assert erasure.address_is_erased("rotated@example.com")
        job = run_import(b"email\nrotated@example.com\n")
        assert job.counts["new"] == 0
    with override_settings(SECRET_KEY="new-key-" + "y" * 50, SECRET_KEY_FALLBACKS=[]):
        assert not erasure.address_is_erased("rotated@example.com")


def test_a_fixed_pepper_keeps_hashes_independent_of_the_secret_key(in_tenant):
    with override_settings(ERASURE_PEPPER="pepper-1"):
        _erase("fixed@example.com")
    with override_settings(ERASURE_PEPPER="pepper-1", SECRET_KEY="another-" + "z" * 50):
        assert erasure.address_is_erased("fixed@example.com")


def test_an_erasure_in_one_workspace_does_not_block_the_address_in_another(tenant, other_tenant):
    with schema_context(tenant.schema_name):
        _erase("shared@example.com")

    with schema_context(other_tenant.schema_name):
        contact_create(email="shared@example.com")
        assert Contact.objects.filter(email="shared@example.com").count() == 1
        assert ErasedAddress.objects.count() == 0
    with schema_context(tenant.schema_name):
        assert Contact.objects.filter(email="shared@example.com").count() == 0


def test_the_stand_in_takes_no_seat(in_tenant):
    from engagex.accounts.selectors import seat_count

    before = seat_count()

    _erase()

    assert seat_count() == before
