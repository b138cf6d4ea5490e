import pytest
from django_tenants.utils import schema_context

from engagex.campaigns.services import sending


@pytest.fixture
def in_tenant(tenant):
    with schema_context(tenant.schema_name):
        yield tenant


@pytest.fixture(autouse=True)
def _no_backoff(monkeypatch):
    monkeypatch.setattr(sending, "RETRY_DELAYS", (0, 0, 0))
