"""Layout: console pages fit the window at common laptop sizes (no sideways scrolling).

The contact form's two-box group selector and its "⋮" related-object button used to stick
out past the panel: the page scrolled sideways by about 60 px at 1366 px wide.
Screenshots: test-results/browser/layout-*.png.
"""

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from engagex.contacts.models import Contact, ContactGroup
from tenants.models import Tenant
from tests.browser import test_journeys as journeys
from tests.browser.test_journeys import Steps, _launch, _log_in
from tests.fixtures.tenants import OWNER_PASSWORD, SESSION_TENANTS

pytestmark = journeys.pytestmark
server = journeys.server
mail_dir = journeys.mail_dir
VIEWPORTS = [(1366, 900), (1280, 800)]


@pytest.fixture
def grouped_contact(server, django_db_blocker):
    """A contact of the session workspace "alpha" in two groups (its change page's selector)."""
    with django_db_blocker.unblock():
        tenant = Tenant.objects.get(slug="alpha")
        with schema_context(tenant.schema_name):
            groups = [
                ContactGroup.objects.create(name=name) for name in ("Customers", "Newsletter")
            ]
            contact = Contact.objects.create(email="jonas.patel@layout.example", first_name="Jo")
            contact.groups.set(groups)
        connection.close()
    try:
        yield contact
    finally:
        with django_db_blocker.unblock(), schema_context(tenant.schema_name):
            Contact.objects.filter(pk=contact.pk).delete()
            ContactGroup.objects.filter(pk__in=[g.pk for g in groups]).delete()
            connection.close()


def _overflow(page) -> int:
    """How many pixels the page is wider than the window (0 when it fits)."""
    return page.evaluate("Math.max(0, document.scrollingElement.scrollWidth - window.innerWidth)")


def test_the_contact_add_and_change_pages_do_not_scroll_sideways(server, grouped_contact):
    from playwright.sync_api import expect, sync_playwright

    workspace = f"http://alpha.localhost:{server}"
    pages = {
        "contact-add": "/admin/contacts/contact/add/",
        "contact-change": f"/admin/contacts/contact/{grouped_contact.pk}/change/",
    }
    with sync_playwright() as playwright:
        browser = _launch(playwright)
        overflow = {}
        for width, height in VIEWPORTS:
            page = browser.new_page(viewport={"width": width, "height": height})
            page.set_default_timeout(20_000)
            page.goto(f"{workspace}/admin/login/")
            _log_in(page, SESSION_TENANTS["alpha"][1], OWNER_PASSWORD)
            expect(page.get_by_text("Audience over the last 30 days")).to_be_visible()
            steps = Steps(page, prefix=f"layout-{width}")
            for name, path in pages.items():
                page.goto(f"{workspace}{path}")
                expect(page.locator("#id_lists")).to_be_visible()  # the list choice is built
                overflow[(name, width)] = _overflow(page)
                steps.shot(name)
            page.close()
        browser.close()

    assert overflow == {(name, width): 0 for name in pages for width, _ in VIEWPORTS}
