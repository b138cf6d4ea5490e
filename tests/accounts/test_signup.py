"""Self-service sign-up: details → emailed code → workspace provisioned → logged in there."""

import re
from datetime import timedelta

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone
from django_tenants.test.client import TenantClient
from django_tenants.utils import schema_context

from engagex.accounts import roles
from engagex.accounts.models import LoginToken, SignupRequest, User
from engagex.accounts.services.login_tokens import login_token_create, login_token_redeem
from engagex.platform.signup import (
    CODE_EXPIRED,
    CODE_TOO_MANY,
    CODE_USED,
    CODE_WRONG,
    slug_suggest,
)
from tenants.models import Tenant

PASSWORD = "Gamma-signup-2026"
DETAILS = {
    "name": "Gamma Co",
    "slug": "gamma-co",
    "full_name": "Gina Gamma",
    "email": "Gina@Gamma.example",
    "password": PASSWORD,
}


def _public() -> Client:
    return Client(HTTP_HOST="localhost")


def _start(client, **changes):
    return client.post("/signup/", {**DETAILS, **changes})


def _code() -> str:
    return re.search(r"\b(\d{6})\b", mail.outbox[-1].body).group(1)


def _wrong(code: str) -> str:
    return f"{(int(code) + 1) % 10**6:06d}"


def test_sign_up_end_to_end_lands_logged_in_on_the_new_workspace(db):
    client = _public()

    started = _start(client)
    code = _code()
    verified = client.post("/signup/verify/", {"code": code})

    assert started.status_code == 302
    assert started["Location"] == "/signup/verify/"
    assert mail.outbox[-1].to == ["gina@gamma.example"]
    assert verified.status_code == 302
    login_url = verified["Location"]
    assert login_url.startswith("http://gamma-co.localhost/accounts/token-login/")
    tenant = Tenant.objects.get(slug="gamma-co")
    assert tenant.name == "Gamma Co"
    with schema_context(tenant.schema_name):
        owner = User.objects.get()
        assert owner.email == "gina@gamma.example"
        assert owner.full_name == "Gina Gamma"
        assert owner.check_password(PASSWORD)
        assert list(owner.groups.values_list("name", flat=True)) == [roles.OWNER]
    assert SignupRequest.objects.get().password_hash == ""

    workspace = TenantClient(tenant)
    landed = workspace.get(login_url.removeprefix("http://gamma-co.localhost"))

    assert landed.status_code == 302
    assert landed["Location"] == "/admin/"
    assert workspace.get("/admin/").status_code == 200
    # The public domain's session knows nothing of the workspace login.
    assert client.get("/admin/").status_code == 302


def test_login_token_works_once(db):
    client = _public()
    _start(client)
    login_path = client.post("/signup/verify/", {"code": _code()})["Location"]
    path = login_path.removeprefix("http://gamma-co.localhost")
    tenant = Tenant.objects.get(slug="gamma-co")
    TenantClient(tenant).get(path)

    replay = TenantClient(tenant)
    response = replay.get(path)

    assert response.status_code == 302
    assert response["Location"] == "/accounts/login/"
    assert replay.get("/admin/").status_code == 302


def test_login_token_of_one_workspace_does_not_log_in_on_another(tenant, other_tenant, owner):
    with schema_context(tenant.schema_name):
        token = login_token_create(user=owner)
    intruder = TenantClient(other_tenant)

    response = intruder.get(f"/accounts/token-login/{token}/")

    assert response["Location"] == "/accounts/login/"
    assert intruder.get("/admin/").status_code == 302
    with schema_context(tenant.schema_name):
        assert LoginToken.objects.get().used_at is None


def test_expired_or_tampered_login_token_logs_nobody_in(tenant, owner):
    with schema_context(tenant.schema_name):
        token = login_token_create(user=owner)
        LoginToken.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

        assert login_token_redeem(token=token) is None
        assert login_token_redeem(token=token[:-2] + "xx") is None
        assert LoginToken.objects.get().used_at is None


def test_session_key_changes_when_the_token_logs_in(tenant, owner):
    with schema_context(tenant.schema_name):
        token = login_token_create(user=owner)
    client = TenantClient(tenant)
    client.get("/accounts/login/")
    before = client.session.session_key

    client.get(f"/accounts/token-login/{token}/")

    assert client.session.session_key != before
    assert client.get("/admin/").status_code == 200


def test_wrong_code_is_refused_and_nothing_is_provisioned(db):
    client = _public()
    _start(client)

    response = client.post("/signup/verify/", {"code": _wrong(_code())})

    assert response.status_code == 200
    assert str(CODE_WRONG) in response.content.decode()
    assert not Tenant.objects.filter(slug="gamma-co").exists()
    assert SignupRequest.objects.get().attempts == 1


def test_code_attempts_are_limited_even_for_the_right_code_afterwards(db, settings):
    client = _public()
    _start(client)
    code = _code()
    for _ in range(settings.SIGNUP_CODE_MAX_ATTEMPTS):
        client.post("/signup/verify/", {"code": _wrong(code)})

    response = client.post("/signup/verify/", {"code": code})

    assert str(CODE_TOO_MANY) in response.content.decode()
    assert not Tenant.objects.filter(slug="gamma-co").exists()


def test_expired_code_is_refused(db):
    client = _public()
    _start(client)
    SignupRequest.objects.update(expires_at=timezone.now() - timedelta(seconds=1))

    response = client.post("/signup/verify/", {"code": _code()})

    assert str(CODE_EXPIRED) in response.content.decode()
    assert not Tenant.objects.filter(slug="gamma-co").exists()


def test_reused_code_is_refused(db):
    from engagex.platform.signup import signup_verify

    client = _public()
    _start(client)
    code = _code()
    signup_id = SignupRequest.objects.get().pk
    signup_verify(signup_id=signup_id, code=code)

    with pytest.raises(Exception, match=str(CODE_USED)):
        signup_verify(signup_id=signup_id, code=code)
    assert Tenant.objects.filter(slug="gamma-co").count() == 1


def test_code_requests_per_address_are_limited(db, settings):
    client = _public()
    for _ in range(settings.SIGNUP_CODES_PER_EMAIL_PER_HOUR):
        _start(client)
    sent = len(mail.outbox)

    response = _start(client)

    assert response.status_code == 200
    assert "Too many sign-up codes" in response.content.decode()
    assert len(mail.outbox) == sent


def test_sign_up_with_a_taken_slug_sends_no_code(tenant):
    response = _start(_public(), slug=tenant.slug)

    assert response.status_code == 200
    assert "already taken" in response.content.decode()
    assert mail.outbox == []
    assert SignupRequest.objects.count() == 0


def test_sign_up_with_a_reserved_slug_sends_no_code(db):
    response = _start(_public(), slug="admin")

    assert "is reserved for EngageX itself" in response.content.decode()
    assert mail.outbox == []
    assert SignupRequest.objects.count() == 0


def test_slug_taken_between_code_and_verification_provisions_nothing(tenant):
    client = _public()
    _start(client)
    SignupRequest.objects.update(slug=tenant.slug)

    response = client.post("/signup/verify/", {"code": _code()})
    again = client.get("/signup/")

    # Only step 1 can change the address: back there, filled in, saying why.
    assert (response.status_code, response["Location"]) == (302, "/signup/")
    page = again.content.decode()
    assert "already taken" in page
    assert "Choose another workspace address and sign up again." in page
    assert f'value="{DETAILS["name"]}"' in page
    assert f'value="{DETAILS["email"].lower()}"' in page
    assert SignupRequest.objects.get().used_at is None
    assert not Tenant.objects.filter(name=DETAILS["name"]).exists()
    assert "already taken" not in client.get("/signup/").content.decode()  # said once


def test_verify_without_starting_goes_back_to_the_form(db):
    response = _public().post("/signup/verify/", {"code": "123456"})

    assert response.status_code == 302
    assert response["Location"] == "/signup/"


def test_live_slug_check_and_suggestion(tenant):
    client = _public()

    taken = client.get("/signup/check/", {"slug": tenant.slug}).json()
    free = client.get("/signup/check/", {"slug": "omega-team"}).json()
    suggested = client.get("/signup/check/", {"name": "Alpha"}).json()

    assert taken["available"] is False
    assert free == {"available": True, "message": "omega-team.localhost is available."}
    assert suggested == {"suggestion": "alpha-2"}
    assert slug_suggest("Ünïcode & Co.") == "unicode-co"


def test_sign_up_is_csrf_protected(db):
    client = Client(HTTP_HOST="localhost", enforce_csrf_checks=True)

    response = client.post("/signup/", DETAILS)

    assert response.status_code == 403
    assert SignupRequest.objects.count() == 0


def test_sign_up_attempts_from_one_address_are_throttled(db):
    client = _public()
    for n in range(10):
        _start(client, email=f"person{n}@gamma.example", slug=f"gamma-{n}")
    sent = len(mail.outbox)

    response = _start(client, email="eleventh@gamma.example", slug="gamma-eleven")

    assert "Too many attempts from your network" in response.content.decode()
    assert len(mail.outbox) == sent == 10
    assert SignupRequest.objects.count() == 10


def test_a_slug_someone_is_verifying_is_held_for_them(db):
    _start(_public())
    codes_sent = len(mail.outbox)

    second = _start(_public(), email="other@else.example", name="Other Gamma")
    same_person_again = _start(_public())

    assert second.status_code == 200
    assert "Someone is signing up with “gamma-co” right now" in second.content.decode()
    assert len(mail.outbox) == codes_sent + 1  # only the first person asked again
    assert same_person_again.status_code == 302


def test_a_workspace_that_cannot_be_provisioned_is_explained_and_the_code_kept(db, settings):
    client = _public()
    _start(client)
    code = _code()
    template = settings.TENANT_BASE_SCHEMA
    settings.TENANT_BASE_SCHEMA = "no_template_yet"  # the operator forgot `make migrate`

    refused = client.post("/signup/verify/", {"code": code})

    assert refused.status_code == 200
    page = refused.content.decode()
    assert "Your workspace could not be created just now. Your code still works" in page
    assert "make migrate" not in page
    assert "no_template_yet" not in page
    assert not Tenant.objects.filter(slug="gamma-co").exists()
    assert SignupRequest.objects.get().used_at is None

    settings.TENANT_BASE_SCHEMA = template
    verified = client.post("/signup/verify/", {"code": code})

    assert verified.status_code == 302
    assert Tenant.objects.filter(slug="gamma-co").exists()
