import pytest
from django_tenants.test.client import TenantClient
from django_tenants.utils import schema_context

from engagex.accounts import roles
from engagex.api.services import api_key_create


def key_client(tenant, role=roles.OWNER, user=None) -> TenantClient:
    """A client for `tenant` authenticating with a fresh API key of `role`."""
    with schema_context(tenant.schema_name):
        _, plain = api_key_create(name=f"{role} key", role=role, user=user)
    return TenantClient(tenant, HTTP_AUTHORIZATION=f"Bearer {plain}")


@pytest.fixture
def api(tenant, owner):
    return key_client(tenant, roles.OWNER, owner)
