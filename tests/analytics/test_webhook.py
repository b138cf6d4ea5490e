import base64
import json
import time

import pytest
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from django_tenants.utils import schema_context

from engagex.analytics.models import CampaignLink, CampaignStats, EmailEvent
from engagex.analytics.services import ingest
from engagex.campaigns.models import CampaignRecipient
from engagex.campaigns.services.campaigns import campaign_audience
from engagex.contacts.models import Contact, ContactStatus
from tests.analytics.conftest import event, post


def stats_of(tenant, campaign):
    with schema_context(tenant.schema_name):
        return CampaignStats.objects.filter(campaign=campaign).first()


def test_a_batch_is_stored_and_counted(tenant, sent):
    campaign, (a, b, c) = sent
    batch = [
        event("processed", a),
        event("delivered", a),
        event("delivered", b),
        event("open", a),
        event("open", a),
        event("open", b, sg_machine_open=True),
        event("click", a, url="https://shop.example/sale"),
        event("click", a, url="https://shop.example/sale"),
        event("click", b, url="https://shop.example/about"),
    ]

    response = post(batch)

    assert response.status_code == 200
    assert response.json()["stored"] == 9
    stats = stats_of(tenant, campaign)
    assert (stats.delivered, stats.opens_total, stats.opens_unique, stats.machine_opens) == (
        2,
        2,
        1,
        1,
    )
    assert (stats.clicks_total, stats.clicks_unique) == (3, 2)
    assert stats.rate(stats.opens_unique) == 50.0
    with schema_context(tenant.schema_name):
        links = {k.url: (k.clicks_total, k.clicks_unique) for k in CampaignLink.objects.all()}
        assert links == {"https://shop.example/sale": (2, 1), "https://shop.example/about": (1, 1)}
        a.refresh_from_db()
        assert None not in (a.delivered_at, a.opened_at, a.clicked_at)


def test_a_redelivered_batch_changes_nothing(tenant, sent):
    campaign, (a, b, c) = sent
    batch = [event("delivered", a), event("open", a), event("click", a, url="https://x.example")]
    post(batch)

    again = post(batch)

    assert again.json()["stored"] == 0
    assert again.json()["duplicates"] == 3
    stats = stats_of(tenant, campaign)
    assert (stats.delivered, stats.opens_total, stats.clicks_total, stats.clicks_unique) == (
        1,
        1,
        1,
        1,
    )
    with schema_context(tenant.schema_name):
        assert EmailEvent.objects.count() == 3


def test_events_out_of_order_and_late_end_in_the_same_numbers(tenant, sent):
    campaign, (a, _, _) = sent
    now = time.time()
    post([event("open", a, when=now - 60)])
    post([event("delivered", a, when=now - 3600)])  # arrives late, happened first
    post([event("delivered", a, when=now - 7200, event_id="older-copy")])

    stats = stats_of(tenant, campaign)
    assert (stats.delivered, stats.opens_unique) == (1, 1)
    with schema_context(tenant.schema_name):
        a.refresh_from_db()
        assert abs(a.delivered_at.timestamp() - (now - 7200)) < 1


def test_hard_bounce_complaint_and_unsubscribe_suppress_the_contact(tenant, sent):
    campaign, (a, b, c) = sent
    post(
        [
            event("bounce", a, type="bounce", reason="550 5.1.1 user unknown"),
            event("spamreport", b),
            event("unsubscribe", c),
        ]
    )

    with schema_context(tenant.schema_name):
        statuses = {
            contact.email: (contact.status, contact.status_source)
            for contact in Contact.objects.filter(email__in=[a.email, b.email, c.email])
        }
        assert statuses == {
            a.email: (ContactStatus.BOUNCED, "SendGrid: hard bounce"),
            b.email: (ContactStatus.COMPLAINED, "SendGrid: spam report"),
            c.email: (ContactStatus.UNSUBSCRIBED, "SendGrid: unsubscribe"),
        }
        assert (
            not campaign_audience(campaign).filter(email__in=[a.email, b.email, c.email]).exists()
        )
    stats = stats_of(tenant, campaign)
    assert (stats.bounces_hard, stats.complaints, stats.unsubscribes) == (1, 1, 1)


@pytest.mark.parametrize("status", ["unsubscribed", "bounced", "complained"])
def test_events_for_a_suppressed_contact_keep_its_status_and_reason(tenant, sent, settings, status):
    settings.SOFT_BOUNCE_THRESHOLD = 1
    _, (a, _, _) = sent
    with schema_context(tenant.schema_name):
        Contact.objects.filter(pk=a.contact_id).update(status=status, status_source="earlier")

    response = post(
        [
            event("delivered", a),
            event("open", a),
            event("bounce", a, type="blocked"),
            event("bounce", a, type="bounce"),
            event("spamreport", a),
            event("unsubscribe", a),
        ]
    )

    assert response.json()["stored"] == 6
    with schema_context(tenant.schema_name):
        contact = Contact.objects.get(pk=a.contact_id)
        assert (contact.status, contact.status_source) == (status, "earlier")


def test_soft_bounces_suppress_only_at_the_threshold(tenant, sent, settings):
    settings.SOFT_BOUNCE_THRESHOLD = 3
    _, (a, _, _) = sent
    post([event("bounce", a, type="blocked"), event("bounce", a, type="blocked")])

    with schema_context(tenant.schema_name):
        contact = Contact.objects.get(email=a.email)
        assert (contact.status, contact.soft_bounces) == (ContactStatus.SUBSCRIBED, 2)

    post([event("bounce", a, type="blocked")])

    with schema_context(tenant.schema_name):
        contact.refresh_from_db()
        assert (contact.status, contact.status_source) == (
            ContactStatus.BOUNCED,
            "SendGrid: 3 soft bounces",
        )


def test_events_without_our_metadata_or_of_unknown_type_are_counted_and_skipped(tenant, sent):
    _, (a, _, _) = sent
    foreign = {"email": "x@example.com", "event": "delivered", "sg_event_id": "f1", "timestamp": 1}
    odd = event("teleported", a)

    response = post([foreign, odd, event("delivered", a), "not an object"])

    assert response.status_code == 200
    assert response.json() == {
        "received": 4, "stored": 1, "duplicates": 0, "skipped_no_metadata": 1,
        "skipped_unknown_type": 1, "skipped_unknown_target": 0, "skipped_malformed": 1,
    }  # fmt: skip


def test_events_for_a_deleted_workspace_campaign_or_recipient_are_skipped(tenant, sent):
    campaign, (a, b, _) = sent
    with schema_context(tenant.schema_name):
        CampaignRecipient.objects.filter(pk=b.pk).delete()
        Contact.objects.filter(email=a.email).delete()  # recipient stays, contact gone

    response = post(
        [
            event("delivered", a, schema="gone_workspace"),
            event("delivered", b),
            event("bounce", a, type="bounce"),
        ]
    )

    assert response.status_code == 200
    assert response.json()["skipped_unknown_target"] == 2
    assert response.json()["stored"] == 1


def test_wrong_basic_auth_is_refused_and_stores_nothing(tenant, sent):
    _, (a, _, _) = sent

    wrong = post([event("delivered", a)], auth="hook:guess")
    missing = post([event("delivered", a)], auth=None)

    assert wrong.status_code == missing.status_code == 401
    with schema_context(tenant.schema_name):
        assert EmailEvent.objects.count() == 0


@pytest.mark.parametrize("body", ["{not json", '{"event": "delivered"}'])
def test_malformed_bodies_get_a_400(tenant, sent, body):
    response = post(None, raw=body)

    assert response.status_code == 400
    assert "error" in response.json()


def test_a_10mb_batch_is_refused_with_413(tenant, sent):
    _, (a, _, _) = sent
    huge = [event("delivered", a, padding="x" * 1000) for _ in range(10_500)]

    response = post(huge)

    assert response.status_code == 413
    assert "at most 5,242,880" in response.json()["error"]
    with schema_context(tenant.schema_name):
        assert EmailEvent.objects.count() == 0


def test_a_failure_mid_batch_leaves_nothing_written(tenant, sent, monkeypatch):
    campaign, (a, b, _) = sent

    def explode(*args, **kwargs):
        raise RuntimeError("database went away")

    monkeypatch.setattr(ingest, "_add_links", explode)
    response = post([event("delivered", a), event("click", b, url="https://x.example")])

    assert response.status_code == 500  # SendGrid retries the batch later
    with schema_context(tenant.schema_name):
        assert EmailEvent.objects.count() == 0
        assert not CampaignStats.objects.filter(campaign=campaign).exists()
        a.refresh_from_db()
        assert a.delivered_at is None


def test_a_click_on_a_huge_non_latin_url_is_stored_cut_to_2000_bytes(tenant, sent):
    campaign, (a, _, _) = sent
    # 3,000 different CJK characters (9,000 bytes, hardly compressible): longer than an
    # index entry may be, were the URL kept whole.
    url = "https://shop.example/" + "".join(chr(0x4E00 + (i * 7919) % 20000) for i in range(3000))

    response = post([event("click", a, url=url)])

    assert response.status_code == 200
    assert response.json()["stored"] == 1
    with schema_context(tenant.schema_name):
        stored = EmailEvent.objects.get(type="click").url
        assert len(stored.encode()) <= 2000
        assert url.startswith(stored)  # whole characters
        assert len(stored) > 600
        assert CampaignLink.objects.get(campaign=campaign).url == stored


def test_events_stay_in_their_own_workspace(tenant, other_tenant, sent):
    _, (a, _, _) = sent

    post([event("delivered", a)])

    with schema_context(other_tenant.schema_name):
        assert EmailEvent.objects.count() == 0


# --- SendGrid's signed event webhook -------------------------------------------------------
@pytest.fixture
def signing_key(settings):
    private = ec.generate_private_key(ec.SECP256R1())
    public = private.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    body = "".join(public.decode().strip().splitlines()[1:-1])
    settings.ANYMAIL = {**settings.ANYMAIL, "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY": body}
    return private


def signed(private, body: str, stamp: int | None = None) -> dict:
    stamp = str(stamp or int(time.time()))
    signature = private.sign(stamp.encode() + body.encode(), ec.ECDSA(hashes.SHA256()))
    return {
        "X-Twilio-Email-Event-Webhook-Signature": base64.b64encode(signature).decode(),
        "X-Twilio-Email-Event-Webhook-Timestamp": stamp,
    }


def test_signed_webhook_accepts_a_valid_signature(tenant, sent, signing_key):
    _, (a, _, _) = sent
    body = json.dumps([event("delivered", a)])

    response = post(None, raw=body, headers=signed(signing_key, body))

    assert response.status_code == 200
    assert response.json()["stored"] == 1


def test_signed_webhook_refuses_bad_missing_and_stale_signatures(tenant, sent, signing_key):
    _, (a, _, _) = sent
    body = json.dumps([event("delivered", a)])
    other = ec.generate_private_key(ec.SECP256R1())

    bad = post(None, raw=body, headers=signed(other, body))
    missing = post(None, raw=body)
    stale = post(None, raw=body, headers=signed(signing_key, body, stamp=int(time.time()) - 3600))
    tampered = post(
        None, raw=body.replace("delivered", "bounce"), headers=signed(signing_key, body)
    )

    assert (bad.status_code, missing.status_code, tampered.status_code) == (401, 401, 401)
    assert stale.status_code == 400
    with schema_context(tenant.schema_name):
        assert EmailEvent.objects.count() == 0


def test_deploy_check_warns_when_the_webhook_is_open(settings):
    from engagex.analytics.checks import WEBHOOK_OPEN, webhook_is_authenticated

    settings.ANYMAIL = {"WEBHOOK_SECRET": None}
    assert webhook_is_authenticated(None) == [WEBHOOK_OPEN]
    settings.ANYMAIL = {"WEBHOOK_SECRET": "a:b"}
    assert webhook_is_authenticated(None) == []


# --- hostile bodies --------------------------------------------------------------------------
def _deep_events(a, depth: int) -> str:
    """One event without an id (so it is re-encoded for a fallback id) carrying a deep value."""
    nested = "[" * (depth - 2) + "]" * (depth - 2)
    event = {"event": "delivered", "schema": "alpha", "campaign": a.campaign_id, "recipient": a.pk}
    return "[" + json.dumps(event)[:-1] + f', "x": {nested}}}]'


@pytest.mark.parametrize(
    "body",
    ["[" * 100_000 + "]" * 100_000, '{"a":' * 100_000 + "1" + "}" * 100_000],
    ids=["100k-deep-list", "100k-deep-object"],
)
def test_a_deeply_nested_body_gets_a_400(tenant, sent, body):
    response = post(None, raw=body)

    assert response.status_code == 400
    assert response.json() == {"error": "The JSON body is nested more than 32 levels deep."}


def test_events_nested_just_under_pythons_limit_get_a_400_not_a_500(tenant, sent):
    _, (a, _, _) = sent

    # Measured before the fix: 902 and 903 levels parsed, then failed when re-encoded (500).
    statuses = {post(None, raw=_deep_events(a, depth)).status_code for depth in range(33, 1000)}

    assert statuses == {400}
    with schema_context(tenant.schema_name):
        assert EmailEvent.objects.count() == 0


# --- no credentials configured --------------------------------------------------------------
@pytest.fixture
def no_credentials(settings):
    settings.ANYMAIL = {
        **settings.ANYMAIL,
        "WEBHOOK_SECRET": None,
        "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY": None,
    }


@pytest.mark.usefixtures("no_credentials")
def test_without_credentials_development_refuses_unauthenticated_posts_too(tenant, sent, settings):
    _, (a, _, _) = sent
    settings.DEBUG = True

    response = post([event("bounce", a, type="bounce")], auth=None)

    assert response.status_code == 401
    assert "no credentials configured" in response.json()["error"]
    with schema_context(tenant.schema_name):
        assert EmailEvent.objects.count() == 0
        assert Contact.objects.get(email=a.email).status == ContactStatus.SUBSCRIBED


@pytest.mark.usefixtures("no_credentials")
@pytest.mark.filterwarnings("ignore::anymail.exceptions.AnymailInsecureWebhookWarning")
def test_an_explicit_setting_lets_a_local_trial_accept_unauthenticated_posts(
    tenant, sent, settings
):
    _, (a, _, _) = sent
    settings.DEBUG = True
    settings.WEBHOOK_ALLOW_UNAUTHENTICATED = True

    response = post([event("delivered", a)], auth=None)

    assert response.status_code == 200
    assert response.json()["stored"] == 1


def test_unauthenticated_posts_are_not_allowed_by_default_in_any_settings():
    import os
    import subprocess
    import sys

    code = "from django.conf import settings; print(settings.WEBHOOK_ALLOW_UNAUTHENTICATED)"
    for module in ("config.settings.development", "config.settings.production"):
        env = {k: v for k, v in os.environ.items() if k != "WEBHOOK_ALLOW_UNAUTHENTICATED"}
        env.update(
            DJANGO_SETTINGS_MODULE=module,
            DATABASE_URL="postgres://nobody@127.0.0.1:1/none",
            SECRET_KEY="x" * 50,
        )
        result = subprocess.run(
            [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
        )
        assert (module, result.stdout.strip()) == (module, "False")
