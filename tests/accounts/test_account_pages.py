"""The pages outside the console (set password, invitation, sign-up, login) show real fields.

Django's own set-password form renders bare `<input>`s; unfold's stylesheet resets inputs to
no border and no background, so such a field is invisible on the page.
"""

import re
from html.parser import HTMLParser

import pytest
from django.core import mail
from django.test import Client
from django_tenants.test.client import TenantClient
from django_tenants.utils import schema_context

from engagex.accounts import roles
from engagex.accounts.services.invitations import invitation_create
from engagex.platform.provisioning import tenant_owner_invitation_resend

# What unfold's widgets (and our allauth field template) put on every text-like input.
STYLED = {"border", "border-base-200", "rounded-default", "px-3", "py-2", "w-full"}
UNSTYLED_TYPES = {"hidden", "submit", "button", "checkbox", "radio"}


class _Fields(HTMLParser):
    def __init__(self):
        super().__init__()
        self.fields: dict[str, set[str]] = {}

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "input" and attrs.get("type", "text") in UNSTYLED_TYPES:
            return
        if tag in {"input", "select", "textarea"}:
            self.fields[attrs.get("name", "?")] = set((attrs.get("class") or "").split())


def _fields(response) -> dict[str, set[str]]:
    assert response.status_code == 200
    parser = _Fields()
    parser.feed(response.content.decode())
    return parser.fields


def _unstyled(fields: dict[str, set[str]]) -> list[str]:
    return sorted(name for name, classes in fields.items() if not STYLED <= classes)


def _set_password_form_path(tenant, client) -> str:
    link = tenant_owner_invitation_resend(tenant=tenant)
    page = client.get(re.sub(r"^http://[^/]+", "", link), follow=True)
    return page.redirect_chain[-1][0]


def test_set_password_page_shows_bordered_password_fields(tenant):
    client = TenantClient(tenant)
    path = _set_password_form_path(tenant, client)

    fields = _fields(client.get(path))

    assert set(fields) == {"new_password1", "new_password2"}
    assert _unstyled(fields) == []


def test_set_password_page_keeps_its_styled_fields_when_it_shows_an_error(tenant, owner):
    client = TenantClient(tenant)
    path = _set_password_form_path(tenant, client)

    response = client.post(path, {"new_password1": "Short-1", "new_password2": "Other-2"})

    assert "new_password2" in response.context["form"].errors
    assert _unstyled(_fields(response)) == []
    with schema_context(tenant.schema_name):
        owner.refresh_from_db()
        assert not owner.check_password("Short-1")


def test_invitation_page_shows_styled_fields(tenant, owner):
    with schema_context(tenant.schema_name):
        _, link = invitation_create(email="styled@alpha.example", role=roles.VIEWER, actor=owner)

    fields = _fields(TenantClient(tenant).get(link.removeprefix("http://alpha.localhost")))

    assert set(fields) == {"full_name", "password1", "password2"}
    assert _unstyled(fields) == []


def test_sign_up_pages_show_styled_fields(db):
    client = Client(HTTP_HOST="localhost")
    signup = _fields(client.get("/signup/"))
    client.post(
        "/signup/",
        {
            "name": "Styled Co",
            "slug": "styled-co",
            "full_name": "Sty Led",
            "email": "sty@styled.example",
            "password": "Styled-signup-2026",
        },
    )
    assert len(mail.outbox) == 1
    verify = _fields(client.get("/signup/verify/"))

    assert set(signup) == {"name", "slug", "full_name", "email", "password"}
    assert _unstyled(signup) == []
    assert set(verify) == {"code"}
    assert _unstyled(verify) == []


@pytest.mark.parametrize(
    "path", ["/accounts/login/", "/accounts/password/reset/", "/accounts/login/code/"]
)
def test_login_pages_show_styled_fields(tenant, path):
    fields = _fields(TenantClient(tenant).get(path))

    assert fields
    assert _unstyled(fields) == []
