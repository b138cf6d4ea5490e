"""Journey: import a real Mailchimp export with a bad row, export the list, import it back.

The Owner uploads Mailchimp's audience export (BOM, 23 columns, a row without an email),
accepts the proposed mapping, reads the dry run (the bad row named with its reason), imports,
then exports the contacts as CSV and as XLSX with the list's buttons and imports each file
back: the dry run finds every contact unchanged and nothing is added or rejected.
Screenshots: test-results/browser/import-*.png.
"""

import re
from pathlib import Path

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from engagex.contacts.models import Contact
from engagex.platform.provisioning import tenant_create, tenant_delete
from tests.browser import test_journeys as journeys
from tests.browser.test_journeys import PASSWORD, Steps, _launch, _log_in

pytestmark = journeys.pytestmark
server = journeys.server
mail_dir = journeys.mail_dir
MAILCHIMP = (
    Path(__file__).parents[1] / "contacts/corpus/mailchimp/subscribed_members_export_4f2a1c9e.csv"
)


@pytest.fixture
def import_workspace(server, django_db_blocker):
    with django_db_blocker.unblock():
        tenant = tenant_create(
            name="Import Co", slug="import-co", owner_email="owner@import.example",
            owner_password=PASSWORD, send_invitation=False,
        ).tenant  # fmt: skip
        connection.close()
    try:
        yield tenant
    finally:
        with django_db_blocker.unblock():
            tenant_delete(tenant=tenant)


def _counts(page) -> dict[str, int]:
    """The dry run's counts as the page shows them (label → number)."""
    found = {}
    for box in page.locator(".engagex-count").all():
        number = box.locator("strong").inner_text()
        found[box.locator("span").inner_text().strip()] = int(re.sub(r"\D", "", number))
    return found


def _upload_and_check(page, workspace: str, path: Path) -> None:
    page.goto(f"{workspace}/admin/contacts/importjob/add/")
    page.set_input_files("input[type=file]", str(path))
    page.click("button:has-text('Upload and continue')")
    page.get_by_text("Map the columns").wait_for()
    page.click("button:has-text('Check the file (dry run)')")
    page.get_by_text("Dry run: what the import will do").wait_for()


def test_import_a_mailchimp_export_then_export_and_reimport_it(
    server, import_workspace, django_db_blocker, tmp_path
):
    from playwright.sync_api import expect, sync_playwright

    workspace = f"http://import-co.localhost:{server}"
    with sync_playwright() as playwright:
        browser = _launch(playwright)
        page = browser.new_page(viewport={"width": 1440, "height": 900}, accept_downloads=True)
        page.set_default_timeout(30_000)
        steps = Steps(page, prefix="import")
        page.goto(f"{workspace}/admin/login/")
        _log_in(page, "owner@import.example", PASSWORD)
        expect(page.get_by_text("Audience over the last 30 days")).to_be_visible()

        # 1. Mailchimp's export: the mapping is proposed, the bad row is named.
        page.goto(f"{workspace}/admin/contacts/importjob/add/")
        page.set_input_files("input[type=file]", str(MAILCHIMP))
        page.click("button:has-text('Upload and continue')")
        expect(page.get_by_text("Map the columns")).to_be_visible()
        steps.shot("mapping")
        page.click("button:has-text('Check the file (dry run)')")
        expect(page.get_by_text("Email is missing.")).to_be_visible()
        steps.shot("dry-run")
        counts = _counts(page)
        assert counts["New contacts"] == 3
        assert counts["Invalid rows"] == 1
        page.click("button:has-text('Import now')")
        expect(page.get_by_text("Import finished").first).to_be_visible()
        steps.shot("finished")
        with django_db_blocker.unblock(), schema_context("import_co"):
            before = sorted(
                Contact.objects.values_list("email", "first_name", "last_name", "phone")
            )
            attributes = dict(Contact.objects.values_list("email", "attributes"))
            connection.close()
        assert len(before) == 3

        # 2. Export the list both ways, and 3. import each file back: nothing changes.
        for button, name in (("CSV", "contacts.csv"), ("XLSX", "contacts.xlsx")):
            page.goto(f"{workspace}/admin/contacts/contact/")
            expect(page.get_by_text("ana.garcia@example.es")).to_be_visible()
            with page.expect_download() as download:
                page.get_by_role("link", name=re.compile(f"^download\\s*{button}$")).click()
            exported = tmp_path / name
            download.value.save_as(exported)
            assert exported.stat().st_size > 0

            _upload_and_check(page, workspace, exported)
            steps.shot(f"reimport-{button.lower()}")
            counts = _counts(page)
            unchanged = "Existing, already up to date"
            assert counts[unchanged] == 3, counts
            assert {k: v for k, v in counts.items() if v and k != unchanged} == {}
            page.click("button:has-text('Import now')")
            expect(page.get_by_text("Import finished").first).to_be_visible()

        with django_db_blocker.unblock(), schema_context("import_co"):
            after = sorted(Contact.objects.values_list("email", "first_name", "last_name", "phone"))
            assert dict(Contact.objects.values_list("email", "attributes")) == attributes
            connection.close()
        assert after == before
        browser.close()
