from datetime import timedelta

import pytest
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from engagex.campaigns.models import CampaignRecipient
from engagex.campaigns.services.unsubscribe import (
    BadToken,
    unsubscribe_token,
    unsubscribe_token_parse,
)
from engagex.contacts.models import Contact, ContactStatus
from tests.factories.campaigns import CampaignFactory
from tests.factories.contacts import ContactFactory


@pytest.fixture
def target(tenant):
    with schema_context(tenant.schema_name):
        contact = ContactFactory(email="reader@example.com")
        campaign = CampaignFactory(name="November news")
        CampaignRecipient.objects.create(campaign=campaign, contact=contact, email=contact.email)
    token = unsubscribe_token(
        schema=tenant.schema_name, contact_id=contact.pk, campaign_id=campaign.pk
    )
    return token, contact, campaign


def public_client(**kwargs):
    return Client(HTTP_HOST="localhost", **kwargs)


def test_get_shows_a_confirmation_and_changes_nothing(tenant, target):
    token, contact, _ = target

    response = public_client().get(f"/u/{token}/")

    assert response.status_code == 200
    body = response.content.decode()
    assert "Unsubscribe?" in body
    assert "Alpha Corp" in body
    assert "re••••@example.com" in body
    with schema_context(tenant.schema_name):
        assert Contact.objects.get(pk=contact.pk).status == ContactStatus.SUBSCRIBED


def test_one_click_post_unsubscribes_without_a_csrf_token_and_is_idempotent(tenant, target):
    token, contact, campaign = target
    client = public_client(enforce_csrf_checks=True)

    first = client.post(f"/u/{token}/", {"List-Unsubscribe": "One-Click"})
    second = client.post(f"/u/{token}/", {"List-Unsubscribe": "One-Click"})

    assert first.status_code == second.status_code == 200
    assert "You are unsubscribed" in second.content.decode()
    with schema_context(tenant.schema_name):
        contact.refresh_from_db()
        assert contact.status == ContactStatus.UNSUBSCRIBED
        assert contact.status_source == "unsubscribe link: November news"
        recipient = CampaignRecipient.objects.get(campaign=campaign)
        assert recipient.unsubscribed_at is not None


def test_the_link_of_a_bounced_contact_keeps_it_bounced(tenant, target):
    token, contact, _ = target
    with schema_context(tenant.schema_name):
        Contact.objects.filter(pk=contact.pk).update(
            status=ContactStatus.BOUNCED, status_source="SendGrid: hard bounce"
        )

    response = public_client().post(f"/u/{token}/", {"List-Unsubscribe": "One-Click"})

    assert response.status_code == 200
    with schema_context(tenant.schema_name):
        contact.refresh_from_db()
        assert (contact.status, contact.status_source) == (
            ContactStatus.BOUNCED,
            "SendGrid: hard bounce",
        )


@pytest.mark.parametrize("tamper", ["flip", "truncate", "garbage"])
def test_tampered_tokens_get_a_400_page_and_change_nothing(tenant, target, tamper):
    token, contact, _ = target
    bad = {
        "flip": token[:-1] + ("A" if token[-1] != "A" else "B"),
        "truncate": token.rsplit(".", 1)[0],
        "garbage": "not-a-token",
    }[tamper]

    response = public_client().post(f"/u/{bad}/")

    assert response.status_code == 400
    assert "This unsubscribe link is not valid" in response.content.decode()
    with schema_context(tenant.schema_name):
        assert Contact.objects.get(pk=contact.pk).status == ContactStatus.SUBSCRIBED


def test_a_token_for_another_contact_id_does_not_verify(tenant, target):
    token, contact, _ = target
    schema, _, campaign, day, signature = token.split(".")

    with pytest.raises(BadToken):
        unsubscribe_token_parse(".".join([schema, "zz", campaign, day, signature]))


def test_expired_tokens_are_refused(tenant, target, settings):
    _, contact, campaign = target
    old = timezone.now().date() - timedelta(days=settings.UNSUBSCRIBE_TOKEN_MAX_AGE_DAYS + 1)
    token = unsubscribe_token(
        schema=tenant.schema_name, contact_id=contact.pk, campaign_id=campaign.pk, issued=old
    )

    assert public_client().get(f"/u/{token}/").status_code == 400


def test_a_token_of_a_deleted_workspace_or_contact_is_invalid(tenant, target):
    _, contact, campaign = target
    token = unsubscribe_token(
        schema="gone_workspace", contact_id=contact.pk, campaign_id=campaign.pk
    )

    assert public_client().get(f"/u/{token}/").status_code == 400


def test_visiting_the_link_again_says_already_unsubscribed(tenant, target):
    token, _, _ = target
    client = public_client()
    client.post(f"/u/{token}/")

    again = client.get(f"/u/{token}/").content.decode()

    assert "You are unsubscribed" in again
    assert "Unsubscribe?" not in again


@pytest.fixture
def list_target(tenant):
    """A campaign to "News" read by a contact on "News" and "Deals"."""
    from tests.factories.contacts import ContactGroupFactory, MembershipFactory

    with schema_context(tenant.schema_name):
        news, deals = ContactGroupFactory(name="News"), ContactGroupFactory(name="Deals")
        contact = ContactFactory(email="reader@example.com")
        MembershipFactory(contact=contact, group=news)
        MembershipFactory(contact=contact, group=deals)
        campaign = CampaignFactory(name="News of the week")
        campaign.include_groups.set([news])
        CampaignRecipient.objects.create(campaign=campaign, contact=contact, email=contact.email)
    token = unsubscribe_token(
        schema=tenant.schema_name, contact_id=contact.pk, campaign_id=campaign.pk
    )
    return token, contact


def _statuses(tenant, contact):
    with schema_context(tenant.schema_name):
        contact.refresh_from_db()
        lists = dict(contact.memberships.values_list("group__name", "status"))
        return contact.status, lists


def test_page_names_the_campaigns_lists_and_changes_nothing(tenant, list_target):
    token, contact = list_target

    body = public_client().get(f"/u/{token}/").content.decode()

    assert "Unsubscribe from these lists" in body
    assert "<strong>News</strong>" in body
    assert "Deals" not in body
    assert "Unsubscribe from everything from Alpha Corp" in body
    assert _statuses(tenant, contact) == (
        "subscribed",
        {"News": "subscribed", "Deals": "subscribed"},
    )


def test_one_click_leaves_only_the_campaigns_lists(tenant, list_target):
    token, contact = list_target

    response = public_client(enforce_csrf_checks=True).post(
        f"/u/{token}/", {"List-Unsubscribe": "One-Click"}
    )

    assert response.status_code == 200
    assert "sent to this list" in response.content.decode()
    assert _statuses(tenant, contact) == (
        "subscribed",
        {"News": "unsubscribed", "Deals": "subscribed"},
    )


def test_unsubscribe_from_everything_leaves_every_list_too(tenant, list_target):
    token, contact = list_target

    response = public_client().post(f"/u/{token}/", {"scope": "all"})

    assert "will get no more campaigns" in response.content.decode()
    assert _statuses(tenant, contact) == (
        "unsubscribed",
        {"News": "unsubscribed", "Deals": "unsubscribed"},
    )
