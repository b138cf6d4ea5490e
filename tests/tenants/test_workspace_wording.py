"""What a workspace's people read never names a setting or shows a raw Python value.

Walks every page of the workspace console (list, add and change page of each model, with
one row of each kind in the workspace) and the public pages a customer meets, and looks at
the text a person sees: no setting or environment variable (`SENDGRID_API_KEY`), no tuple
or enum repr (`('active', 'Active')`, `Invitation.Status.PENDING`), no bare `None`.
The platform admin (superusers only) may name settings and is not walked.
"""

import re
from html.parser import HTMLParser

import pytest
from django.conf import settings as django_settings
from django.test import Client
from django.urls import reverse
from django_tenants.test.client import TenantClient
from django_tenants.utils import schema_context

from engagex.accounts import roles
from engagex.accounts.services.invitations import invitation_create
from engagex.api.services import api_key_create
from engagex.core.sites import workspace_site
from engagex.notifications.services import notification_send
from engagex.platform.provisioning import tenant_suspend
from tests.factories.campaigns import CampaignFactory
from tests.factories.contacts import ContactFactory, ContactGroupFactory

# Every setting name of this project, plus what environment variables look like.
SETTING_NAMES = {name for name in dir(django_settings) if name.isupper() and "_" in name}
ENV_LIKE = re.compile(r"\b[A-Z][A-Z0-9]+_[A-Z0-9_]*[A-Z0-9]\b")
REPRS = [
    re.compile(r"\(\s*'[^']*',\s*'[^']*'\s*\)"),  # ('active', 'Active')
    re.compile(r"\b[A-Z]\w+\.[A-Z]\w+\.[A-Z][A-Z_]+\b"),  # Invitation.Status.PENDING
    re.compile(r"\bNone\b"),
    re.compile(r"<[\w.]+ object at 0x[0-9a-f]+>"),
    re.compile(r"\b\w+(Error|Exception)\b"),  # an exception class name
]


class _VisibleText(HTMLParser):
    """The text a person reads: text nodes and the attributes shown as text."""

    SHOWN_ATTRIBUTES = ("title", "placeholder", "alt", "aria-label")

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in {"script", "style", "template"}:
            self._hidden += 1
        for name, value in attrs:
            if name in self.SHOWN_ATTRIBUTES and value:
                self.parts.append(value)

    def handle_endtag(self, tag):
        if tag in {"script", "style", "template"} and self._hidden:
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden and data.strip():
            self.parts.append(data.strip())


def findings(url: str, response) -> list[str]:
    parser = _VisibleText()
    parser.feed(response.content.decode())
    found = []
    for text in parser.parts:
        names = {n for n in SETTING_NAMES if n in text} | set(ENV_LIKE.findall(text))
        found += [f"{url}: names {name!r} in {text[:120]!r}" for name in sorted(names)]
        found += [f"{url}: shows {text[:120]!r}" for pattern in REPRS if pattern.search(text)]
    return found


@pytest.fixture
def one_of_everything(tenant, owner, settings):
    """A workspace with a row of each kind a person opens in the console."""
    settings.SENDGRID_API_KEY = ""  # the DKIM values are not known yet: what is shown then?
    settings.STRIPE_SECRET_KEY = ""
    with schema_context(tenant.schema_name):
        group = ContactGroupFactory(name="Newsletter")
        ContactFactory(email="ann@example.com").groups.add(group)
        CampaignFactory(name="Spring sale")  # and its sender domain, DKIM values unknown
        api_key_create(name="Zapier", role=roles.MARKETER, user=owner)
        invitation_create(email="new@alpha.example", role=roles.VIEWER, actor=owner)
        notification_send(recipients=[owner], title="Import finished", body="3 contacts.")
    return tenant


def _console_urls(tenant, owner) -> list[str]:
    urls = ["/admin/", "/admin/billing/"]
    for model, model_admin in workspace_site._registry.items():
        name = f"admin:{model._meta.app_label}_{model._meta.model_name}"
        urls += [
            reverse(f"{name}_changelist", urlconf="config.urls_tenants"),
            reverse(f"{name}_add", urlconf="config.urls_tenants"),
        ]
        with schema_context(tenant.schema_name):
            request = type("Request", (), {"user": owner, "GET": {}, "POST": {}})()
            obj = model_admin.get_queryset(request).first()
        if obj is not None:
            urls.append(reverse(f"{name}_change", args=[obj.pk], urlconf="config.urls_tenants"))
    return urls


def test_no_workspace_console_page_names_a_setting_or_shows_a_raw_value(
    one_of_everything, owner, owner_client
):
    found = []
    for url in _console_urls(one_of_everything, owner):
        response = owner_client.get(url, follow=True)
        if response.status_code == 200:
            found += findings(url, response)

    assert found == [], "\n".join(found)


def test_no_public_page_names_a_setting_or_shows_a_raw_value(tenant, db):
    public = Client(HTTP_HOST="localhost")
    workspace = TenantClient(tenant)
    pages = [
        (public, "/signup/"),
        (public, "/accounts/login/"),
        (workspace, "/accounts/login/"),
        (workspace, "/accounts/password/reset/"),
        (workspace, "/invitations/not-a-token/"),
        (public, "/u/not-a-token/"),
    ]
    found = []
    for client, url in pages:
        found += findings(url, client.get(url))
    tenant_suspend(tenant=tenant, reason="Unpaid invoice")
    found += findings("suspended", workspace.get("/admin/"))

    assert found == [], "\n".join(found)


def _badge(page: str) -> tuple[str, str]:
    """The colour and text of the page's one status badge (unfold's label helper)."""
    match = re.search(
        r'<span class="inline-block font-semibold[^"]*?(bg-\w+-100)[^"]*"\s*>\s*(.*?)\s*</span>',
        page,
        re.S,
    )
    assert match, "no badge on the page"
    return match.group(1), match.group(2)


def test_api_key_page_shows_its_state_as_a_badge(tenant, owner, owner_client):
    with schema_context(tenant.schema_name):
        key, _ = api_key_create(name="Zapier", role=roles.MARKETER, user=owner)
    page = reverse("admin:api_apikey_change", args=[key.pk], urlconf="config.urls_tenants")
    revoke = reverse("admin:api_apikey_revoke_detail", args=[key.pk], urlconf="config.urls_tenants")

    active = owner_client.get(page).content.decode()
    revoked = owner_client.post(revoke, follow=True)

    assert _badge(active) == ("bg-green-100", "Active")
    assert _badge(revoked.content.decode()) == ("bg-red-100", "Revoked")
    assert [str(m) for m in revoked.context["messages"]] == [
        "Key revoked: programs using it are refused from now on."
    ]


def test_invitation_page_shows_its_status_as_a_badge(tenant, owner, owner_client):
    with schema_context(tenant.schema_name):
        invitation, _ = invitation_create(email="new@alpha.example", role=roles.VIEWER, actor=owner)
    url = reverse(
        "admin:accounts_invitation_change", args=[invitation.pk], urlconf="config.urls_tenants"
    )

    page = owner_client.get(url).content.decode()

    assert _badge(page) == ("bg-blue-100", "Pending")
    assert "Invitation.Status" not in page
