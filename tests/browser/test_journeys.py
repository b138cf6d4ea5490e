"""Main journeys in headless Chromium against a real server (gunicorn) and a real cluster.

A platform superuser creates a workspace; its Owner sets a password, imports a CSV with a
bad row and sees the rejected row, creates and previews a template, sends a campaign to the
fake SendGrid, sees its results after SendGrid's events are posted, and invites a teammate.
Every step leaves a screenshot in test-results/browser/.
"""

import base64
import json
import os
import re
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import pytest
import requests
from django.db import connection
from django_tenants.utils import schema_context

from engagex.campaigns.models import Campaign, CampaignRecipient
from engagex.domains.models import SendingDomain
from tenants.models import Tenant
from tenants.services import tenant_delete
from tests.cluster import ROOT, start_cluster, wait_for
from tests.fixtures.tenants import PLATFORM_ADMIN

CHROMIUM = "/usr/bin/chromium"
SHOTS = ROOT / "test-results" / "browser"
PASSWORD = "Browser-pass-2026"  # noqa: S105 - a throw-away test workspace

pytestmark = [
    pytest.mark.browser,
    pytest.mark.skipif(not Path(CHROMIUM).exists(), reason="needs Debian's chromium"),
]


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture
def server(django_db_setup, django_db_blocker, fake_sendgrid_server):
    """gunicorn on the test database; yields its port. Cleans up the workspace it creates."""
    port = _free_port()
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "ENGAGEX_TEST_DATABASE_NAME": connection.settings_dict["NAME"],
        "SITE_PORT": f":{port}",
        "ANYMAIL_WEBHOOK_SECRET": "hook:browser",
    }
    process = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "config.wsgi:application", "--bind",
         f"127.0.0.1:{port}", "--workers", "2", "--log-level", "warning"],
        cwd=ROOT, env={**env, "DJANGO_SETTINGS_MODULE": "config.settings.browser"},
        start_new_session=True,
    )  # fmt: skip
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            health = f"http://127.0.0.1:{port}/healthz"
            requests.get(health, headers={"Host": "localhost"}, timeout=10)
            break
        except requests.RequestException:  # not listening yet, or still starting up
            time.sleep(0.2)
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"  # ORM calls between Playwright calls
    yield port
    os.killpg(process.pid, signal.SIGKILL)  # workers too: none may keep a database session
    process.wait(10)
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        try:
            os.killpg(process.pid, 0)
        except ProcessLookupError:
            break
        time.sleep(0.1)
    with django_db_blocker.unblock():
        for tenant in Tenant.objects.filter(slug="browser-co"):
            tenant_delete(tenant=tenant)


class Steps:
    def __init__(self, page):
        self.page = page
        self.count = 0
        SHOTS.mkdir(parents=True, exist_ok=True)

    def shot(self, name: str) -> None:
        self.count += 1
        self.page.screenshot(path=str(SHOTS / f"{self.count:02d}-{name}.png"), full_page=True)


def test_main_journeys(server, django_db_blocker, fake_sendgrid_server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    port = server
    platform = f"http://localhost:{port}"
    workspace = f"http://browser-co.localhost:{port}"
    fake_sendgrid_server.reset()
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(
            executable_path=CHROMIUM,
            args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.set_default_timeout(20_000)
        steps = Steps(page)

        # 1. The platform superuser creates a workspace.
        page.goto(f"{platform}/admin/login/")
        page.fill("#id_username", PLATFORM_ADMIN[0])
        page.fill("#id_password", PLATFORM_ADMIN[1])
        page.click("button[type=submit]")
        page.goto(f"{platform}/admin/tenants/tenant/add/")
        page.fill("#id_name", "Browser Co")
        page.fill("#id_slug", "browser-co")
        page.fill("#id_owner_email", "owner@browser.example")
        page.click("button[name=_save]")
        expect(page.get_by_text("Workspace ready at")).to_be_visible()
        steps.shot("workspace-created")
        link = page.get_by_role("link", name="their set-password link").get_attribute("href")

        # 2. The Owner chooses a password and logs in.
        page.goto(link)
        page.fill("#id_new_password1", PASSWORD)
        page.fill("#id_new_password2", PASSWORD)
        page.click("button[type=submit]")
        expect(page.get_by_text("Your password is set")).to_be_visible()
        page.goto(f"{workspace}/admin/login/")
        page.fill("#id_username", "owner@browser.example")
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        expect(page.get_by_text("Audience over the last 30 days")).to_be_visible()
        steps.shot("owner-dashboard")

        # 3. Import a CSV with a bad row and see the rejected row and its report.
        csv_file = tmp_path / "people.csv"
        csv_file.write_text(
            "Email,First Name\nann@example.com,Ann\nbob@example.com,Bob\nnot-an-email,Bad\n"
        )
        page.goto(f"{workspace}/admin/contacts/importjob/add/")
        page.set_input_files("input[type=file]", str(csv_file))
        page.click("button:has-text('Upload and continue')")
        expect(page.get_by_text("Map the columns")).to_be_visible()
        steps.shot("import-mapping")
        page.click("button:has-text('Check the file (dry run)')")
        expect(page.get_by_text("“not-an-email” is not a valid email address.")).to_be_visible()
        expect(page.get_by_role("link", name="Download rejected rows (CSV)")).to_be_visible()
        steps.shot("import-dry-run")
        page.click("button:has-text('Import now')")
        expect(page.get_by_text("Import finished").first).to_be_visible()
        steps.shot("import-finished")

        # 4. Create a template and preview it.
        page.goto(f"{workspace}/admin/email_templates/emailtemplate/add/")
        page.fill("#id_name", "Welcome")
        page.fill("#id_subject", 'Hello {{ contact.first_name|default:"there" }}')
        page.fill(
            "#id_html_body",
            '<h1>Hi {{ contact.first_name }}</h1><a href="{{ unsubscribe_url }}">Unsubscribe</a>',
        )
        page.click("button[name=_save]")
        page.goto(f"{workspace}/admin/email_templates/emailtemplate/")
        page.get_by_role("link", name="Welcome").first.click()
        page.goto(page.url.replace("/change/", "/preview/"))
        expect(page.locator("iframe[sandbox]")).to_be_visible()
        steps.shot("template-preview")

        # 5. Create and send a campaign (from a verified domain) to the fake SendGrid.
        with django_db_blocker.unblock(), schema_context("browser_co"):
            SendingDomain.objects.create(
                domain="browser.example", status="verified", dns_check_exempt=True, records=[]
            )
            # Inside Playwright's greenlet the ORM opens a connection of its own: close it.
            connection.close()
        page.goto(f"{workspace}/admin/campaigns/campaign/add/")
        page.fill("#id_name", "Browser launch")
        template_id = page.evaluate(
            "async () => (await (await fetch('/api/v1/templates/')).json()).results[0].id"
        )
        page.evaluate(
            f"""() => {{
                const select = document.querySelector('#id_template');
                select.add(new Option('Welcome', '{template_id}', true, true));
                select.dispatchEvent(new Event('change', {{bubbles: true}}));
            }}"""
        )
        page.fill("#id_from_name", "Browser Co")
        page.fill("#id_from_email", "news@browser.example")
        page.click("button[name=_save]")
        page.get_by_role("link", name="Browser launch").first.click()
        page.get_by_role("link", name="Send now…").click()
        expect(page.get_by_text("It goes to")).to_be_visible()
        steps.shot("send-confirm")
        page.click("button:has-text('Confirm')")
        with django_db_blocker.unblock():

            def finished():
                with schema_context("browser_co"):
                    return Campaign.objects.get(name="Browser launch").status == "sent"

            wait_for(
                finished,
                [
                    start_cluster(
                        {
                            "SENDGRID_API_KEY": "SG.browser",
                            "SENDGRID_API_URL": fake_sendgrid_server.url,
                        }
                    )
                ],
                timeout=60,
            )
            with schema_context("browser_co"):
                campaign = Campaign.objects.get(name="Browser launch")
                recipients = list(CampaignRecipient.objects.filter(campaign=campaign))
            connection.close()
        assert campaign.status == "sent"
        delivered = fake_sendgrid_server.delivered
        assert (delivered["ann@example.com"], delivered["bob@example.com"]) == (1, 1)

        # 6. SendGrid posts events; the campaign page shows the results.
        events = [
            {"email": r.email, "timestamp": int(time.time()), "event": kind,
             "sg_event_id": f"browser-{kind}-{r.pk}", "schema": "browser_co",
             "campaign": str(campaign.pk), "recipient": str(r.pk)}
            for r in recipients for kind in ("delivered", "open")
        ]  # fmt: skip
        posted = requests.post(
            f"http://127.0.0.1:{port}/anymail/sendgrid/tracking/",
            data=json.dumps(events),
            headers={"Host": "localhost", "Content-Type": "application/json",
                     "Authorization": "Basic " + base64.b64encode(b"hook:browser").decode()},
            timeout=30,
        )  # fmt: skip
        assert posted.json()["stored"] == 4
        page.goto(f"{workspace}/admin/campaigns/campaign/{campaign.pk}/change/")
        expect(page.get_by_text("Unique opens · 100.0%")).to_be_visible()
        steps.shot("campaign-results")

        # 7. Invite a teammate.
        page.goto(f"{workspace}/admin/accounts/user/add/")
        page.fill("#id_email", "teammate@browser.example")
        page.select_option("#id_role", "Marketer")
        page.click("button[name=_save]")
        expect(
            page.get_by_text(re.compile("An invitation was emailed to teammate@browser.example"))
        ).to_be_visible()
        steps.shot("teammate-invited")
        browser.close()
