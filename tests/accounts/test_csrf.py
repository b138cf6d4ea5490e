"""Every form people post to outside the admin refuses a request without its CSRF token."""

import pytest
from django.test import Client
from django_tenants.test.client import TenantClient
from django_tenants.utils import schema_context

from engagex.accounts import roles
from engagex.accounts.models import Invitation, SignupRequest
from engagex.accounts.services.invitations import invitation_create

PUBLIC_FORMS = [
    "/signup/",
    "/signup/verify/",
    "/accounts/login/",
    "/accounts/login/code/",
    "/accounts/password/reset/",
]
WORKSPACE_FORMS = [
    "/accounts/login/",
    "/accounts/login/code/",
    "/accounts/password/reset/",
    "/admin/accounts/invitation/add/",
    "/admin/accounts/workspacesecurity/",
]


@pytest.mark.parametrize("path", PUBLIC_FORMS)
def test_public_forms_need_the_csrf_token(db, path):
    client = Client(HTTP_HOST="localhost", enforce_csrf_checks=True)

    response = client.post(path, {"email": "x@example.com", "login": "x@example.com"})

    assert response.status_code == 403
    assert SignupRequest.objects.count() == 0


@pytest.mark.parametrize("path", WORKSPACE_FORMS)
def test_workspace_forms_need_the_csrf_token(tenant, owner, path):
    client = TenantClient(tenant, enforce_csrf_checks=True)
    with schema_context(tenant.schema_name):
        client.force_login(owner)

    response = client.post(path, {"email": "x@alpha.example", "role": roles.VIEWER})

    assert response.status_code == 403
    with schema_context(tenant.schema_name):
        assert Invitation.objects.count() == 0


def test_invitation_revoke_needs_the_csrf_token(tenant, owner):
    with schema_context(tenant.schema_name):
        invitation, _ = invitation_create(email="x@alpha.example", role=roles.VIEWER, actor=owner)
    client = TenantClient(tenant, enforce_csrf_checks=True)
    with schema_context(tenant.schema_name):
        client.force_login(owner)

    response = client.post(f"/admin/accounts/invitation/{invitation.pk}/revoke/")

    assert response.status_code == 403
    with schema_context(tenant.schema_name):
        assert Invitation.objects.get().revoked_at is None
