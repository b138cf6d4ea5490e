import uuid

import pytest
from django_tenants.test.client import TenantClient
from django_tenants.utils import schema_context

from engagex.accounts import roles
from engagex.accounts.models import User
from engagex.accounts.services import user_create
from engagex.api.services import api_key_create


def key_client(tenant, role=roles.OWNER, user=None) -> TenantClient:
    """A client for `tenant` authenticating with a fresh API key of `role`.

    A key acts at most with its creator's role: without `user`, the key is created by the
    workspace's Owner (Owner keys) or by a new member holding `role`.
    """
    with schema_context(tenant.schema_name):
        if user is None:
            user = (
                User.objects.filter(is_active=True, groups__name=roles.OWNER).order_by("pk").first()
                if role == roles.OWNER
                else user_create(
                    email=f"{role.lower()}-key-{uuid.uuid4().hex[:8]}@keys.example", role=role
                )
            )
        _, plain = api_key_create(name=f"{role} key", role=role, user=user)
    return TenantClient(tenant, HTTP_AUTHORIZATION=f"Bearer {plain}")


@pytest.fixture
def api(tenant, owner):
    return key_client(tenant, roles.OWNER, owner)
