import pytest
from django.utils import translation

pytest_plugins = ["tests.fixtures.tenants", "tests.fixtures.esp", "tests.fixtures.billing"]


@pytest.fixture(autouse=True)
def _language_reset():
    """Start every test in the site's default language: a request in another one (the
    language cookie, a workspace's default) leaves it active in the thread afterwards."""
    yield
    translation.deactivate()
