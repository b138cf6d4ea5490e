from django_tenants.test.client import TenantClient
from django_tenants.utils import schema_context

from engagex.accounts.models import User
from engagex.notifications.models import Notification
from tests.factories.accounts import NotificationFactory
from tests.fixtures.tenants import OWNER_PASSWORD, PLATFORM_ADMIN, SESSION_TENANTS


def test_rows_created_in_one_workspace_are_invisible_in_another(tenant, other_tenant, owner):
    with schema_context(tenant.schema_name):
        NotificationFactory(recipient=owner, title="Alpha only")

    with schema_context(other_tenant.schema_name):
        assert not Notification.objects.filter(title="Alpha only").exists()
        assert not User.objects.filter(email=owner.email).exists()
    with schema_context(tenant.schema_name):
        assert Notification.objects.filter(title="Alpha only").count() == 1


def test_staff_of_one_workspace_cannot_log_in_on_another(tenant, other_tenant):
    alpha_email = SESSION_TENANTS["alpha"][1]
    client = TenantClient(other_tenant)

    response = client.post(
        "/accounts/login/?next=/admin/", {"login": alpha_email, "password": OWNER_PASSWORD}
    )

    assert response.status_code == 200
    assert "The email address and/or password you specified are not correct." in (
        response.content.decode()
    )
    assert client.get("/admin/").status_code == 302


def test_own_credentials_log_in_on_own_workspace(tenant):
    client = TenantClient(tenant)

    response = client.post(
        "/accounts/login/?next=/admin/",
        {"login": SESSION_TENANTS["alpha"][1], "password": OWNER_PASSWORD},
    )

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200


def test_session_cookie_of_one_workspace_is_not_accepted_on_another(owner_client, other_tenant):
    assert owner_client.get("/admin/").status_code == 200
    stolen = owner_client.cookies["sessionid"].value
    intruder = TenantClient(other_tenant)
    intruder.cookies["sessionid"] = stolen

    response = intruder.get("/admin/")

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_platform_superuser_is_not_a_workspace_user(tenant):
    client = TenantClient(tenant)

    response = client.post(
        "/accounts/login/?next=/admin/", {"login": PLATFORM_ADMIN[0], "password": PLATFORM_ADMIN[1]}
    )

    assert response.status_code == 200
    assert client.get("/admin/").status_code == 302
    with schema_context(tenant.schema_name):
        assert not User.objects.filter(email=PLATFORM_ADMIN[0]).exists()


def test_platform_session_is_not_accepted_by_a_workspace(platform_client, tenant):
    assert platform_client.get("/admin/").status_code == 200
    intruder = TenantClient(tenant)
    intruder.cookies["sessionid"] = platform_client.cookies["sessionid"].value

    assert intruder.get("/admin/").status_code == 302


def test_workspace_owner_cannot_log_in_to_the_platform(db, tenant):
    from django.test import Client

    client = Client(HTTP_HOST="localhost")
    response = client.post(
        "/accounts/login/?next=/admin/",
        {"login": SESSION_TENANTS["alpha"][1], "password": OWNER_PASSWORD},
    )

    assert response.status_code == 200
    assert client.get("/admin/").status_code == 302
