"""Pause and cancel against a slow fake ESP with several send tasks in a real cluster.

The test clicks (calls the service, as the console and the API do) while batches are with the
ESP, then counts what the ESP accepted after the click: only batches already handed over may
still arrive; none claimed after the click.
"""

import time
from contextlib import contextmanager

import pytest
from django.db import transaction
from django_q.models import OrmQ
from django_tenants.utils import schema_context

from devtools.cluster import start_cluster, stop_cluster
from engagex.accounts.models import User
from engagex.campaigns.models import Campaign, CampaignRecipient, MonthlySendUsage
from engagex.campaigns.services.campaigns import (
    campaign_cancel,
    campaign_pause,
    campaign_resume,
    campaign_start,
)
from engagex.contacts.models import Contact
from engagex.notifications.models import Notification
from tenants.models import Tenant
from tests.factories.campaigns import CampaignFactory

S = Campaign.Status
RECIPIENTS = 1200
ENV = {
    "CAMPAIGN_BATCH_SIZE": "20",
    "CAMPAIGN_SEND_TASKS": "3",
    "CAMPAIGN_REQUESTS_IN_FLIGHT": "3",
    "Q_WORKERS": "3",
}


@contextmanager
def slow_campaign(tenant, label: str):
    """A started campaign to RECIPIENTS new contacts, committed; removed afterwards."""
    with schema_context(tenant.schema_name):
        Contact.objects.bulk_create(
            Contact(email=f"{label}{i}@{label}.example", first_name=f"P{i}")
            for i in range(RECIPIENTS)
        )
        owner = User.objects.get(email="owner@beta.example")
        usage_before = _usage()
        campaign = CampaignFactory(created_by=owner)
        campaign_start(campaign_id=campaign.pk, user=owner)
    try:
        yield campaign, owner, usage_before
    finally:
        with schema_context(tenant.schema_name):
            CampaignRecipient.objects.filter(campaign=campaign).delete()
            Notification.objects.filter(link__contains=f"/campaign/{campaign.pk}/").delete()
            campaign.delete()
            Contact.objects.filter(email__endswith=f"@{label}.example").delete()


def _usage() -> int:
    return sum(MonthlySendUsage.objects.values_list("sends", flat=True))


def _counts(tenant, campaign) -> dict:
    with schema_context(tenant.schema_name):
        campaign.refresh_from_db()
        rows = CampaignRecipient.objects.filter(campaign=campaign)
        return {
            "status": campaign.status,
            "sent": rows.filter(status="sent").count(),
            "in_flight": rows.filter(status="sending").count(),
        }


def _wait(condition, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return
        time.sleep(0.1)
    raise AssertionError("timed out")


def _click(tenant, campaign, service, user) -> dict:
    """Pause or cancel; note, in the committing transaction, what is with the ESP."""
    with schema_context(tenant.schema_name):
        with transaction.atomic():
            result = service(campaign=campaign, user=user)
            # One statement, one snapshot: batches answered meanwhile cannot blur the figures.
            rows = list(
                CampaignRecipient.objects.filter(campaign=campaign).values_list("status", "attempt")
            )
            click = {
                "status": result.status,
                "sent": sum(status == "sent" for status, _ in rows),
                "in_flight": sum(status == "sending" for status, _ in rows),
                "attempts": {str(a) for status, a in rows if status == "sending"},
            }
        click["moment"] = time.monotonic()
    return click


def _settled(tenant, campaign, final: str):
    """Wait for the final state, then check the count no longer rises."""
    _wait(lambda: _counts(tenant, campaign)["status"] == final)
    settled = _counts(tenant, campaign)
    time.sleep(3)
    return settled, _counts(tenant, campaign)


def _after(fake, click) -> dict:
    with fake.lock:
        late = [e for e in fake.log if e["attempt"] and e["arrived"] > click["moment"]]
    return {
        "accepted_after_click": fake.accepted_since(click["moment"]),
        "new_batches_after_click": sum(
            e["recipients"] for e in late if e["attempt"] not in click["attempts"]
        ),
    }


@pytest.mark.cluster
def test_pause_and_cancel_stop_every_send_task_at_once_with_a_slow_esp(
    django_db_setup, django_db_blocker, fake_sendgrid_server
):
    fake = fake_sendgrid_server
    fake.reset()
    fake.latency = 0.8
    env = {**ENV, "SENDGRID_API_KEY": "SG.controls", "SENDGRID_API_URL": fake.url}
    with django_db_blocker.unblock():
        tenant = Tenant.objects.get(slug="beta")
        OrmQ.objects.all().delete()
        with slow_campaign(tenant, "controls") as (campaign, owner, usage_before):
            cluster = start_cluster(env)
            try:
                # Pause as soon as the first batches are with the ESP.
                _wait(lambda: _counts(tenant, campaign)["in_flight"] >= 60)
                pause = _click(tenant, campaign, campaign_pause, owner)
                paused, later = _settled(tenant, campaign, S.PAUSED)
                after_pause = _after(fake, pause)
                print(f"\npause: {pause | after_pause} -> {paused}")  # noqa: T201

                with schema_context(tenant.schema_name):
                    campaign_resume(campaign=campaign, user=owner)
                _wait(lambda: _counts(tenant, campaign)["sent"] >= paused["sent"] + 200)
                _wait(lambda: _counts(tenant, campaign)["in_flight"] >= 60)
                cancel = _click(tenant, campaign, campaign_cancel, owner)
                cancelled, later_cancel = _settled(tenant, campaign, S.CANCELLED)
                after_cancel = _after(fake, cancel)
                print(f"cancel: {cancel | after_cancel} -> {cancelled}")  # noqa: T201
            finally:
                errors = stop_cluster(cluster).decode()[-2000:]
            with schema_context(tenant.schema_name):
                campaign.refresh_from_db()
                usage_after = _usage()
                notice = Notification.objects.filter(
                    recipient=owner, link__contains=f"/campaign/{campaign.pk}/"
                ).get()
    stats = fake.stats()

    # The click went into the pausing state while batches were with the ESP.
    assert pause["status"] == S.PAUSING, errors
    assert pause["in_flight"] > 0
    # No batch claimed after the click reached the ESP; only those in flight completed.
    assert after_pause["new_batches_after_click"] == 0
    assert after_pause["accepted_after_click"] <= pause["in_flight"]
    assert pause["sent"] <= paused["sent"] <= pause["sent"] + pause["in_flight"]
    assert paused == later  # nothing rises once "Paused" shows
    assert paused["in_flight"] == 0

    assert cancel["status"] == S.CANCELLING
    assert after_cancel["new_batches_after_click"] == 0
    assert after_cancel["accepted_after_click"] <= cancel["in_flight"]
    assert cancel["sent"] <= cancelled["sent"] <= cancel["sent"] + cancel["in_flight"]
    assert cancelled == later_cancel
    assert cancelled["sent"] < RECIPIENTS
    assert cancelled["sent"] == fake.accepted_since(0)
    assert stats["duplicates"] == 0
    # The month counts only what was sent; the starter hears that it was cancelled.
    assert usage_after - usage_before == cancelled["sent"]
    assert campaign.finished_at is not None
    assert notice.title == f"Campaign cancelled: {campaign.name}"
