"""Regressions found in review: deletes, role escalation, hostile webhook input, API edges."""

import json

import pytest
from django.db import connection
from django.urls import reverse
from django_tenants.utils import schema_context

from engagex.accounts import roles
from engagex.accounts.models import Invitation, User
from engagex.campaigns.models import Campaign, CampaignRecipient
from engagex.contacts.models import Contact
from engagex.contacts.services.contacts import contact_delete_many
from tests.api.conftest import key_client
from tests.factories.campaigns import CampaignFactory, TemplateFactory
from tests.factories.contacts import ContactFactory
from tests.fixtures.tenants import logged_in_client


def test_a_contact_that_was_mailed_can_be_deleted(tenant):
    with schema_context(tenant.schema_name):
        contact = ContactFactory()
        campaign = CampaignFactory(status="sent")
        recipient = CampaignRecipient.objects.create(
            campaign=campaign, contact=contact, email=contact.email, status="sent"
        )

        contact_delete_many(contacts=Contact.objects.filter(pk=contact.pk))
        connection.check_constraints()  # the deferred FK checks a commit would run

        recipient.refresh_from_db()
        assert recipient.contact_id is None
        assert recipient.email == contact.email


def test_an_admin_cannot_make_anyone_owner(tenant, make_member):
    admin_user = make_member(roles.ADMIN)
    client = logged_in_client(tenant, admin_user)

    response = client.post(
        reverse("admin:accounts_invitation_add", urlconf="config.urls_tenants"),
        {"email": "new-owner@alpha.example", "role": roles.OWNER},
    )
    change = client.post(
        reverse("admin:accounts_user_change", args=[admin_user.pk], urlconf="config.urls_tenants"),
        {"full_name": "Me", "role": roles.OWNER, "is_active": "on"},
    )

    assert "Only an Owner can give the Owner role" in response.content.decode()
    assert "Only an Owner can give the Owner role" in change.content.decode()
    with schema_context(tenant.schema_name):
        assert not User.objects.filter(email="new-owner@alpha.example").exists()
        assert not Invitation.objects.filter(email="new-owner@alpha.example").exists()
        assert admin_user.groups.get().name == roles.ADMIN


def test_an_admins_api_key_cannot_invite_an_owner_and_dies_with_its_creator(tenant, make_member):
    admin_user = make_member(roles.ADMIN)
    client = key_client(tenant, roles.ADMIN, admin_user)

    invite = client.post(
        "/api/v1/invitations/",
        {"email": "x@alpha.example", "role": "Owner"},
        content_type="application/json",
    )
    with schema_context(tenant.schema_name):
        admin_user.is_active = False
        admin_user.save()

    assert invite.status_code == 400
    assert client.get("/api/v1/contacts/").status_code == 401


def test_a_sent_campaign_cannot_be_deleted_through_the_api(tenant, api):
    with schema_context(tenant.schema_name):
        campaign = CampaignFactory(status="sent")
        CampaignRecipient.objects.create(campaign=campaign, email="a@example.com", status="sent")
        draft = CampaignFactory()

    refused = api.delete(f"/api/v1/campaigns/{campaign.pk}/")
    allowed = api.delete(f"/api/v1/campaigns/{draft.pk}/")

    assert refused.status_code == 400
    assert allowed.status_code == 204
    with schema_context(tenant.schema_name):
        assert Campaign.objects.filter(pk=campaign.pk).exists()


def test_deleting_a_template_in_use_is_a_409(tenant, api):
    with schema_context(tenant.schema_name):
        template = TemplateFactory()
        CampaignFactory(template=template)

    response = api.delete(f"/api/v1/templates/{template.pk}/")

    assert response.status_code == 409
    assert response.json()["error"]["status"] == 409


def test_hostile_webhook_values_are_skipped_not_500(tenant, settings):
    from django.test import Client

    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": "hook:s3cret"}
    client = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION="Basic aG9vazpzM2NyZXQ=")
    body = (
        '[{"event": "delivered", "schema": "alpha", "campaign": 1e999, "recipient": 1},'
        ' {"event": "delivered", "schema": "al\\u0000pha", "campaign": 1, "recipient": 1,'
        ' "sg_event_id": "nul\\u0000id"}]'
    )

    response = client.post("/anymail/sendgrid/tracking/", body, content_type="application/json")
    infinity = client.post(
        "/anymail/sendgrid/tracking/", '[{"campaign": Infinity}]', content_type="application/json"
    )

    assert response.status_code == 200
    assert response.json()["stored"] == 0
    assert infinity.status_code == 400


@pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailInsecureWebhookWarning")
def test_without_credentials_the_webhook_accepts_nothing_in_production(db, settings):
    from django.test import Client

    settings.DEBUG = False
    settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": None}

    response = Client(HTTP_HOST="localhost").post(
        "/anymail/sendgrid/tracking/", json.dumps([]), content_type="application/json"
    )

    assert response.status_code == 401
    assert "no credentials configured" in response.json()["error"]


def test_a_from_name_with_quotes_is_sent(tenant, fake_sendgrid):
    from engagex.campaigns.services.campaigns import campaign_start
    from engagex.campaigns.services.sending import campaign_send_some

    with schema_context(tenant.schema_name):
        ContactFactory()
        campaign = CampaignFactory(from_name='The "Best" \\ Shop')
        campaign_start(campaign_id=campaign.pk)
        while campaign_send_some(campaign_id=campaign.pk):
            pass
        campaign.refresh_from_db()

    assert campaign.status == "sent"
    assert fake_sendgrid.requests[0]["json"]["from"]["name"] == 'The "Best" \\ Shop'
