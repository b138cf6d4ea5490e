"""Journey: pause a slow campaign in the console and watch it settle, then resume it.

A real cluster sends through a fake SendGrid that answers each request after 3 s. The
Owner pauses mid-send: the page says "Pausing…" with how many recipients are still with the
email service, then "Paused" with a count that no longer rises; Resume sends the rest.
Screenshots: test-results/browser/controls-*.png.
"""

import re
import time

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from devtools.cluster import start_cluster, stop_cluster
from engagex.campaigns.models import Campaign, CampaignRecipient
from engagex.contacts.models import Contact
from engagex.domains.models import SendingDomain
from engagex.email_templates.models import EmailTemplate
from engagex.platform.provisioning import tenant_create, tenant_delete
from tests.browser import test_journeys as journeys
from tests.browser.test_journeys import PASSWORD, Steps, _launch, _log_in

pytestmark = journeys.pytestmark
# The gunicorn harness of the main journeys (its fixtures, shared by name).
server = journeys.server
mail_dir = journeys.mail_dir
RECIPIENTS = 600
PROGRESS = re.compile(r"([\d,]+) sent · ([\d,]+) not sent · ([\d,]+) in flight · ([\d,]+) waiting")


def _progress(page) -> dict:
    text = page.get_by_test_id("campaign-progress").inner_text()
    sent, failed, flying, waiting = (
        int(n.replace(",", "")) for n in PROGRESS.search(text).groups()
    )
    return {"sent": sent, "failed": failed, "in_flight": flying, "waiting": waiting}


@pytest.fixture
def controls_workspace(server, django_db_blocker):
    """A workspace with a verified domain, 600 contacts and a draft campaign."""
    with django_db_blocker.unblock():
        tenant = tenant_create(
            name="Controls Co", slug="controls-co", owner_email="owner@controls.example",
            owner_password=PASSWORD, send_invitation=False,
        ).tenant  # fmt: skip
        with schema_context(tenant.schema_name):
            SendingDomain.objects.create(
                domain="controls.example", status="verified", dns_check_exempt=True, records=[]
            )
            Contact.objects.bulk_create(
                Contact(email=f"reader{i}@readers.example", first_name=f"Reader {i}")
                for i in range(RECIPIENTS)
            )
            template = EmailTemplate.objects.create(
                name="Spring",
                subject="Spring news",
                html_body='<p>Hi {{ contact.first_name }}</p><a href="{{ unsubscribe_url }}">x</a>',
            )
            campaign = Campaign.objects.create(
                name="Spring sale", template=template, from_name="Controls",
                from_email="news@controls.example",
            )  # fmt: skip
        connection.close()
    try:
        yield tenant, campaign
    finally:
        with django_db_blocker.unblock():
            tenant_delete(tenant=tenant)


def test_pause_a_slow_campaign_watch_it_settle_and_resume_it(
    server, controls_workspace, django_db_blocker, fake_sendgrid_server
):
    from playwright.sync_api import expect, sync_playwright

    port = server
    tenant, campaign = controls_workspace
    workspace = f"http://controls-co.localhost:{port}"
    fake = fake_sendgrid_server
    fake.reset()
    fake.latency = 3.0
    cluster = start_cluster(
        {
            "SENDGRID_API_KEY": "SG.controls",
            "SENDGRID_API_URL": fake.url,
            "CAMPAIGN_BATCH_SIZE": "20",
            "CAMPAIGN_SEND_TASKS": "2",
            "CAMPAIGN_REQUESTS_IN_FLIGHT": "3",
        }
    )
    try:
        with sync_playwright() as playwright:
            browser = _launch(playwright)
            page = browser.new_page(viewport={"width": 1440, "height": 900})
            page.set_default_timeout(30_000)
            steps = Steps(page, prefix="controls")
            page.goto(f"{workspace}/admin/login/")
            _log_in(page, "owner@controls.example", PASSWORD)
            change = f"{workspace}/admin/campaigns/campaign/{campaign.pk}/change/"

            # 1. Send it; batches go out while the page refreshes itself.
            page.goto(change)
            page.get_by_role("link", name="Send now…").click()
            page.click("button:has-text('Confirm')")
            expect(page.get_by_test_id("campaign-status")).to_have_text("Sending")
            expect(page.get_by_test_id("campaign-progress")).to_contain_text(
                re.compile(r"[1-9][\d,]* in flight")
            )
            steps.shot("sending")

            # 2. Pause: "Pausing…" with what is still with the email service.
            page.get_by_role("link", name="Pause").click()
            steps.shot("pause-confirm")
            page.click("button:has-text('Confirm')")
            expect(page.get_by_test_id("campaign-status")).to_have_text("Pausing…")
            settling = page.get_by_test_id("campaign-settling")
            expect(settling).to_contain_text(re.compile(r"Pausing… [\d,]+ recipients? (is|are)"))
            pausing = _progress(page)
            assert pausing["in_flight"] > 0
            steps.shot("pausing")

            # 3. It settles by itself: "Paused", and the count no longer rises.
            expect(page.get_by_test_id("campaign-status")).to_have_text("Paused", timeout=30_000)
            paused = _progress(page)
            steps.shot("paused")
            time.sleep(4)
            page.reload()
            assert _progress(page) == paused
            assert paused["in_flight"] == 0
            assert paused["sent"] <= pausing["sent"] + pausing["in_flight"]
            assert paused["sent"] < RECIPIENTS
            steps.shot("paused-still")
            accepted_while_paused = fake.stats()["accepted"]
            assert accepted_while_paused == paused["sent"]

            # 4. Resume to the end.
            page.get_by_role("link", name="Resume").click()
            page.click("button:has-text('Confirm')")
            expect(page.get_by_test_id("campaign-status")).to_have_text("Sent", timeout=90_000)
            done = _progress(page)
            steps.shot("sent")
            browser.close()
    finally:
        stop_cluster(cluster)
    with django_db_blocker.unblock(), schema_context(tenant.schema_name):
        sent = CampaignRecipient.objects.filter(campaign=campaign, status="sent").count()
        connection.close()
    assert done == {"sent": RECIPIENTS, "failed": 0, "in_flight": 0, "waiting": 0}
    assert sent == RECIPIENTS
    stats = fake.stats()
    assert (fake.accepted_since(0), stats["duplicates"]) == (RECIPIENTS, 0)  # + notices
