"""Login through allauth on the workspace and platform consoles."""

import re

from django.core import mail
from django.test import Client
from django_tenants.test.client import TenantClient
from django_tenants.utils import schema_context

from engagex.accounts import roles
from tests.fixtures.tenants import OWNER_PASSWORD, PLATFORM_ADMIN, SESSION_TENANTS

OWNER_EMAIL = SESSION_TENANTS["alpha"][1]


def _login(client, email=OWNER_EMAIL, password=OWNER_PASSWORD):
    return client.post("/accounts/login/", {"login": email, "password": password})


def test_admin_login_page_is_allauths(tenant):
    client = TenantClient(tenant)

    admin_login = client.get("/admin/login/?next=/admin/contacts/contact/")
    page = client.get(admin_login["Location"])

    assert admin_login.status_code == 302
    assert admin_login["Location"] == "/accounts/login/?next=%2Fadmin%2Fcontacts%2Fcontact%2F"
    assert page.status_code == 200
    body = page.content.decode()
    assert "Alpha Corp" in body  # the workspace's own branding
    assert "Send me a sign-in code" in body
    assert 'href="/accounts/password/reset/"' in body
    assert "Ask an Owner or Admin of this workspace to invite you." in body


def test_password_login_on_the_workspace_opens_the_console(tenant):
    client = TenantClient(tenant)

    response = client.post(
        "/accounts/login/?next=/admin/contacts/contact/",
        {"login": "OWNER@alpha.example", "password": OWNER_PASSWORD},
    )

    assert response.status_code == 302
    assert response["Location"] == "/admin/contacts/contact/"
    assert client.get("/admin/").status_code == 200


def test_platform_superuser_logs_in_on_the_public_domain(db):
    client = Client(HTTP_HOST="localhost")

    response = _login(client, *PLATFORM_ADMIN)

    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_login_by_emailed_code(tenant):
    client = TenantClient(tenant)

    requested = client.post("/accounts/login/code/", {"email": OWNER_EMAIL})
    code = re.search(r"^\s*([A-Z0-9-]{6,})\s*$", mail.outbox[-1].body, re.M).group(1)
    confirmed = client.post("/accounts/login/code/confirm/", {"code": code})

    assert requested.status_code == 302
    assert mail.outbox[-1].to == [OWNER_EMAIL]
    assert confirmed.status_code == 302
    assert confirmed["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_wrong_login_code_does_not_log_in(tenant):
    client = TenantClient(tenant)
    client.post("/accounts/login/code/", {"email": OWNER_EMAIL})

    response = client.post("/accounts/login/code/confirm/", {"code": "WRONG-CODE"})

    assert response.status_code == 200
    assert client.get("/admin/").status_code == 302


def test_login_code_for_another_workspaces_member_sends_nothing_useful(tenant, other_tenant):
    client = TenantClient(other_tenant)

    client.post("/accounts/login/code/", {"email": OWNER_EMAIL})

    # allauth does not reveal whether the address exists; no code is mailed to it.
    assert all("code" not in message.subject.lower() for message in mail.outbox)
    assert client.get("/admin/").status_code == 302


def test_brute_force_logins_are_throttled(tenant):
    client = TenantClient(tenant)
    for _ in range(5):
        _login(client, password="wrong-password")

    response = _login(client)  # even the right password is refused for a while

    assert response.status_code == 200
    assert "Too many failed login attempts. Try again later." in response.content.decode()
    assert client.get("/admin/").status_code == 302


def test_session_key_changes_at_login(tenant):
    client = TenantClient(tenant)
    session = client.session
    session["marker"] = "anonymous"
    session.save()
    before = session.session_key
    client.cookies["sessionid"] = before

    _login(client)

    assert client.cookies["sessionid"].value != before
    assert client.get("/admin/").status_code == 200


def test_login_form_is_csrf_protected(tenant):
    client = TenantClient(tenant, enforce_csrf_checks=True)

    response = _login(client)

    assert response.status_code == 403
    assert client.get("/admin/").status_code == 302


def test_nobody_signs_up_through_allauth(tenant):
    client = TenantClient(tenant)

    password = "Walk-in-2026"
    response = client.post(
        "/accounts/signup/",
        {"email": "walk-in@alpha.example", "password1": password, "password2": password},
    )

    assert "Sign Up Closed" in response.content.decode()
    with schema_context(tenant.schema_name):
        from engagex.accounts.models import User

        assert not User.objects.filter(email="walk-in@alpha.example").exists()


def test_password_reset_emails_a_link_on_the_workspace_domain(tenant):
    client = TenantClient(tenant)

    response = client.post("/accounts/password/reset/", {"email": OWNER_EMAIL})

    assert response.status_code == 302
    assert mail.outbox[-1].to == [OWNER_EMAIL]
    assert "http://alpha.localhost/accounts/password/reset/key/" in mail.outbox[-1].body


def test_logged_in_non_member_of_this_console_gets_403_not_a_loop(tenant, make_member):
    member = make_member(roles.VIEWER)
    with schema_context(tenant.schema_name):
        member.is_staff = False
        member.save()
    client = TenantClient(tenant)
    with schema_context(tenant.schema_name):
        client.force_login(member)

    assert client.get("/admin/login/").status_code == 403


def test_platform_admin_login_page_hands_over_to_allauth(db):
    client = Client(HTTP_HOST="localhost")

    response = client.get("/admin/login/?next=/admin/tenants/tenant/")
    page = client.get(response["Location"])

    assert response["Location"] == "/accounts/login/?next=%2Fadmin%2Ftenants%2Ftenant%2F"
    assert page.status_code == 200
    assert 'name="login"' in page.content.decode()
    assert 'href="/signup/">Create a workspace</a>' in page.content.decode()


def test_logging_out_of_either_console_lands_on_the_login_page(owner_client, platform_client):
    for client in (owner_client, platform_client):
        response = client.post("/admin/logout/", follow=True)

        assert response.redirect_chain[0] == ("/accounts/login/", 302)
        assert "You are logged out." in response.content.decode()
        assert client.get("/admin/").status_code == 302


def test_members_cannot_attach_other_email_addresses(owner_client, tenant):
    """An unverified extra address could be logged into through SSO: the page is not offered."""
    from allauth.account.models import EmailAddress

    page = owner_client.get("/accounts/email/")
    post = owner_client.post("/accounts/email/", {"action_add": "", "email": "x@example.com"})

    assert (page.status_code, post.status_code) == (404, 404)
    with schema_context(tenant.schema_name):
        assert not EmailAddress.objects.filter(email="x@example.com").exists()
