"""Login through allauth on the workspace and platform consoles."""

import os
import re
import signal
import socket
import subprocess
import sys
import time

import pytest
import requests
from django.core import mail
from django.db import connection
from django.test import Client
from django_tenants.test.client import TenantClient
from django_tenants.utils import schema_context

from devtools.cluster import ROOT
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


# --- throttling behind proxies and across processes ------------------------------------------
REFUSED = "Too many failed login attempts. Try again later."


def _fail(client, email: str) -> bool:
    """A wrong password for `email`; whether the form said the address is throttled."""
    response = _login(client, email, "wrong-password")
    assert response.status_code == 200
    return REFUSED in response.content.decode()


def _logged_in(response, client) -> bool:
    return response.status_code == 302 and client.get("/admin/").status_code == 200


def test_failures_on_other_accounts_from_a_shared_address_do_not_lock_out_the_owner(tenant):
    # Everyone reaches EngageX through one proxy it was not told about: one address for all.
    attacker = TenantClient(tenant, REMOTE_ADDR="10.0.0.1")
    refused = [_fail(attacker, f"guess{i}@alpha.example") for i in range(10)]
    owner = TenantClient(tenant, REMOTE_ADDR="10.0.0.1")

    response = _login(owner)

    assert refused == [False] * 10
    assert _logged_in(response, owner)


def test_behind_a_trusted_proxy_the_attacker_is_throttled_by_their_own_address(tenant, settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 1
    attacker = TenantClient(tenant, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="203.0.113.66")
    refused = [_fail(attacker, f"guess{i}@alpha.example") for i in range(25)]
    owner = TenantClient(tenant, REMOTE_ADDR="10.0.0.1", HTTP_X_FORWARDED_FOR="198.51.100.7")

    response = _login(owner)

    assert refused == [False] * 20 + [True] * 5  # 20 failures a minute per client address
    assert _logged_in(response, owner)


def test_a_request_that_skipped_a_trusted_proxy_is_counted_by_its_own_address(tenant, settings):
    settings.ALLAUTH_TRUSTED_PROXY_COUNT = 2  # X-Forwarded-For should name two hops
    short = TenantClient(tenant, REMOTE_ADDR="203.0.113.66", HTTP_X_FORWARDED_FOR="192.0.2.1")
    refused = [_fail(short, f"guess{i}@alpha.example") for i in range(21)]

    response = _login(TenantClient(tenant, REMOTE_ADDR="203.0.113.66"))

    assert refused == [False] * 20 + [True]  # no 500, and the limit binds the connecting address
    assert REFUSED in response.content.decode()


def test_a_forged_x_forwarded_for_does_not_escape_the_limit(tenant):
    # No proxy is trusted (the default): X-Forwarded-For is the client's own claim.
    refused = [
        _fail(
            TenantClient(tenant, REMOTE_ADDR="203.0.113.66", HTTP_X_FORWARDED_FOR=f"192.0.2.{i}"),
            f"guess{i}@alpha.example",
        )
        for i in range(21)
    ]
    same_client = TenantClient(
        tenant, REMOTE_ADDR="203.0.113.66", HTTP_X_FORWARDED_FOR="198.51.100.7"
    )
    someone_else = TenantClient(tenant, REMOTE_ADDR="198.51.100.7")

    forged = _login(same_client)
    honest = _login(someone_else)

    assert refused == [False] * 20 + [True]
    assert REFUSED in forged.content.decode()
    assert client_is_anonymous(same_client)
    assert _logged_in(honest, someone_else)


def client_is_anonymous(client) -> bool:
    return client.get("/admin/").status_code == 302


def test_an_account_under_attack_is_locked_but_its_owner_can_still_sign_in_by_code(tenant):
    for i in range(5):
        _fail(TenantClient(tenant, REMOTE_ADDR=f"203.0.113.{i}"), OWNER_EMAIL)
    owner = TenantClient(tenant, REMOTE_ADDR="198.51.100.7")

    by_password = _login(owner)
    owner.post("/accounts/login/code/", {"email": OWNER_EMAIL})
    code = re.search(r"^\s*([A-Z0-9-]{6,})\s*$", mail.outbox[-1].body, re.M).group(1)
    by_code = owner.post("/accounts/login/code/confirm/", {"code": code})

    assert REFUSED in by_password.content.decode()  # 5 failures per account, from anywhere
    assert _logged_in(by_code, owner)


def test_without_redis_every_process_shares_the_database_cache():
    code = "from django.conf import settings; print(settings.CACHES['default']['BACKEND'])"
    seen = {}
    for module in ("config.settings.development", "config.settings.production"):
        for redis in ("", "redis://127.0.0.1:6379/0"):
            env = {k: v for k, v in os.environ.items() if k != "REDIS_URL"}
            env.update(
                DJANGO_SETTINGS_MODULE=module,
                DATABASE_URL="postgres://nobody@127.0.0.1:1/none",
                SECRET_KEY="x" * 50,
                REDIS_URL=redis,
            )
            result = subprocess.run(
                [sys.executable, "-c", code], env=env, capture_output=True, text=True, check=True
            )
            seen[module, bool(redis)] = result.stdout.strip().rsplit(".", 1)[-1]

    assert seen == {
        ("config.settings.development", False): "DatabaseCache",
        ("config.settings.development", True): "RedisCache",
        ("config.settings.production", False): "DatabaseCache",
        ("config.settings.production", True): "RedisCache",
    }


@pytest.fixture
def two_servers(django_db_setup, django_db_blocker):
    """Two gunicorn servers (one process each) on the test database, as two web machines."""
    ports, processes = [], []
    for _ in range(2):
        with socket.socket() as s:
            s.bind(("127.0.0.1", 0))
            ports.append(s.getsockname()[1])
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings.browser",
        "ENGAGEX_TEST_DATABASE_NAME": connection.settings_dict["NAME"],
    }
    for port in ports:
        processes.append(
            subprocess.Popen(
                [
                    sys.executable,
                    "-m",
                    "gunicorn",
                    "config.wsgi:application",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    "1",
                    "--log-level",
                    "warning",
                ],
                cwd=ROOT,
                env=env,
                start_new_session=True,
            )  # fmt: skip
        )
    try:
        for port in ports:
            deadline = time.monotonic() + 60
            while time.monotonic() < deadline:
                try:
                    requests.get(f"http://127.0.0.1:{port}/healthz", timeout=10)
                    break
                except requests.RequestException:
                    time.sleep(0.2)
        yield ports
    finally:
        for process in processes:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait(10)
        with django_db_blocker.unblock(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM engagex_cache")  # the counters these servers kept


def test_two_web_processes_count_failed_logins_together(two_servers):
    def fail_on(port: int) -> bool:
        session = requests.Session()
        url = f"http://127.0.0.1:{port}/accounts/login/"
        headers = {"Host": "alpha.localhost"}
        page = session.get(url, headers=headers, timeout=30).text
        token = re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)
        response = session.post(
            url,
            data={"login": OWNER_EMAIL, "password": "wrong", "csrfmiddlewaretoken": token},
            headers=headers,
            timeout=30,
        )
        assert response.status_code == 200
        return REFUSED in response.text

    # Alternate between the servers: with a cache per process each would allow 5 (10 in all).
    refused = [fail_on(two_servers[i % 2]) for i in range(6)]

    assert refused == [False] * 5 + [True]
