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

from devtools.cluster import ROOT, start_cluster, wait_for
from engagex.campaigns.models import Campaign, CampaignRecipient
from engagex.domains.models import SendingDomain
from engagex.platform.provisioning import tenant_create, tenant_delete
from tenants.models import Tenant
from tests.fixtures.tenants import PLATFORM_ADMIN

CHROMIUM = "/usr/bin/chromium"
SHOTS = ROOT / "test-results" / "browser"
STRIPE_WEBHOOK_SECRET = "whsec_browser"  # noqa: S105 - signs the fake Stripe's events only
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
def mail_dir(tmp_path_factory) -> Path:
    """Where the server writes the emails it sends (sign-up codes, invitations)."""
    return tmp_path_factory.mktemp("mail")


def _last_mail(mail_dir: Path, to: str) -> str:
    """The newest email the server wrote to `to` (the file backend's .log files)."""
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        files = sorted(mail_dir.glob("*.log"), key=lambda f: f.stat().st_mtime, reverse=True)
        for file in files:
            text = file.read_text()
            if f"To: {to}" in text:
                return text
        time.sleep(0.2)
    raise AssertionError(f"no email to {to}")


@pytest.fixture
def server(django_db_setup, django_db_blocker, fake_sendgrid_server, fake_stripe_server, mail_dir):
    """gunicorn on the test database; yields its port. Cleans up the workspaces it creates."""
    port = _free_port()
    # The fake Stripe's hosted pages deliver their signed events to this server.
    fake_stripe_server.webhook_url = f"http://localhost:{port}/billing/stripe/webhook/"
    fake_stripe_server.webhook_secret = STRIPE_WEBHOOK_SECRET
    env = {
        "STRIPE_SECRET_KEY": "sk_test_browserFakeKey00000000000001",
        "STRIPE_API_HOST": fake_stripe_server.url,
        "STRIPE_WEBHOOK_SECRET": STRIPE_WEBHOOK_SECRET,
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.test",
        "ENGAGEX_TEST_DATABASE_NAME": connection.settings_dict["NAME"],
        "SITE_PORT": f":{port}",
        "ANYMAIL_WEBHOOK_SECRET": "hook:browser",
        "EMAIL_FILE_PATH": str(mail_dir),
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
        for tenant in Tenant.objects.filter(slug__in=["browser-co", "signup-co", "billing-co"]):
            tenant_delete(tenant=tenant)


# What Chromium printed about Content-Security-Policy violations during the current test.
CSP_VIOLATIONS: list[str] = []


@pytest.fixture(autouse=True)
def _no_csp_violations():
    """Every journey fails if the browser refused anything under our Content-Security-Policy."""
    CSP_VIOLATIONS.clear()
    yield
    assert CSP_VIOLATIONS == []


def _watch_csp(target) -> None:
    def record(message):
        if "Content Security Policy" in message.text or "Content-Security-Policy" in message.text:
            CSP_VIOLATIONS.append(f"{message.location.get('url', '')}: {message.text}")

    target.on("console", record)


def _launch(playwright):
    browser = playwright.chromium.launch(
        executable_path=CHROMIUM,
        args=["--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking"],
    )
    new_page, new_context = browser.new_page, browser.new_context

    def watched_page(*args, **kwargs):
        page = new_page(*args, **kwargs)
        _watch_csp(page)
        return page

    def watched_context(*args, **kwargs):
        context = new_context(*args, **kwargs)
        _watch_csp(context)  # every page it opens
        return context

    browser.new_page, browser.new_context = watched_page, watched_context
    return browser


class Steps:
    def __init__(self, page, prefix: str = ""):
        self.page = page
        self.count = 0
        self.prefix = f"{prefix}-" if prefix else ""
        SHOTS.mkdir(parents=True, exist_ok=True)

    def shot(self, name: str) -> None:
        self.count += 1
        path = SHOTS / f"{self.prefix}{self.count:02d}-{name}.png"
        self.page.screenshot(path=str(path), full_page=True)


def pick_template(page, name: str, pk) -> None:
    """Choose the campaign's template in its autocomplete box, as picking it from the list
    does (the select only holds what a search has loaded)."""
    page.evaluate(
        f"""() => {{
            const select = document.querySelector('#id_template');
            select.add(new Option({name!r}, '{pk}', true, true));
            select.dispatchEvent(new Event('change', {{bubbles: true}}));
        }}"""
    )


def test_main_journeys(server, django_db_blocker, fake_sendgrid_server, tmp_path):
    from playwright.sync_api import expect, sync_playwright

    port = server
    platform = f"http://localhost:{port}"
    workspace = f"http://browser-co.localhost:{port}"
    fake_sendgrid_server.reset()
    with sync_playwright() as playwright:
        browser = _launch(playwright)
        page = browser.new_page(viewport={"width": 1440, "height": 900})
        page.set_default_timeout(20_000)
        steps = Steps(page)

        # 1. The platform superuser creates a workspace.
        page.goto(f"{platform}/admin/login/")
        _log_in(page, *PLATFORM_ADMIN)
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
        steps.shot("login")
        _log_in(page, "owner@browser.example", PASSWORD)
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
        pick_template(page, "Welcome", template_id)
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
            page.get_by_text(re.compile("Invitation emailed to teammate@browser.example"))
        ).to_be_visible()
        steps.shot("teammate-invited")
        browser.close()


def _log_in(page, email: str, password: str) -> None:
    """allauth's login form (the console's /admin/login/ leads there)."""
    page.fill("#id_login", email)
    page.fill("#id_password", password)
    page.click("form[action^='/accounts/login/'] button[type=submit]")


def test_api_docs_work_under_their_policy(server):
    """Swagger UI (served locally, strict policy: no inline script) renders the API for a
    logged-in Owner, and the browser reports no policy violation (checked by the fixture)."""
    from playwright.sync_api import expect, sync_playwright

    from tests.fixtures.tenants import OWNER_PASSWORD, SESSION_TENANTS

    workspace = f"http://alpha.localhost:{server}"
    with sync_playwright() as playwright:
        browser = _launch(playwright)
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.set_default_timeout(20_000)
        page.goto(f"{workspace}/admin/login/")
        _log_in(page, SESSION_TENANTS["alpha"][1], OWNER_PASSWORD)
        expect(page.get_by_text("Audience over the last 30 days")).to_be_visible()

        response = page.goto(f"{workspace}/api/v1/docs/")

        # django-csp orders directives differently in each process (it walks a set).
        policy = dict(
            (part.split()[0], part.split()[1:])
            for part in response.headers["content-security-policy"].split(";")
            if part.strip()
        )
        assert policy["script-src"] == ["'self'"]
        expect(page.get_by_text("EngageX API").first).to_be_visible()
        expect(
            page.locator(".opblock-summary-path", has_text="/api/v1/contacts/").first
        ).to_be_visible()
        Steps(page, prefix="api").shot("swagger-ui")
        browser.close()


TOTP_MARGIN = 10  # seconds the server gets to check a code before its 30 s step ends


def _totp(secret: str) -> str:
    """The current code, from a step with at least TOTP_MARGIN seconds left.

    The server runs in another process, so its clock cannot be frozen: near the end of a
    step, wait for the next one rather than type a code that expires before it is checked.
    """
    from allauth.mfa import app_settings
    from allauth.mfa.totp.internal.auth import format_hotp_value, hotp_value

    period = app_settings.TOTP_PERIOD
    left = period - time.time() % period
    if left < TOTP_MARGIN:
        time.sleep(left)
    return format_hotp_value(hotp_value(secret, int(time.time()) // period))


def test_sign_up_invite_and_mfa_journey(server, django_db_blocker, mail_dir):
    """An organisation signs up, its Owner invites a teammate who joins, then turns on MFA."""
    from playwright.sync_api import expect, sync_playwright

    port = server
    platform = f"http://localhost:{port}"
    workspace = f"http://signup-co.localhost:{port}"
    with sync_playwright() as playwright:
        browser = _launch(playwright)
        page = browser.new_page(viewport={"width": 1280, "height": 860})
        page.set_default_timeout(20_000)
        steps = Steps(page, prefix="accounts")

        # 1. Sign up on the public site: the address is suggested and checked live.
        page.goto(f"{platform}/signup/")
        page.fill("#id_name", "Signup Co")
        expect(page.locator("#id_slug")).to_have_value("signup-co")
        expect(page.get_by_text("signup-co.localhost")).to_be_visible()
        page.fill("#id_full_name", "Sia Signup")
        page.fill("#id_email", "sia@signup.example")
        page.fill("#id_password", PASSWORD)
        steps.shot("signup")
        page.click("button[type=submit]:has-text('Email me a code')")
        expect(page.get_by_text("We sent a 6-digit code")).to_be_visible()
        steps.shot("signup-code")
        code = re.search(r"^\s+(\d{6})$", _last_mail(mail_dir, "sia@signup.example"), re.M)
        page.fill("#id_code", code.group(1))
        page.click("button[type=submit]:has-text('Create my workspace')")
        page.wait_for_url(f"{workspace}/admin/")
        expect(page.get_by_text("Welcome to your new workspace.")).to_be_visible()
        steps.shot("signed-up-dashboard")

        # 2. Invite a teammate; they accept in their own browser and land in the console.
        page.goto(f"{workspace}/admin/accounts/user/")
        expect(page.get_by_text("What each role can do")).to_be_visible()
        steps.shot("team")
        page.goto(f"{workspace}/admin/accounts/invitation/add/")
        page.fill("#id_email", "tom@signup.example")
        page.select_option("#id_role", "Viewer")
        page.click("button[name=_save]")
        expect(page.get_by_text("Invitation emailed to tom@signup.example")).to_be_visible()
        steps.shot("invitations")
        link = re.search(r"http://\S+/invitations/\S+/", _last_mail(mail_dir, "tom@signup.example"))
        teammate = browser.new_page(viewport={"width": 1280, "height": 860})
        teammate.goto(link.group(0))
        teammate.fill("#id_full_name", "Tom Teammate")
        teammate.fill("#id_password1", "Teammate-pass-2026")
        teammate.fill("#id_password2", "Teammate-pass-2026")
        Steps(teammate, prefix="accounts-teammate").shot("accept-invitation")
        teammate.click("button[type=submit]:has-text('Join the workspace')")
        expect(teammate.get_by_text("Welcome! You joined the workspace.")).to_be_visible()

        # 3. The Owner sets up an authenticator app (after confirming the password).
        page.goto(f"{workspace}/accounts/2fa/totp/activate/")
        page.fill("#id_password", PASSWORD)
        steps.shot("reauthenticate")
        page.click("button[type=submit]")
        secret = page.locator("#authenticator_secret").input_value()
        steps.shot("totp-activate")
        page.fill("#id_code", _totp(secret))
        page.click("button[type=submit]:has-text('Activate')")
        expect(page.get_by_text("Recovery Codes", exact=False).first).to_be_visible()
        steps.shot("recovery-codes")

        # 4. Next login asks for a code; a recovery code works.
        with django_db_blocker.unblock(), schema_context("signup_co"):
            from allauth.mfa.models import Authenticator

            recovery = Authenticator.objects.get(
                type=Authenticator.Type.RECOVERY_CODES, user__email="sia@signup.example"
            )
            recovery_code = recovery.wrap().get_unused_codes()[0]
            connection.close()
        fresh = browser.new_context(viewport={"width": 1280, "height": 860}).new_page()
        fresh.goto(f"{workspace}/admin/")
        _log_in(fresh, "sia@signup.example", PASSWORD)
        expect(fresh.locator("#id_code")).to_be_visible()
        Steps(fresh, prefix="accounts-mfa").shot("second-factor")
        fresh.fill("#id_code", recovery_code)
        fresh.click("button[type=submit]")
        expect(fresh.get_by_text("Audience over the last 30 days")).to_be_visible()
        browser.close()


def test_billing_journey(server, django_db_blocker, fake_stripe_server):
    """An Owner upgrades through Checkout, a payment fails, then the subscription is cancelled.

    Each Stripe event reaches the server as a signed webhook from the fake Stripe's pages.
    """
    from playwright.sync_api import expect, sync_playwright

    from engagex.billing.models import BillingAccount, Plan

    port = server
    workspace = f"http://billing-co.localhost:{port}"
    with django_db_blocker.unblock():
        tenant = tenant_create(
            name="Billing Co", slug="billing-co", owner_email="owner@billing-co.example",
            owner_password=PASSWORD, send_invitation=False,
        ).tenant  # fmt: skip
        pro = Plan.objects.get(code="pro")
        saved_price = pro.stripe_price_monthly
        Plan.objects.filter(pk=pro.pk).update(stripe_price_monthly="price_pro_browser")
    try:
        with sync_playwright() as playwright:
            browser = _launch(playwright)
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            steps = Steps(page, "billing")
            page.goto(f"{workspace}/admin/login/")
            _log_in(page, "owner@billing-co.example", PASSWORD)
            page.goto(f"{workspace}/admin/billing/")
            expect(page.get_by_test_id("billing-plan")).to_have_text("Free Trial")
            steps.shot("trial")

            page.get_by_test_id("choose-pro").click()
            expect(page.get_by_text("Fake Stripe Checkout")).to_be_visible()
            steps.shot("checkout")
            page.get_by_text("Pay (test card)").click()
            expect(page.get_by_text("Thank you! Stripe confirms the payment")).to_be_visible()
            expect(page.get_by_test_id("billing-plan")).to_have_text("Pro")
            expect(page.get_by_test_id("billing-status")).to_have_text("Active")
            expect(page.get_by_test_id("invoices")).to_contain_text("79.00 USD")
            steps.shot("pro-active")

            page.get_by_test_id("billing-portal").click()
            page.get_by_text("Simulate a failed payment").click()
            expect(page.get_by_test_id("billing-status")).to_have_text("Payment overdue")
            expect(page.get_by_test_id("billing-banner")).to_contain_text("A payment failed")
            steps.shot("past-due")

            page.get_by_test_id("billing-portal").click()
            page.get_by_text("Cancel subscription").click()
            expect(page.get_by_test_id("billing-status")).to_have_text("Cancelled")
            expect(page.get_by_test_id("billing-banner")).to_contain_text("read-only")
            steps.shot("cancelled")
            browser.close()
        with django_db_blocker.unblock():
            account = BillingAccount.objects.get(tenant=tenant)
            assert (account.plan.code, account.status) == ("pro", "cancelled")
            assert account.tenant.plan_changes.filter(source="stripe").count() == 3
    finally:
        with django_db_blocker.unblock():
            Plan.objects.filter(pk=pro.pk).update(stripe_price_monthly=saved_price)
