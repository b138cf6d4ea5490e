from django.test import Client
from django.urls import reverse
from django_q.models import Task
from django_tenants.utils import schema_context

from engagex.analytics.models import CampaignStats
from engagex.campaigns.services.campaigns import campaign_start
from engagex.campaigns.services.sending import campaign_send_some
from engagex.campaigns.services.unsubscribe import (
    contact_unsubscribe,
    unsubscribe_token,
    unsubscribe_token_parse,
)
from tenants.models import DailySends
from tests.analytics.conftest import event, post
from tests.factories.campaigns import CampaignFactory
from tests.factories.contacts import ContactFactory


def _url(name, *args, urlconf="config.urls_tenants"):
    return reverse(name, args=args, urlconf=urlconf)


def test_campaign_page_shows_results_chart_and_top_links(owner_client, tenant, sent):
    campaign, (a, b, _) = sent
    with schema_context(tenant.schema_name):
        from django.utils import timezone

        campaign.started_at = timezone.now()
        campaign.save()
    post(
        [
            event("delivered", a),
            event("delivered", b),
            event("open", a),
            event("open", b, sg_machine_open=True),
            event("click", a, url="https://shop.example/deal"),
        ]
    )

    body = owner_client.get(_url("admin:campaigns_campaign_change", campaign.pk)).content.decode()

    assert "Unique opens · 50.0%" in body
    assert "Machine opens" in body
    assert "https://shop.example/deal" in body
    assert 'data-type="line"' in body


def test_recipients_filter_by_outcome_and_export(owner_client, tenant, sent):
    campaign, (a, b, c) = sent
    post([event("delivered", a), event("open", a), event("bounce", b, type="bounce")])
    changelist = _url("admin:campaigns_campaignrecipient_changelist")

    opened = owner_client.get(changelist, {"outcome": "opened"}).content.decode()
    bounced = owner_client.get(changelist, {"outcome": "bounced"}).content.decode()
    export = owner_client.get(
        _url("admin:campaigns_campaignrecipient_export"), {"outcome": "opened"}
    )

    assert a.email in opened
    assert b.email not in opened
    assert b.email in bounced
    rows = b"".join(export.streaming_content).decode("utf-8-sig").strip().splitlines()
    assert rows[0].startswith("Email,Campaign,Status,Sent,Delivered,First open")
    assert len(rows) == 2
    assert rows[1].startswith(a.email)


def test_recipient_export_times_are_the_workspaces_to_the_second(owner_client, tenant, sent):
    from datetime import UTC, datetime

    from engagex.campaigns.models import CampaignRecipient

    campaign, (a, _, _) = sent
    type(tenant).objects.filter(pk=tenant.pk).update(timezone="America/New_York")
    with schema_context(tenant.schema_name):
        CampaignRecipient.objects.filter(pk=a.pk).update(
            sent_at=datetime(2026, 7, 1, 12, 30, 15, 123456, tzinfo=UTC)
        )

    export = owner_client.get(_url("admin:campaigns_campaignrecipient_export"))

    rows = b"".join(export.streaming_content).decode("utf-8-sig").strip().splitlines()
    [row] = [r for r in rows if r.startswith(a.email)]
    assert row.split(",")[3] == "2026-07-01 08:30:15"  # New York, summer: UTC-4


def test_workspace_dashboard_shows_audience_sends_and_campaigns(owner_client, tenant, sent):
    campaign, _ = sent
    with schema_context(tenant.schema_name):
        CampaignStats.objects.create(campaign=campaign, delivered=4, opens_unique=1)

    body = owner_client.get("/admin/").content.decode()

    assert "Emails this month (plan limit)" in body
    assert campaign.name in body
    assert "25.0%" in body
    assert "Audience over the last 30 days" in body


def test_platform_dashboard_shows_volume_and_failed_tasks(platform_client, tenant, fake_sendgrid):
    with schema_context(tenant.schema_name):
        ContactFactory.create_batch(2)
        campaign = CampaignFactory()
        campaign_start(campaign_id=campaign.pk)
        while campaign_send_some(campaign_id=campaign.pk):
            pass
    Task.objects.create(
        id="f" * 32, name="broken", func="engagex.x.y", started="2026-11-25T00:00Z",
        stopped="2026-11-25T00:00Z", success=False, result="boom",
    )  # fmt: skip

    body = platform_client.get("/admin/").content.decode()

    assert DailySends.objects.get(tenant=tenant).sends == 2
    assert "Emails sent per day, all workspaces" in body
    assert "Alpha Corp" in body
    assert "engagex.x.y" in body


def test_link_unsubscribes_count_in_the_campaign_stats(tenant, sent):
    campaign, (a, _, _) = sent
    token = unsubscribe_token(
        schema=tenant.schema_name, contact_id=a.contact_id, campaign_id=campaign.pk
    )

    contact_unsubscribe(target=unsubscribe_token_parse(token))
    contact_unsubscribe(target=unsubscribe_token_parse(token))

    with schema_context(tenant.schema_name):
        assert CampaignStats.objects.get(campaign=campaign).unsubscribes == 1


def test_dashboards_need_a_login(tenant):
    from django_tenants.test.client import TenantClient

    assert TenantClient(tenant).get("/admin/").status_code == 302
    assert Client(HTTP_HOST="localhost").get("/admin/").status_code == 302


def test_the_recipient_list_names_outcomes_and_filters_in_the_readers_language(
    owner_client, tenant, sent
):
    campaign, (a, b, c) = sent
    post([event("delivered", a), event("open", a)])
    owner_client.cookies["django_language"] = "de"

    body = owner_client.get(_url("admin:campaigns_campaignrecipient_changelist")).content.decode()

    assert "Geöffnet" in body  # a's outcome and the filter choice
    assert "Keine Rückmeldung bisher" in body  # the filter's "No event yet"
    assert "No event yet" not in body
    assert "Opened" not in body
