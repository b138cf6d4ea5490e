"""Issue 16's journey in Chromium: a person fills a hosted form offering two lists,
confirms from the email, opens the preference centre, leaves one list; a campaign to that
list now skips them while a campaign to the other still reaches them.
Screenshots: test-results/browser/consent-*.png."""

import re
import time

import pytest
from django.core import mail
from django.db import connection
from django_tenants.utils import schema_context

from engagex.campaigns.services.campaigns import campaign_audience
from engagex.contacts.models import Contact, ContactGroup, Membership, MembershipStatus
from engagex.contacts.services.tokens import preferences_token
from engagex.subscriptions.models import SignupForm
from engagex.subscriptions.services.forms import signup_form_save
from tenants.models import Tenant
from tests.browser import test_journeys as journeys
from tests.browser.test_journeys import Steps, _launch
from tests.factories.campaigns import CampaignFactory
from tests.subscriptions.conftest import run_queued_tasks

pytestmark = journeys.pytestmark
server = journeys.server
mail_dir = journeys.mail_dir
EMAIL = "journey@browser.example"


@pytest.fixture
def two_list_form(server, django_db_blocker):
    with django_db_blocker.unblock():
        tenant = Tenant.objects.get(slug="alpha")
        with schema_context(tenant.schema_name):
            news = ContactGroup.objects.create(
                name="Journey news",
                description="Monthly news",
                visibility=ContactGroup.Visibility.PUBLIC,
                opt_in=ContactGroup.OptIn.DOUBLE,
            )
            deals = ContactGroup.objects.create(
                name="Journey deals",
                description="Offers, twice a month",
                visibility=ContactGroup.Visibility.PUBLIC,
                opt_in=ContactGroup.OptIn.DOUBLE,
            )
            form = signup_form_save(
                form=SignupForm(
                    name="Journey form",
                    let_choose=True,
                    consent_text="Yes, email me what I tick.",
                    first_name="optional",
                ),
                groups=[news, deals],
            )
        connection.close()
    try:
        yield tenant, form, news, deals
    finally:
        with django_db_blocker.unblock(), schema_context(tenant.schema_name):
            Contact.objects.filter(email=EMAIL).delete()
            form.delete()
            ContactGroup.objects.filter(pk__in=[news.pk, deals.pk]).delete()
            connection.close()


def test_form_confirm_preferences_and_campaign_audiences(server, two_list_form, django_db_blocker):
    from playwright.sync_api import expect, sync_playwright

    tenant, form, news, deals = two_list_form
    with sync_playwright() as playwright:
        browser = _launch(playwright)
        page = browser.new_page(viewport={"width": 900, "height": 1000})
        page.set_default_timeout(30_000)
        steps = Steps(page, prefix="consent")
        page.goto(f"http://alpha.localhost:{server}/f/{form.public_id}/")
        loaded = time.monotonic()
        page.fill("input[name=email]", EMAIL)
        page.check(f"input[name=lists][value='{news.pk}']")
        page.check(f"input[name=lists][value='{deals.pk}']")
        page.check("input[name=consent]")
        page.locator("altcha-widget label").first.click()
        page.wait_for_function(
            "() => (document.querySelector('altcha-widget input[name=altcha]') || {}).value"
        )
        steps.shot("form")
        time.sleep(max(0.0, 3.2 - (time.monotonic() - loaded)))
        page.click("button.primary")
        expect(page.get_by_text("Almost done: we have sent you an email")).to_be_visible()
        steps.shot("sent")

        with django_db_blocker.unblock():
            run_queued_tasks()
            with schema_context(tenant.schema_name):
                statuses = set(
                    Membership.objects.filter(contact__email=EMAIL).values_list("status", flat=True)
                )
                assert statuses == {MembershipStatus.UNCONFIRMED}
            connection.close()
        confirmations = [m for m in mail.outbox if EMAIL in m.to]
        assert confirmations, "no confirmation email"
        bodies = "\n".join(m.body for m in confirmations)
        links = set(re.findall(r"http://localhost(/c/[^/\s]+/)", bodies))
        for path in links:  # one email per list, or one link for both: confirm each
            page.goto(f"http://localhost:{server}{path}")
            steps.shot("confirm")
            page.click("button.primary")
            expect(page.get_by_text("You are subscribed")).to_be_visible()
        steps.shot("confirmed")

        with django_db_blocker.unblock(), schema_context(tenant.schema_name):
            contact = Contact.objects.get(email=EMAIL)
            token = preferences_token(schema=tenant.schema_name, contact_id=contact.pk)
            connection.close()
        page.goto(f"http://localhost:{server}/p/{token}/")
        expect(page.get_by_text("Journey deals")).to_be_visible()
        steps.shot("preferences")
        page.uncheck(f"input[name=lists][value='{deals.pk}']")
        page.get_by_role("button", name="Save my lists").click()
        expect(page.get_by_text("Your lists are saved.")).to_be_visible()
        steps.shot("left-one-list")
        browser.close()

    with django_db_blocker.unblock(), schema_context(tenant.schema_name):
        memberships = dict(
            Membership.objects.filter(contact=contact).values_list("group_id", "status")
        )
        assert memberships == {
            news.pk: MembershipStatus.SUBSCRIBED,
            deals.pk: MembershipStatus.UNSUBSCRIBED,
        }
        to_deals, to_news = CampaignFactory(name="To deals"), CampaignFactory(name="To news")
        to_deals.include_groups.set([deals])
        to_news.include_groups.set([news])
        assert contact not in campaign_audience(to_deals)
        assert contact in campaign_audience(to_news)
        to_deals.delete()
        to_news.delete()
        connection.close()
