"""Content-Security-Policy on every surface: console, public pages, API docs, JSON and webhooks."""

import re
from pathlib import Path

import pytest
from django.test import Client
from django_tenants.test.client import TenantClient
from django_tenants.utils import schema_context

from engagex.campaigns.models import CampaignRecipient
from engagex.campaigns.services.unsubscribe import unsubscribe_token
from engagex.campaigns.services.web_version import WEB_VERSION_CSP
from tests.factories.campaigns import CampaignFactory, TemplateFactory
from tests.factories.contacts import ContactFactory

ROOT = Path(__file__).resolve().parents[2]
INLINE_SCRIPT = re.compile(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)([^>]*)>", re.I)


def policy(response) -> dict[str, list[str]]:
    """The response's Content-Security-Policy as {directive: [sources]}."""
    header = response["Content-Security-Policy"]
    return {part.split()[0]: part.split()[1:] for part in header.split(";") if part.strip()}


def console_policy(nonce: str | None) -> dict[str, list[str]]:
    script = (
        ["'self'", f"'nonce-{nonce}'", "'unsafe-eval'"] if nonce else ["'self'", "'unsafe-eval'"]
    )
    return {
        "default-src": ["'self'"],
        "script-src": script,
        "object-src": ["'none'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "font-src": ["'self'", "data:"],
        "frame-src": ["'self'"],
        "img-src": ["'self'", "data:", "https:"],
        "connect-src": ["'self'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
    }


def nonces_in(html: str) -> list[str]:
    """The nonce attribute of every inline script (`None` for one without a nonce)."""
    found = []
    for attributes in INLINE_SCRIPT.findall(html):
        match = re.search(r'nonce="([^"]*)"', attributes)
        found.append(match.group(1) if match else None)
    return found


def header_nonce(response) -> str | None:
    for source in policy(response).get("script-src", []):
        if source.startswith("'nonce-"):
            return source[len("'nonce-") : -1]
    return None


def test_console_pages_allow_only_their_own_scripts_and_this_requests_nonce(tenant, owner_client):
    with schema_context(tenant.schema_name):
        template = TemplateFactory()

    for url in ["/admin/", f"/admin/email_templates/emailtemplate/{template.pk}/change/"]:
        response = owner_client.get(url)

        assert response.status_code == 200
        nonce = header_nonce(response)
        assert policy(response) == console_policy(nonce)
        # Every inline script carries the nonce of this response's header (and only that one).
        assert set(nonces_in(response.content.decode())) <= {nonce}


def test_the_template_editors_live_preview_script_carries_the_nonce(tenant, owner_client):
    with schema_context(tenant.schema_name):
        template = TemplateFactory()

    response = owner_client.get(f"/admin/email_templates/emailtemplate/{template.pk}/change/")

    nonce = header_nonce(response)
    assert nonce
    assert len(nonce) >= 16
    assert nonces_in(response.content.decode()) == [nonce]
    assert (
        owner_client.get("/admin/").get("Content-Security-Policy")
        != response["Content-Security-Policy"]
    )  # a fresh nonce per response


@pytest.mark.parametrize(
    ("host", "url"),
    [
        ("alpha.localhost", "/accounts/login/"),
        ("localhost", "/accounts/login/"),
        ("localhost", "/signup/"),
        ("localhost", "/admin/login/"),
    ],
)
def test_login_and_sign_up_pages_have_the_console_policy(db, tenant, host, url):
    response = Client(HTTP_HOST=host).get(url, follow=True)

    assert response.status_code == 200
    assert policy(response) == console_policy(header_nonce(response))
    assert set(nonces_in(response.content.decode())) <= {header_nonce(response)}


def test_the_platform_console_has_the_console_policy(platform_client):
    response = platform_client.get("/admin/")

    assert response.status_code == 200
    assert policy(response) == console_policy(header_nonce(response))


@pytest.fixture
def unsubscribe_url(tenant):
    with schema_context(tenant.schema_name):
        contact = ContactFactory(email="reader@example.com")
        campaign = CampaignFactory()
        CampaignRecipient.objects.create(campaign=campaign, contact=contact, email=contact.email)
    token = unsubscribe_token(
        schema=tenant.schema_name, contact_id=contact.pk, campaign_id=campaign.pk
    )
    return f"/u/{token}/"


def test_public_pages_run_no_script_at_all(unsubscribe_url):
    client = Client(HTTP_HOST="localhost")

    for response in (
        client.get(unsubscribe_url),
        client.get("/u/not-a-token/"),
        client.get("/v/not-a-token/"),
    ):
        assert response.status_code in (200, 400)
        assert policy(response) == {
            "default-src": ["'none'"],
            "object-src": ["'none'"],
            "style-src": ["'unsafe-inline'"],
            "img-src": ["'self'", "data:"],
            "base-uri": ["'none'"],
            "form-action": ["'self'"],
            "frame-ancestors": ["'none'"],
        }
        assert nonces_in(response.content.decode()) == []


def test_the_web_version_keeps_its_own_stricter_policy(tenant, fake_sendgrid):
    from tests.campaigns.test_web_version import public_get, sent_campaign

    _, _, links = sent_campaign(tenant, fake_sendgrid)

    response = public_get(links["ann@example.com"])

    assert response.status_code == 200
    assert response["Content-Security-Policy"] == WEB_VERSION_CSP


def test_swagger_ui_runs_only_scripts_served_from_files(api):
    page = api.get("/api/v1/docs/")
    script = api.get("/api/v1/docs/", {"script": ""})

    assert page.status_code == script.status_code == 200
    assert policy(page) == {
        "default-src": ["'self'"],
        "script-src": ["'self'"],
        "object-src": ["'none'"],
        "style-src": ["'self'", "'unsafe-inline'"],
        "img-src": ["'self'", "data:"],
        "connect-src": ["'self'"],
        "base-uri": ["'none'"],
        "frame-ancestors": ["'none'"],
    }
    assert nonces_in(page.content.decode()) == []  # no inline script to allow
    assert script["Content-Type"].startswith("application/javascript")
    assert "SwaggerUIBundle" in script.content.decode()


def test_json_webhooks_and_health_checks_allow_nothing(tenant, api):
    none = {
        "default-src": ["'none'"],
        "base-uri": ["'none'"],
        "form-action": ["'none'"],
        "frame-ancestors": ["'none'"],
    }
    public = Client(HTTP_HOST="localhost")

    for response in (
        api.get("/api/v1/contacts/"),
        TenantClient(tenant).get("/api/v1/contacts/"),  # an error body too
        public.post("/anymail/sendgrid/tracking/", "[]", content_type="application/json"),
        public.post("/billing/stripe/webhook/", "{}", content_type="application/json"),
        public.get("/healthz"),
    ):
        assert policy(response) == none


def test_every_inline_script_in_our_templates_carries_the_nonce():
    """An inline <script> without `nonce="{{ request.csp_nonce }}"` would not run in the console."""
    missing = []
    for folder in [ROOT / "templates", *ROOT.glob("engagex/*/templates")]:
        for path in folder.rglob("*.html"):
            for attributes in INLINE_SCRIPT.findall(path.read_text()):
                if 'nonce="{{ request.csp_nonce }}"' not in attributes:
                    missing.append(str(path.relative_to(ROOT)))

    assert missing == []


def test_the_suspended_and_unknown_workspace_pages_have_a_policy_too(db):
    """Both are answered before the console's middleware: they still get the console policy."""
    from engagex.platform.provisioning import tenant_create, tenant_suspend

    created = tenant_create(name="Paused Co", slug="paused-co", owner_email="o@paused.example")
    tenant_suspend(tenant=created.tenant, reason="Unpaid invoice")

    suspended = TenantClient(created.tenant).get("/admin/")
    unknown = Client(HTTP_HOST="nowhere.localhost").get("/")

    assert suspended.status_code == 403
    assert unknown.status_code == 404
    for response in (suspended, unknown):
        assert policy(response)["script-src"] == ["'self'", "'unsafe-eval'"]
        assert policy(response)["frame-ancestors"] == ["'none'"]
