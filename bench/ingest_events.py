"""Post 100,000 SendGrid events in batches of 1,000 to the running webhook and report events/s.

The webhook runs under gunicorn (2 workers) on loopback against a throw-away database;
4 client threads post concurrently with basic auth. Beside it, in the same run, a 5,000-event
sample goes through Anymail's stock tracking view with a signal receiver that stores one
event per INSERT (the stock approach). Then the events table is grown past 1,000,000 rows
and the campaign report, the dashboard and a filtered recipient list are timed.
"""

import base64
import json
import os
import random
import statistics
import threading
import time

import requests
from _common import bench_database, gunicorn_start

EVENTS = 100_000
BATCH = 1_000
STOCK_EVENTS = 5_000
PORT = 8767
AUTH = "hook:bench-secret"
RECIPIENTS_URL = "/admin/campaigns/campaignrecipient/"


def setup(tenant, recipients: int) -> int:
    from django.db import connection
    from django.utils import timezone

    from engagex.campaigns.models import Campaign
    from engagex.email_templates.models import EmailTemplate

    with connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO contacts_contact (email, first_name, last_name, phone, language, timezone,
                attributes, status, status_source, consent_source, soft_bounces, created_at,
                updated_at)
            SELECT 'person' || i || '@example.com', 'P' || i, '', '', '', '', '{}', 'subscribed',
                'bench', '', 0, now(), now()
            FROM generate_series(1, %s) i
            """,
            [recipients],
        )
        # Through the model: its columns (and their defaults) change with the editor.
        template_id = EmailTemplate.objects.create(name="B", subject="S", html_body="<p>x</p>").pk
        campaign_id = Campaign.objects.create(
            name="Bench", template_id=template_id, from_name="B", from_email="b@example.com",
            status=Campaign.Status.SENT, content_subject="S", recipients_total=recipients,
            started_at=timezone.now(),
        ).pk  # fmt: skip
        cursor.execute(
            "INSERT INTO campaigns_campaignrecipient (campaign_id, contact_id, email, status, "
            "message_id, error, bounce_type, sent_at) "
            "SELECT %s, id, email, 'sent', '', '', '', now() FROM contacts_contact",
            [campaign_id],
        )
        # A workspace's tables have statistics (autovacuum keeps them); without them the
        # first pass plans lookups by contact as scans of the whole table.
        cursor.execute("ANALYZE contacts_contact")
        cursor.execute("ANALYZE campaigns_campaignrecipient")
        cursor.execute("SELECT min(id) FROM campaigns_campaignrecipient")
        first = cursor.fetchone()[0]
    return campaign_id, first


def another_campaign(campaign_id: int) -> tuple[int, int]:
    """Another sent campaign to the same contacts: the same events again, for another pass."""
    from django.db import connection

    from engagex.campaigns.models import Campaign

    original = Campaign.objects.get(pk=campaign_id)
    original.pk = None
    original.name = "Bench again"
    original.save()
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO campaigns_campaignrecipient (campaign_id, contact_id, email, status, "
            "message_id, error, bounce_type, sent_at) "
            "SELECT %s, id, email, 'sent', '', '', '', now() FROM contacts_contact ORDER BY id "
            "RETURNING id",
            [original.pk],
        )
        first = min(row[0] for row in cursor.fetchall())
    return original.pk, first


def engagement_summary(enabled: bool) -> None:
    """Switch off (or back on) everything that keeps contacts' engagement summary: the
    recipients' triggers (campaigns migrations 0008, 0009) and the webhook's own merges into
    the summary (a trigger on the summary skips every row they insert or update)."""
    from django.db import connection

    with connection.cursor() as cursor:
        if enabled:
            cursor.execute("ALTER TABLE campaigns_campaignrecipient ENABLE TRIGGER USER")
            cursor.execute("DROP TRIGGER bench_skip ON campaigns_contactengagement")
            cursor.execute("DROP FUNCTION bench_skip_row()")
            return
        cursor.execute("ALTER TABLE campaigns_campaignrecipient DISABLE TRIGGER USER")
        cursor.execute(
            "CREATE FUNCTION bench_skip_row() RETURNS trigger LANGUAGE plpgsql "
            "AS $$ BEGIN RETURN NULL; END $$"
        )
        cursor.execute(
            "CREATE TRIGGER bench_skip BEFORE INSERT ON campaigns_contactengagement "
            "FOR EACH ROW EXECUTE FUNCTION bench_skip_row()"
        )


def make_events(schema, campaign_id, first_recipient, recipients, count, prefix):
    rng = random.Random(7)
    kinds = ["delivered"] * 40 + ["open"] * 30 + ["click"] * 15 + ["processed"] * 10
    kinds += ["bounce"] * 3 + ["deferred"] * 2
    now = int(time.time())
    events = []
    for i in range(count):
        kind = rng.choice(kinds)
        rid = first_recipient + rng.randrange(recipients)
        event = {
            "email": f"person{rid}@example.com",
            "timestamp": now - rng.randrange(86400),
            "event": kind,
            "sg_event_id": f"{prefix}-{i}",
            "sg_message_id": f"m{rid}",
            "schema": schema,
            "campaign": str(campaign_id),
            "recipient": str(rid),
        }
        if kind == "click":
            event["url"] = f"https://shop.example/p/{rng.randrange(20)}"
        if kind == "open":
            event["sg_machine_open"] = rng.random() < 0.2
        if kind == "bounce":
            event["type"] = rng.choice(["bounce", "blocked"])
        events.append(event)
    return events


def post_all(batches) -> float:
    url = f"http://127.0.0.1:{PORT}/anymail/sendgrid/tracking/"
    header = {
        "Authorization": "Basic " + base64.b64encode(AUTH.encode()).decode(),
        "Content-Type": "application/json",
        "Host": "localhost",
    }
    queue = list(reversed(batches))
    lock = threading.Lock()
    failures = []

    def worker():
        session = requests.Session()
        while True:
            with lock:
                if not queue:
                    return
                body = queue.pop()
            response = session.post(url, data=body, headers=header, timeout=60)
            if response.status_code != 200:
                failures.append(response.status_code)

    start = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.perf_counter() - start
    assert not failures, failures[:5]
    return elapsed


def stock_ingest(events) -> float:
    """Anymail's stock view + signal receiver: one lookup and one INSERT per event."""
    from anymail.signals import tracking
    from django.db import connection
    from django.test import Client
    from django.utils import timezone
    from django_tenants.utils import schema_context

    from engagex.analytics.models import EmailEvent
    from engagex.campaigns.models import CampaignRecipient

    def receiver(sender, event, esp_name, **kwargs):
        meta = event.metadata
        with schema_context(meta["schema"]):
            recipient = CampaignRecipient.objects.get(pk=int(meta["recipient"]))
            EmailEvent.objects.create(
                event_id=event.event_id, type=event.esp_event["event"],
                campaign_id=recipient.campaign_id, recipient_id=recipient.pk,
                contact_id=recipient.contact_id, occurred_at=event.timestamp,
                received_at=timezone.now(), url=event.click_url or "",
            )  # fmt: skip

    tracking.connect(receiver, weak=False)
    client = Client(HTTP_HOST="localhost")
    auth = "Basic " + base64.b64encode(AUTH.encode()).decode()
    start = time.perf_counter()
    for i in range(0, len(events), BATCH):
        response = client.post(
            "/bench/stock-anymail/", json.dumps(events[i : i + BATCH]),
            content_type="application/json", HTTP_AUTHORIZATION=auth,
        )  # fmt: skip
        assert response.status_code == 200, response.status_code
    tracking.disconnect(receiver)
    connection.set_schema_to_public()
    return time.perf_counter() - start


def grow_events(campaign_id, first, recipients, total):
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM analytics_emailevent")
        have = cursor.fetchone()[0]
        cursor.execute(
            """
            INSERT INTO analytics_emailevent (event_id, type, campaign_id, recipient_id,
                contact_id, occurred_at, received_at, url, bounce_type, reason, machine_open)
            SELECT 'grow-' || i, (ARRAY['delivered','open','click','processed'])[1 + i %% 4],
                %s, %s + (i %% %s), NULL, now(), now(), '', '', '', false
            FROM generate_series(1, %s) i
            """,
            [campaign_id, first, recipients, max(0, total - have)],
        )
        cursor.execute("ANALYZE analytics_emailevent")
        cursor.execute("SELECT count(*) FROM analytics_emailevent")
        return cursor.fetchone()[0]


def time_page(client, url, repeat=7) -> float:
    from django.core.cache import cache

    samples = []
    for _ in range(repeat):
        cache.clear()  # time the uncached dashboard
        start = time.perf_counter()
        response = client.get(url)
        samples.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    return statistics.median(samples)


def main():
    os.environ["ANYMAIL_WEBHOOK_SECRET"] = AUTH
    recipients = 100_000
    with bench_database("engagex_bench_events"):
        server = None  # stopped before the database is dropped
        try:
            from anymail.webhooks.sendgrid import SendGridTrackingWebhookView
            from django.conf import settings
            from django.urls import path
            from django_tenants.test.client import TenantClient
            from django_tenants.utils import schema_context

            from config import urls_public
            from engagex.analytics.models import CampaignStats
            from engagex.campaigns.services.outcomes import engagement_rebuild
            from engagex.platform.provisioning import tenant_create

            settings.ANYMAIL = {**settings.ANYMAIL, "WEBHOOK_SECRET": AUTH}
            urls_public.urlpatterns.append(
                path("bench/stock-anymail/", SendGridTrackingWebhookView.as_view())
            )
            result = tenant_create(
                name="Bench", slug="bench", owner_email="o@bench.example", send_invitation=False
            )
            tenant = result.tenant
            with schema_context(tenant.schema_name):
                campaign_id, first = setup(tenant, recipients)
            events = make_events(tenant.schema_name, campaign_id, first, recipients, EVENTS, "ev")
            batches = [json.dumps(events[i : i + BATCH]) for i in range(0, EVENTS, BATCH)]
            stock_events = make_events(
                tenant.schema_name, campaign_id, first, recipients, STOCK_EVENTS, "stock"
            )
            stock_seconds = stock_ingest(stock_events)

            server = gunicorn_start(PORT)
            ours_seconds = post_all(batches)
            with schema_context(tenant.schema_name):
                delivered_after = CampaignStats.objects.get(campaign_id=campaign_id).delivered
            again_seconds = post_all(batches[:10])  # SendGrid redelivers: nothing may count twice
            with schema_context(tenant.schema_name):
                assert (
                    CampaignStats.objects.get(campaign_id=campaign_id).delivered == delivered_after
                )
            # What keeping the engagement summary costs the webhook, measured in this run: the
            # same events for three more campaigns, without it, with it, without it (so the
            # pass with it sits between two without, whatever the order costs).
            passes = []
            for n, kept in enumerate([False, True, False], start=2):
                with schema_context(tenant.schema_name):
                    next_id, next_first = another_campaign(campaign_id)
                    if not kept:
                        engagement_summary(False)
                more = make_events(
                    tenant.schema_name, next_id, next_first, recipients, EVENTS, f"e{n}"
                )
                try:
                    seconds = post_all(
                        [json.dumps(more[i : i + BATCH]) for i in range(0, EVENTS, BATCH)]
                    )
                finally:
                    if not kept:
                        with schema_context(tenant.schema_name):
                            engagement_summary(True)
                passes.append((kept, seconds))
            with schema_context(tenant.schema_name):
                engagement_rebuild()
            with schema_context(tenant.schema_name):
                total_events = grow_events(campaign_id, first, recipients, 1_000_000)
            client = TenantClient(tenant)
            with schema_context(tenant.schema_name):
                client.force_login(result.owner)
            pages = {
                "campaign report": f"/admin/campaigns/campaign/{campaign_id}/change/",
                "workspace dashboard": "/admin/",
                "recipients, outcome=clicked": RECIPIENTS_URL + "?outcome=clicked",
            }
            timings = {label: time_page(client, url) for label, url in pages.items()}
        finally:
            if server:
                server.terminate()
                server.wait(10)

    print(f"{'path':<52}{'events':>9}{'seconds':>9}{'events/s':>10}")
    rows = [("EngageX webhook (gunicorn, 2 workers, 4 clients)", EVENTS, ours_seconds)]
    rows += [
        (f"  campaign {n}, engagement summary {'kept' if kept else 'not kept'}", EVENTS, seconds)
        for n, (kept, seconds) in enumerate(passes, start=2)
    ]
    rows.append(("stock Anymail signal, one INSERT per event", STOCK_EVENTS, stock_seconds))
    for label, count, seconds in rows:
        print(f"{label:<52}{count:>9,}{seconds:>9.1f}{count / seconds:>10,.0f}")
    ratio = (EVENTS / ours_seconds) / (STOCK_EVENTS / stock_seconds)
    print(f"speed-up: {ratio:.0f}x; 10 redelivered batches: {again_seconds:.2f}s, none counted")
    without = statistics.mean(seconds for kept, seconds in passes if not kept)
    with_it = statistics.mean(seconds for kept, seconds in passes if kept)
    print(f"keeping the engagement summary: {with_it / without - 1:+.0%} time per event")
    print(f"delivered counter after the run: {delivered_after:,}")
    print(f"pages with {total_events:,} events in the workspace (median of 7, ms):")
    for label, ms in timings.items():
        print(f"  {label:<40}{ms:>8.0f}")


if __name__ == "__main__":
    main()
