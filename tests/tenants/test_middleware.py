import pytest
from django.test import Client
from django_tenants.test.client import TenantClient
from django_tenants.utils import schema_context

from engagex.accounts import roles
from engagex.accounts.models import User
from engagex.platform.provisioning import tenant_reactivate, tenant_suspend
from tests.fixtures.tenants import OWNER_PASSWORD, logged_in_client

REASON = "Unpaid invoice INV-0042"


def test_suspended_workspace_shows_its_members_the_reason(owner_client, tenant):
    tenant_suspend(tenant=tenant, reason=REASON)

    response = owner_client.get("/admin/")

    assert response.status_code == 403
    body = response.content.decode()
    assert "The workspace “Alpha Corp” is suspended" in body
    assert REASON in body
    assert 'href="/accounts/logout/"' in body


def test_anonymous_visitor_of_a_suspended_workspace_does_not_see_the_reason(tenant):
    tenant_suspend(tenant=tenant, reason=REASON)

    response = TenantClient(tenant).get("/admin/")

    assert response.status_code == 403
    body = response.content.decode()
    assert "is suspended" in body
    assert REASON not in body
    assert "Reason" not in body
    assert 'href="/accounts/login/"' in body


def test_a_session_of_another_workspace_does_not_show_the_reason(tenant, other_tenant):
    tenant_suspend(tenant=tenant, reason=REASON)
    with schema_context(other_tenant.schema_name):
        other_owner = User.objects.get(email="owner@beta.example")
    beta = TenantClient(other_tenant)
    beta.force_login(other_owner)
    alpha = TenantClient(tenant)
    alpha.cookies = beta.cookies  # the same session cookie, presented on alpha's host

    response = alpha.get("/admin/")

    assert response.status_code == 403
    assert REASON not in response.content.decode()


def test_a_deactivated_member_does_not_see_the_reason(tenant, make_member):
    member = make_member(roles.MARKETER)
    client = logged_in_client(tenant, member)
    with schema_context(tenant.schema_name):
        User.objects.filter(pk=member.pk).update(is_active=False)
    tenant_suspend(tenant=tenant, reason=REASON)

    response = client.get("/admin/")

    assert response.status_code == 403
    assert REASON not in response.content.decode()


def test_a_member_can_log_in_to_a_suspended_workspace_to_read_why(tenant):
    tenant_suspend(tenant=tenant, reason=REASON)
    client = TenantClient(tenant)

    page = client.get("/accounts/login/")
    logged_in = client.post(
        "/accounts/login/", {"login": "owner@alpha.example", "password": OWNER_PASSWORD}
    )
    console = client.get("/admin/")

    assert page.status_code == 200
    assert logged_in.status_code == 302
    assert console.status_code == 403
    assert REASON in console.content.decode()


@pytest.mark.parametrize(
    "path",
    [
        "/admin/contacts/contact/",
        "/api/v1/contacts/",
        "/accounts/password/reset/",
        "/accounts/signup/",
        "/invitations/some-token/",
    ],
)
def test_only_logging_in_stays_open_on_a_suspended_workspace(owner_client, tenant, path):
    tenant_suspend(tenant=tenant, reason=REASON)

    assert owner_client.get(path).status_code == 403
    assert TenantClient(tenant).get(path).status_code == 403


def test_reactivated_workspace_works_again(owner_client, tenant):
    tenant_suspend(tenant=tenant)
    tenant_reactivate(tenant=tenant)

    assert owner_client.get("/admin/").status_code == 200


def test_unknown_host_gets_a_404_page_not_a_stack_trace(db):
    response = Client(HTTP_HOST="nowhere.localhost").get("/admin/")

    assert response.status_code == 404
    body = response.content.decode()
    assert "No workspace here" in body
    assert "nowhere.localhost" in body
    assert "Traceback" not in body


def test_host_outside_allowed_hosts_gets_404(db):
    response = Client(HTTP_HOST="evil.example.com").get("/admin/")

    assert response.status_code == 404


def test_unknown_path_on_a_workspace_gets_the_404_page(owner_client):
    response = owner_client.get("/no-such-page/")

    assert response.status_code == 404
    assert "Page not found" in response.content.decode()
