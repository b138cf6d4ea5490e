"""The preference centre: signed links, lists, profile, unsubscribe, data download, erasure."""

import json
from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.test import Client
from django.utils import timezone
from django_tenants.utils import schema_context

from engagex.campaigns.models import CampaignRecipient
from engagex.campaigns.services.sending import recipient_context
from engagex.campaigns.services.unsubscribe import unsubscribe_token
from engagex.contacts.models import (
    ConsentSettings,
    ConsentSource,
    Contact,
    ContactGroup,
    ContactStatus,
    ErasedAddress,
    Membership,
    MembershipStatus,
)
from engagex.contacts.services.erasure import address_hash
from engagex.contacts.services.lists import register_confirmation_sender
from engagex.contacts.services.tokens import (
    BadToken,
    preferences_token,
    preferences_token_parse,
)
from engagex.core.audit import AuditVerb, audit_parse
from engagex.email_templates.sandbox import render, sample_context
from tests.factories.campaigns import CampaignFactory
from tests.factories.contacts import ContactFactory, ContactGroupFactory, MembershipFactory

M = MembershipStatus
PUBLIC = ContactGroup.Visibility.PUBLIC


def public_client(**kwargs):
    return Client(HTTP_HOST="localhost", **kwargs)


@pytest.fixture
def person(tenant):
    """A contact of alpha on two public lists (one each way) and one private list."""
    with schema_context(tenant.schema_name):
        contact = ContactFactory(email="pat.person@example.com", first_name="Pat", last_name="P")
        news = ContactGroupFactory(name="News", visibility=PUBLIC, description="Monthly news")
        deals = ContactGroupFactory(
            name="Deals", visibility=PUBLIC, opt_in=ContactGroup.OptIn.DOUBLE
        )
        events = ContactGroupFactory(name="Events", visibility=PUBLIC)
        vip = ContactGroupFactory(name="VIP internal")
        MembershipFactory(
            contact=contact,
            group=news,
            source=ConsentSource.FORM,
            consent_text="Yes, send me the news",
            consent_ip="203.0.113.9",
            consent_user_agent="Firefox",
        )
        MembershipFactory(contact=contact, group=vip)
    token = preferences_token(schema=tenant.schema_name, contact_id=contact.pk)
    return {
        "token": token,
        "url": f"/p/{token}/",
        "contact": contact,
        "news": news,
        "deals": deals,
        "events": events,
        "vip": vip,
    }


def _memberships(tenant, contact):
    with schema_context(tenant.schema_name):
        return dict(Membership.objects.filter(contact=contact).values_list("group__name", "status"))


def _page_and_csrf(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return response, response.cookies["csrftoken"].value


def _post(client, url, data):
    _, csrf = _page_and_csrf(client, url if "/erase/" in url else url.split("data/")[0])
    return client.post(url, {**data, "csrfmiddlewaretoken": csrf})


# --- tokens ---------------------------------------------------------------------------------
def test_a_token_names_its_workspace_and_contact_and_unsubscribe_tokens_do_not_pass(tenant):
    token = preferences_token(schema=tenant.schema_name, contact_id=42)

    target = preferences_token_parse(token)

    assert (target.schema, target.contact_id) == (tenant.schema_name, 42)
    with pytest.raises(BadToken):
        preferences_token_parse(
            unsubscribe_token(schema=tenant.schema_name, contact_id=42, campaign_id=1)
        )


@pytest.mark.parametrize("how", ["signature", "contact", "truncated", "garbage"])
def test_a_tampered_link_shows_a_400_page_and_changes_nothing(tenant, person, how):
    token = person["token"]
    prefix, schema, contact, day, signature = token.split(".")
    bad = {
        "signature": f"{prefix}.{schema}.{contact}.{day}.{'A' * len(signature)}",
        "contact": f"{prefix}.{schema}.{int(contact, 36) + 1:x}.{day}.{signature}",
        "truncated": token[:-3],
        "garbage": "x.y",
    }[how]
    client = public_client(enforce_csrf_checks=False)

    shown = client.get(f"/p/{bad}/")
    posted = client.post(f"/p/{bad}/", {"action": "everything"})
    erase = client.post(f"/p/{bad}/erase/")

    assert shown.status_code == posted.status_code == erase.status_code == 400
    assert "This preferences link is not valid" in shown.content.decode()
    with schema_context(tenant.schema_name):
        assert Contact.objects.get(pk=person["contact"].pk).status == ContactStatus.SUBSCRIBED


def test_an_expired_link_shows_the_400_page(tenant, person, settings):
    settings.PREFERENCES_TOKEN_MAX_AGE_DAYS = 30
    old = preferences_token(
        schema=tenant.schema_name,
        contact_id=person["contact"].pk,
        issued=timezone.now().date() - timedelta(days=31),
    )

    response = public_client().get(f"/p/{old}/")

    assert response.status_code == 400
    assert "not valid" in response.content.decode()


def test_a_token_cannot_be_pointed_at_another_workspace(tenant, other_tenant, person):
    with schema_context(other_tenant.schema_name):
        theirs = ContactFactory(email="beta.person@example.com")
        ContactGroupFactory(name="Beta public", visibility=PUBLIC)
    # Same contact id, schema swapped in the alpha link: the signature no longer matches.
    ours = preferences_token(schema=tenant.schema_name, contact_id=theirs.pk)
    prefix, _, contact, day, signature = ours.split(".")
    forged = f"{prefix}.{other_tenant.schema_name}.{contact}.{day}.{signature}"

    refused = public_client().post(f"/p/{forged}/", {"action": "everything"})
    alpha_page = public_client().get(person["url"]).content.decode()

    assert refused.status_code == 400
    assert "Beta public" not in alpha_page
    with schema_context(other_tenant.schema_name):
        assert Contact.objects.get(pk=theirs.pk).status == ContactStatus.SUBSCRIBED


def test_a_link_for_the_platform_schema_is_refused(db):
    token = preferences_token(schema="public", contact_id=1)

    assert public_client().get(f"/p/{token}/").status_code == 400


# --- the page -------------------------------------------------------------------------------
def test_get_shows_public_lists_with_their_status_and_changes_nothing(tenant, person):
    with schema_context(tenant.schema_name):
        MembershipFactory(contact=person["contact"], group=person["deals"], status=M.UNCONFIRMED)
        before = Contact.objects.get(pk=person["contact"].pk).updated_at
    memberships = _memberships(tenant, person["contact"])

    response = public_client().get(person["url"])

    body = response.content.decode()
    assert response.status_code == 200
    assert "Alpha Corp" in body
    assert "pa••••••••@example.com" in body
    assert "News</strong></label>\n — subscribed" in body
    assert "Deals</strong></label>\n — waiting for your confirmation" in body
    assert "Events</strong></label>\n — not subscribed" in body
    assert "Monthly news" in body
    assert "VIP internal" not in body
    assert response["Cache-Control"] == "private, no-store"
    csp = response["Content-Security-Policy"]
    assert "default-src 'none'" in csp
    assert "script-src" not in csp
    assert "<script" not in body
    assert _memberships(tenant, person["contact"]) == memberships
    with schema_context(tenant.schema_name):
        assert Contact.objects.get(pk=person["contact"].pk).updated_at == before


def test_the_page_speaks_the_contacts_language_else_the_workspaces(tenant, person):
    with schema_context(tenant.schema_name):
        Contact.objects.filter(pk=person["contact"].pk).update(language="de-DE")
    german = public_client().get(person["url"]).content.decode()
    with schema_context(tenant.schema_name):
        Contact.objects.filter(pk=person["contact"].pk).update(language="")
    tenant.default_language = "es"
    tenant.save(update_fields=["default_language"])

    spanish = public_client().get(person["url"]).content.decode()

    assert '<html lang="de">' in german
    assert '<html lang="es">' in spanish


def test_ticking_and_unticking_lists_posts_and_is_reflected(tenant, person):
    sent = []
    sender = lambda memberships: sent.extend(m.group.name for m in memberships)  # noqa: E731
    register_confirmation_sender(sender)
    client = public_client(enforce_csrf_checks=True, HTTP_USER_AGENT="Safari/17")
    try:
        response = _post(
            client,
            person["url"],
            {"action": "lists", "lists": [person["deals"].pk, person["events"].pk]},
        )
    finally:
        from engagex.contacts.services import lists

        lists._CONFIRMATION_SENDERS.remove(sender)

    assert response.status_code == 302
    assert response["Location"] == f"{person['url']}?done=lists"
    assert _memberships(tenant, person["contact"]) == {
        "News": M.UNSUBSCRIBED,
        "Deals": M.UNCONFIRMED,
        "Events": M.SUBSCRIBED,
        "VIP internal": M.SUBSCRIBED,  # private: untouched
    }
    with schema_context(tenant.schema_name):
        events = Membership.objects.get(contact=person["contact"], group=person["events"])
        assert (events.source, events.consent_ip, events.consent_user_agent) == (
            ConsentSource.PREFERENCES,
            "127.0.0.1",
            "Safari/17",
        )
        assert events.consent_text == "Events"
    page = client.get(response["Location"]).content.decode()
    assert "Your lists are saved." in page
    assert "Events</strong></label>\n — subscribed" in page


def test_a_crafted_private_list_id_is_ignored(tenant, person):
    client = public_client(enforce_csrf_checks=True)
    with schema_context(tenant.schema_name):
        secret = ContactGroupFactory(name="Secret")

    _post(client, person["url"], {"action": "lists", "lists": [person["news"].pk, secret.pk]})

    assert "Secret" not in _memberships(tenant, person["contact"])
    assert _memberships(tenant, person["contact"])["News"] == M.SUBSCRIBED


def test_a_post_without_the_csrf_token_changes_nothing(tenant, person):
    client = public_client(enforce_csrf_checks=True)

    response = client.post(person["url"], {"action": "everything"})
    erase = client.post(f"{person['url']}erase/")
    data = client.post(f"{person['url']}data/")

    assert response.status_code == erase.status_code == data.status_code == 403
    assert "Nothing was changed" in response.content.decode()
    with schema_context(tenant.schema_name):
        assert Contact.objects.get(pk=person["contact"].pk).status == ContactStatus.SUBSCRIBED


def test_unsubscribe_from_everything(tenant, person):
    client = public_client(enforce_csrf_checks=True)

    response = _post(client, person["url"], {"action": "everything"})

    assert response.status_code == 302
    with schema_context(tenant.schema_name):
        contact = Contact.objects.get(pk=person["contact"].pk)
        assert (contact.status, contact.status_source) == (
            ContactStatus.UNSUBSCRIBED,
            "preference centre",
        )
    assert set(_memberships(tenant, person["contact"]).values()) == {M.UNSUBSCRIBED}
    page = client.get(response["Location"]).content.decode()
    assert "You are unsubscribed from everything." in page


def test_a_bounced_contact_cannot_join_a_list_and_nothing_changes(tenant, person):
    with schema_context(tenant.schema_name):
        Contact.objects.filter(pk=person["contact"].pk).update(status=ContactStatus.BOUNCED)
    before = _memberships(tenant, person["contact"])

    response = _post(
        public_client(enforce_csrf_checks=True),
        person["url"],
        {"action": "lists", "lists": [person["events"].pk]},
    )

    assert response.status_code == 400
    assert "cannot be subscribed" in response.content.decode()
    assert _memberships(tenant, person["contact"]) == before


# --- profile --------------------------------------------------------------------------------
def _allow(tenant, fields):
    with schema_context(tenant.schema_name):
        ConsentSettings.objects.update_or_create(pk=1, defaults={"preference_fields": fields})


def test_the_allowed_profile_fields_are_edited_and_nothing_else(tenant, person):
    _allow(tenant, ["first_name", "city", "timezone"])
    with schema_context(tenant.schema_name):
        Contact.objects.filter(pk=person["contact"].pk).update(
            attributes={"city": "Oslo", "tier": "gold", "visits": 3}
        )
    client = public_client(enforce_csrf_checks=True)

    response = _post(
        client,
        person["url"],
        {
            "action": "profile",
            "first_name": "  Patricia ",
            "city": "Bergen",
            "timezone": "Europe/Oslo",
            # crafted: not in preference_fields
            "last_name": "Hacked",
            "tier": "platinum",
            "email": "new@example.com",
            "status": "bounced",
        },
    )

    assert response.status_code == 302
    with schema_context(tenant.schema_name):
        contact = Contact.objects.get(pk=person["contact"].pk)
    assert (contact.first_name, contact.last_name, contact.timezone) == (
        "Patricia",
        "P",
        "Europe/Oslo",
    )
    assert contact.attributes == {"city": "Bergen", "tier": "gold", "visits": 3}
    assert (contact.email, contact.status) == ("pat.person@example.com", ContactStatus.SUBSCRIBED)


def test_an_invalid_profile_value_names_its_field_and_changes_nothing(tenant, person):
    _allow(tenant, ["first_name", "timezone"])

    response = _post(
        public_client(enforce_csrf_checks=True),
        person["url"],
        {"action": "profile", "first_name": "Changed", "timezone": "Mars/Olympus"},
    )

    assert response.status_code == 400
    body = response.content.decode()
    assert "Unknown time zone “Mars/Olympus”" in body
    assert 'value="Changed"' in body  # what was typed comes back
    with schema_context(tenant.schema_name):
        contact = Contact.objects.get(pk=person["contact"].pk)
    assert (contact.first_name, contact.timezone) == ("Pat", "")


def test_a_value_too_long_for_the_field_is_refused_by_the_contact_service(tenant, person):
    _allow(tenant, ["first_name"])

    response = _post(
        public_client(enforce_csrf_checks=True),
        person["url"],
        {"action": "profile", "first_name": "x" * 101},
    )

    assert response.status_code == 400
    assert "at most 100 characters" in response.content.decode()
    with schema_context(tenant.schema_name):
        assert Contact.objects.get(pk=person["contact"].pk).first_name == "Pat"


def test_an_attribute_with_a_nul_character_is_refused_on_its_field(tenant, person):
    _allow(tenant, ["city"])

    response = _post(
        public_client(enforce_csrf_checks=True),
        person["url"],
        {"action": "profile", "city": "Os\x00lo"},
    )

    assert response.status_code == 400
    assert "NUL" in response.content.decode()
    with schema_context(tenant.schema_name):
        assert Contact.objects.get(pk=person["contact"].pk).attributes == {}


def test_without_preference_fields_the_page_offers_no_profile_form(tenant, person):
    _allow(tenant, [])

    body = public_client().get(person["url"]).content.decode()

    assert 'name="action" value="profile"' not in body


# --- data download --------------------------------------------------------------------------
def test_the_data_download_has_the_consent_evidence_and_nothing_of_anyone_else(tenant, person):
    with schema_context(tenant.schema_name):
        other = ContactFactory(email="someone.else@example.com", first_name="Other")
        MembershipFactory(contact=other, group=person["news"], consent_text="Other consent")
        campaign = CampaignFactory(name="Spring news")
        CampaignRecipient.objects.create(
            campaign=campaign, contact=person["contact"], email=person["contact"].email
        )
        CampaignRecipient.objects.create(
            campaign=CampaignFactory(name="Not for Pat"), contact=other, email=other.email
        )
    client = public_client(enforce_csrf_checks=True)

    response = _post(client, f"{person['url']}data/", {})

    assert response.status_code == 200
    assert response["Content-Type"] == "application/json"
    assert response["Content-Disposition"] == 'attachment; filename="alpha-my-data.json"'
    text = response.content.decode()
    data = json.loads(text)
    assert data["contact"]["email"] == "pat.person@example.com"
    news = next(m for m in data["lists"] if m["list"] == "News")
    assert news["consent"] == {
        "source": "form",
        "at": news["consent"]["at"],
        "text": "Yes, send me the news",
        "ip": "203.0.113.9",
        "user_agent": "Firefox",
    }
    assert [c["campaign"] for c in data["campaigns"]] == ["Spring news"]
    assert "someone.else" not in text
    assert "Other consent" not in text
    assert "Not for Pat" not in text


def test_the_data_download_is_never_a_get(tenant, person):
    assert public_client().get(f"{person['url']}data/").status_code == 405


# --- erasure --------------------------------------------------------------------------------
def test_erasure_asks_first_then_deletes_keeps_a_hash_and_audits(tenant, person):
    client = public_client(enforce_csrf_checks=True)

    asked = client.get(f"{person['url']}erase/")
    with schema_context(tenant.schema_name):
        assert Contact.objects.filter(pk=person["contact"].pk).exists()
    done = _post(client, f"{person['url']}erase/", {})
    after = client.get(person["url"])

    assert asked.status_code == 200
    assert "Erase your data?" in asked.content.decode()
    assert done.status_code == 200
    assert "Your data is erased" in done.content.decode()
    assert after.status_code == 400
    with schema_context(tenant.schema_name):
        assert not Contact.objects.filter(pk=person["contact"].pk).exists()
        assert Membership.objects.filter(contact_id=person["contact"].pk).count() == 0
        assert list(ErasedAddress.objects.values_list("email_hash", flat=True)) == [
            address_hash("pat.person@example.com")
        ]
        entry = LogEntry.objects.get()
        assert audit_parse(entry)[0] == AuditVerb.ERASED
        assert "pat.person" not in entry.change_message + entry.object_repr
        assert "p•••@example.com" in audit_parse(entry)[1]


# --- links in campaigns and on the unsubscribe pages ------------------------------------------
def test_campaign_merge_data_carries_a_working_preferences_url(tenant, person):
    context = recipient_context(
        {"email": "x"}, "unsub-token", schema=tenant.schema_name, contact_id=person["contact"].pk
    )

    url = context["preferences_url"]

    assert url.startswith("http://localhost/p/")
    token = url.rstrip("/").rsplit("/", 1)[1]
    assert preferences_token_parse(token).contact_id == person["contact"].pk
    assert render('<a href="{{ preferences_url }}">x</a>', context, html=True) == (
        f'<a href="{url}">x</a>'
    )
    assert sample_context()["preferences_url"].startswith("https://example.com/")


def test_the_unsubscribe_pages_link_to_the_preference_centre(tenant, person):
    with schema_context(tenant.schema_name):
        campaign = CampaignFactory()
    token = unsubscribe_token(
        schema=tenant.schema_name, contact_id=person["contact"].pk, campaign_id=campaign.pk
    )

    body = public_client().get(f"/u/{token}/").content.decode()

    assert "Manage your preferences" in body
    link = body.split("Manage your preferences")[0].rsplit('href="', 1)[1].split('"')[0]
    assert link.startswith("http://localhost/p/")
    assert public_client().get(link.removeprefix("http://localhost")).status_code == 200


def test_a_sent_campaign_links_each_recipient_to_their_own_preference_centre(
    in_tenant, fake_sendgrid
):
    from engagex.campaigns.services.campaigns import campaign_start
    from tests.campaigns.test_sending import as_received, send_all
    from tests.factories.campaigns import TemplateFactory

    html = (
        '<a href="{{ preferences_url }}">Preferences</a>'
        '<a href="{{ unsubscribe_url }}">Unsubscribe</a>'
    )
    ann = ContactFactory(email="ann@example.com")
    campaign = CampaignFactory(template=TemplateFactory(html_body=html))
    campaign_start(campaign_id=campaign.pk)

    send_all(campaign)

    payload = fake_sendgrid.requests[0]["json"]
    sent = as_received(payload, payload["personalizations"][0])
    link = sent.split('<a href="', 1)[1].split('"', 1)[0]
    assert link.startswith("http://localhost/p/")
    target = preferences_token_parse(link.removeprefix("http://localhost/p/").rstrip("/"))
    assert (target.schema, target.contact_id) == (in_tenant.schema_name, ann.pk)


def test_someone_unsubscribed_from_everything_comes_back_only_by_confirming(tenant, person):
    with schema_context(tenant.schema_name):
        Contact.objects.filter(pk=person["contact"].pk).update(status=ContactStatus.UNSUBSCRIBED)
    client = public_client(enforce_csrf_checks=True)
    page = client.get(person["url"]).content.decode()

    _post(client, person["url"], {"action": "lists", "lists": [person["events"].pk]})

    assert "You are unsubscribed from everything. Ticking a list sends you an email" in page
    assert _memberships(tenant, person["contact"])["Events"] == M.UNCONFIRMED  # single opt-in
    with schema_context(tenant.schema_name):
        assert Contact.objects.get(pk=person["contact"].pk).status == ContactStatus.UNSUBSCRIBED
