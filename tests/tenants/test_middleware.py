from django.test import Client
from django_tenants.test.client import TenantClient

from tenants.services import tenant_reactivate, tenant_suspend


def test_suspended_workspace_shows_a_clear_page_to_its_staff(owner_client, tenant):
    tenant_suspend(tenant=tenant, reason="Unpaid invoice")

    response = owner_client.get("/admin/")

    assert response.status_code == 403
    body = response.content.decode()
    assert "The workspace “Alpha Corp” is suspended" in body
    assert "Unpaid invoice" in body


def test_suspended_workspace_login_page_is_also_blocked(tenant):
    tenant_suspend(tenant=tenant)

    response = TenantClient(tenant).get("/admin/login/")

    assert response.status_code == 403


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
