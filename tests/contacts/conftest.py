import pytest
from django_tenants.utils import schema_context


@pytest.fixture
def in_tenant(tenant):
    """Run the test body inside the `alpha` workspace's schema."""
    with schema_context(tenant.schema_name):
        yield tenant
