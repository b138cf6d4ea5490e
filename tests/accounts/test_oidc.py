"""Single sign-on through a generic OpenID Connect provider (a fake one on loopback)."""

from urllib.parse import parse_qs, urlparse

import pytest
from django_tenants.test.client import TenantClient
from django_tenants.utils import schema_context

from config.settings.allauth import oidc_providers
from devtools.fake_oidc import CLIENT_ID, CLIENT_SECRET, FakeOIDC
from engagex.accounts import roles
from engagex.accounts.models import Invitation, User
from engagex.accounts.services.invitations import invitation_create
from tests.fixtures.tenants import SESSION_TENANTS

OWNER_EMAIL = SESSION_TENANTS["alpha"][1]


@pytest.fixture(scope="module")
def oidc_server():
    fake = FakeOIDC().start()
    yield fake
    fake.stop()


@pytest.fixture
def oidc(oidc_server, settings):
    oidc_server.reset()
    settings.SOCIALACCOUNT_PROVIDERS = oidc_providers(
        provider_id="sso",
        name="Acme SSO",
        server_url=oidc_server.url,
        client_id=CLIENT_ID,
        secret=CLIENT_SECRET,
    )
    return oidc_server


def _sso(client, oidc) -> object:
    """Go to the provider and come back with an authorization code."""
    start = client.post("/accounts/oidc/sso/login/", {"process": "login"})
    assert start.status_code == 302
    authorize = urlparse(start["Location"])
    assert f"{authorize.scheme}://{authorize.netloc}" == oidc.url
    state = parse_qs(authorize.query)["state"][0]
    return client.get("/accounts/oidc/sso/login/callback/", {"code": "code-1", "state": state})


def test_login_page_offers_the_configured_provider(tenant, oidc):
    body = TenantClient(tenant).get("/accounts/login/").content.decode()

    assert "Continue with Acme SSO" in body


def test_member_logs_in_with_single_sign_on(tenant, owner, oidc):
    oidc.reset(email=OWNER_EMAIL, name="Olga Owner")
    client = TenantClient(tenant)

    response = _sso(client, oidc)

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    assert oidc.token_requests[0]["client_id"] == [CLIENT_ID]
    assert "code_verifier" in oidc.token_requests[0]  # PKCE


def test_unknown_address_is_not_let_in_and_no_account_is_created(tenant, oidc):
    oidc.reset(email="stranger@alpha.example")
    client = TenantClient(tenant)

    response = _sso(client, oidc)

    assert client.get("/admin/").status_code == 302
    assert "Sign Up Closed" in response.content.decode()
    with schema_context(tenant.schema_name):
        assert not User.objects.filter(email="stranger@alpha.example").exists()


def test_member_of_another_workspace_is_not_let_in(other_tenant, oidc):
    oidc.reset(email=OWNER_EMAIL)
    client = TenantClient(other_tenant)

    _sso(client, oidc)

    assert client.get("/admin/").status_code == 302
    with schema_context(other_tenant.schema_name):
        assert not User.objects.filter(email=OWNER_EMAIL).exists()


def test_unverified_address_does_not_log_a_member_in(tenant, owner, oidc):
    oidc.reset(email=OWNER_EMAIL, email_verified=False)
    client = TenantClient(tenant)

    _sso(client, oidc)

    assert client.get("/admin/").status_code == 302


def _invite(tenant, owner):
    with schema_context(tenant.schema_name):
        _, link = invitation_create(
            email="sso.joiner@alpha.example", role=roles.VIEWER, actor=owner
        )
    return link.removeprefix("http://alpha.localhost")


def test_invitee_joins_with_single_sign_on(tenant, owner, oidc):
    path = _invite(tenant, owner)
    oidc.reset(email="sso.joiner@alpha.example", name="Sam Joiner")
    client = TenantClient(tenant)

    assert "Join with Acme SSO" in client.get(path).content.decode()
    response = _sso(client, oidc)

    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    with schema_context(tenant.schema_name):
        member = User.objects.get(email="sso.joiner@alpha.example")
        assert list(member.groups.values_list("name", flat=True)) == [roles.VIEWER]
        assert not member.has_usable_password()
        assert Invitation.objects.get().accepted_by == member


def test_invitee_with_a_different_sso_address_does_not_join(tenant, owner, oidc):
    path = _invite(tenant, owner)
    oidc.reset(email="someone.else@alpha.example")
    client = TenantClient(tenant)
    client.get(path)

    _sso(client, oidc)

    assert client.get("/admin/").status_code == 302
    with schema_context(tenant.schema_name):
        assert not User.objects.filter(email="someone.else@alpha.example").exists()
        assert Invitation.objects.get().status == Invitation.Status.PENDING


def test_without_configuration_there_is_no_provider(tenant, settings):
    settings.SOCIALACCOUNT_PROVIDERS = {}
    client = TenantClient(tenant)

    assert "Continue with" not in client.get("/accounts/login/").content.decode()
    assert client.post("/accounts/oidc/sso/login/", {"process": "login"}).status_code == 404
