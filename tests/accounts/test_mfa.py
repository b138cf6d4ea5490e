"""Two-factor authentication: TOTP enrolment, login with TOTP or a recovery code, and the
rules that require it (an Owner's workspace setting, superusers in production)."""

import importlib
import sys
from types import SimpleNamespace

import pytest
from allauth.mfa import app_settings as mfa_settings
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.mfa.totp.internal import auth as totp_auth
from allauth.mfa.totp.internal.auth import (
    TOTP,
    format_hotp_value,
    generate_totp_secret,
    hotp_value,
)
from django.test import Client
from django.urls import reverse
from django_tenants.test.client import TenantClient
from django_tenants.utils import schema_context

from engagex.accounts import roles
from engagex.accounts.models import WorkspaceSecurity
from engagex.accounts.services.security import workspace_security_update
from tests.fixtures.tenants import OWNER_PASSWORD, PLATFORM_ADMIN, SESSION_TENANTS

OWNER_EMAIL = SESSION_TENANTS["alpha"][1]
MEMBER_PASSWORD = "Member-pass-2026"
# The instant both the test's authenticator app and the server's check read: 2026-01-01 00:00:29
# UTC, one second before a 30 s step ends, where an unfrozen test would fail once in a while.
TOTP_NOW = 1_767_225_629


@pytest.fixture(autouse=True)
def _frozen_totp_clock(monkeypatch):
    """Freeze the clock allauth's TOTP check reads (as allauth's own tests freeze `time.time`),
    only in its TOTP module: a code made here never expires before the request checks it."""
    monkeypatch.setattr(totp_auth, "time", SimpleNamespace(time=lambda: TOTP_NOW))


def _code(secret: str) -> str:
    """The code an authenticator app shows at TOTP_NOW."""
    return format_hotp_value(hotp_value(secret, TOTP_NOW // mfa_settings.TOTP_PERIOD))


def _login(client, email=OWNER_EMAIL, password=OWNER_PASSWORD):
    return client.post("/accounts/login/", {"login": email, "password": password})


def _with_totp(tenant, user) -> str:
    secret = generate_totp_secret()
    with schema_context(tenant.schema_name):
        TOTP.activate(user, secret)
        RecoveryCodes.activate(user)
    return secret


def _confirm_password(client, password=OWNER_PASSWORD):
    """allauth asks for the password again before a second factor is added."""
    return client.post("/accounts/reauthenticate/", {"password": password})


def test_owner_enrols_an_authenticator_app_and_gets_recovery_codes(tenant, owner):
    client = TenantClient(tenant)
    _login(client)
    asked = client.get("/accounts/2fa/totp/activate/")
    _confirm_password(client)

    page = client.get("/accounts/2fa/totp/activate/")
    secret = client.session["mfa.totp.secret"]
    response = client.post("/accounts/2fa/totp/activate/", {"code": _code(secret)})

    assert asked["Location"].startswith("/accounts/reauthenticate/")
    assert page.status_code == 200
    assert response.status_code == 302
    with schema_context(tenant.schema_name):
        kinds = set(Authenticator.objects.filter(user=owner).values_list("type", flat=True))
        assert kinds == {Authenticator.Type.TOTP, Authenticator.Type.RECOVERY_CODES}


def test_wrong_code_enrols_nothing(tenant, owner):
    client = TenantClient(tenant)
    _login(client)
    _confirm_password(client)
    client.get("/accounts/2fa/totp/activate/")

    response = client.post("/accounts/2fa/totp/activate/", {"code": "000000"})

    assert response.status_code == 200
    with schema_context(tenant.schema_name):
        assert not Authenticator.objects.filter(user=owner).exists()


def test_login_asks_for_the_totp_code_after_the_password(tenant, owner):
    secret = _with_totp(tenant, owner)
    client = TenantClient(tenant)

    first = _login(client)
    halfway = client.get("/admin/")
    second = client.post("/accounts/2fa/authenticate/", {"code": _code(secret)})

    assert first["Location"] == "/accounts/2fa/authenticate/"
    assert halfway.status_code == 302  # not logged in before the second factor
    assert second["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_wrong_totp_code_does_not_log_in(tenant, owner):
    _with_totp(tenant, owner)
    client = TenantClient(tenant)
    _login(client)

    response = client.post("/accounts/2fa/authenticate/", {"code": "000000"})

    assert response.status_code == 200
    assert client.get("/admin/").status_code == 302


def test_login_with_a_recovery_code_works_once(tenant, owner):
    _with_totp(tenant, owner)
    with schema_context(tenant.schema_name):
        recovery = Authenticator.objects.get(user=owner, type=Authenticator.Type.RECOVERY_CODES)
        code = recovery.wrap().get_unused_codes()[0]
    client = TenantClient(tenant)
    _login(client)

    response = client.post("/accounts/2fa/authenticate/", {"code": code})
    again = TenantClient(tenant)
    _login(again)
    reused = again.post("/accounts/2fa/authenticate/", {"code": code})

    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    assert reused.status_code == 200
    assert again.get("/admin/").status_code == 302


def test_owner_requires_mfa_and_a_member_without_it_is_sent_to_enrolment(tenant, make_member):
    member = make_member(roles.MARKETER, password=MEMBER_PASSWORD)
    with schema_context(tenant.schema_name):
        workspace_security_update(require_mfa=True)
    client = TenantClient(tenant)
    _login(client, member.email, MEMBER_PASSWORD)

    response = client.get("/admin/contacts/contact/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/totp/activate/"
    _confirm_password(client, MEMBER_PASSWORD)
    assert client.get("/accounts/2fa/totp/activate/").status_code == 200


def test_member_with_mfa_passes_when_the_workspace_requires_it(tenant, make_member):
    member = make_member(roles.MARKETER, password=MEMBER_PASSWORD)
    secret = _with_totp(tenant, member)
    with schema_context(tenant.schema_name):
        workspace_security_update(require_mfa=True)
    client = TenantClient(tenant)
    _login(client, member.email, MEMBER_PASSWORD)
    client.post("/accounts/2fa/authenticate/", {"code": _code(secret)})

    assert client.get("/admin/contacts/contact/").status_code == 200


def test_other_workspaces_do_not_require_mfa(tenant, other_tenant, owner_client):
    with schema_context(other_tenant.schema_name):
        workspace_security_update(require_mfa=True)

    assert owner_client.get("/admin/").status_code == 200


def test_only_an_owner_changes_the_mfa_rule(tenant, owner_client, make_member):
    admin_client_ = _client_for(tenant, make_member(roles.ADMIN))
    changelist = reverse(
        "admin:accounts_workspacesecurity_changelist", urlconf="config.urls_tenants"
    )

    assert admin_client_.get(changelist).status_code == 403
    page = owner_client.get(changelist, follow=True)
    change_url = page.redirect_chain[-1][0]
    refused = admin_client_.post(change_url, {"require_mfa": "on"})
    saved = owner_client.post(change_url, {"require_mfa": "on"})

    assert refused.status_code == 403
    assert saved.status_code == 302
    with schema_context(tenant.schema_name):
        assert WorkspaceSecurity.objects.get().require_mfa is True
    # From now on the Admin, who has no authenticator yet, is sent to set one up.
    assert admin_client_.get("/admin/")["Location"] == "/accounts/2fa/totp/activate/"


def _client_for(tenant, user):
    client = TenantClient(tenant)
    with schema_context(tenant.schema_name):
        client.force_login(user)
    return client


def test_superuser_without_mfa_is_sent_to_enrolment_when_required(db, settings):
    settings.MFA_REQUIRED_FOR_SUPERUSERS = True
    client = Client(HTTP_HOST="localhost")
    _login(client, *PLATFORM_ADMIN)

    response = client.get("/admin/")

    assert response.status_code == 302
    assert response["Location"] == "/accounts/2fa/totp/activate/"


def test_superuser_mfa_is_not_required_by_default_in_development_and_tests(platform_client):
    assert platform_client.get("/admin/").status_code == 200


def test_production_settings_require_mfa_for_superusers(monkeypatch):
    monkeypatch.setenv("SECRET_KEY", "x" * 60)
    monkeypatch.setenv("DATABASE_URL", "postgres://localhost/engagex")
    sys.modules.pop("config.settings.production", None)
    try:
        production = importlib.import_module("config.settings.production")
        assert production.MFA_REQUIRED_FOR_SUPERUSERS is True
    finally:
        sys.modules.pop("config.settings.production", None)
