"""The workspace Billing page: Owners only, usage bars, Checkout and the customer portal."""

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from django_tenants.utils import schema_context

from engagex.accounts import roles
from engagex.billing.models import BillingAccount
from tests.factories.billing import PlanFactory
from tests.factories.contacts import ContactFactory
from tests.fixtures.tenants import logged_in_client

URL = "/admin/billing/"


def test_owner_sees_plan_status_trial_end_and_usage(owner_client, tenant):
    with schema_context(tenant.schema_name):
        ContactFactory.create_batch(3)

    page = owner_client.get(URL).content.decode()

    assert 'data-testid="billing-plan">Free Trial<' in page
    assert 'data-testid="billing-status">Free trial<' in page
    assert "Trial ends" in page
    assert "3 / 1,000" in page  # contacts against the trial's limit
    assert "1 / 3" in page  # the Owner's seat
    assert 'data-testid="plan-basic"' in page
    assert 'data-testid="plan-premium"' in page


def test_without_stripe_keys_the_page_says_billing_is_not_configured(owner_client, settings):
    settings.STRIPE_SECRET_KEY = ""

    page = owner_client.get(URL).content.decode()

    assert 'data-testid="billing-not-configured"' in page
    assert "Online billing isn't set up for this workspace yet" in page
    assert "STRIPE" not in page
    assert 'data-testid="choose-' not in page


def test_without_stripe_keys_choosing_a_plan_says_so_without_naming_a_setting(
    owner_client, settings
):
    settings.STRIPE_SECRET_KEY = ""
    plan = PlanFactory(stripe_price_monthly="price_basic_m")

    response = owner_client.post(URL, {"plan": plan.pk, "interval": "month"}, follow=True)

    assert response.status_code == 200
    assert [str(m) for m in response.context["messages"]] == [
        "Online billing isn't set up for this workspace yet: contact support."
    ]
    assert "STRIPE" not in response.content.decode()
    assert BillingAccount.objects.get(tenant__slug="alpha").stripe_customer_id == ""


@pytest.mark.parametrize("role", [roles.ADMIN, roles.MARKETER, roles.VIEWER])
def test_only_owners_open_the_billing_page(tenant, make_member, role):
    client = logged_in_client(tenant, make_member(role))

    refused = client.get(URL)
    assert refused.status_code == 403
    assert "You can't open this page" in refused.content.decode()
    assert client.post(URL, {"action": "portal"}).status_code == 403


def test_choosing_a_plan_creates_a_checkout_session_for_its_price(
    owner_client, fake_stripe, tenant
):
    plan = PlanFactory(
        name="Pro", stripe_price_monthly="price_pro_m", stripe_price_yearly="price_pro_y"
    )

    response = owner_client.post(URL, {"plan": plan.pk, "interval": "year"})

    assert response.status_code == 302
    assert response["Location"].startswith(f"{fake_stripe.url}/checkout/cs_test_")
    (customer,) = fake_stripe.requests_to("POST", "/v1/customers")
    assert customer["params"]["email"] == tenant.owner_email
    assert customer["params"]["metadata"]["tenant_id"] == str(tenant.pk)
    (session,) = fake_stripe.requests_to("POST", "/v1/checkout/sessions")
    params = session["params"]
    assert params["mode"] == "subscription"
    assert params["line_items"] == [{"price": "price_pro_y", "quantity": "1"}]
    assert params["client_reference_id"] == str(tenant.pk)
    assert params["customer"] == BillingAccount.objects.get(tenant=tenant).stripe_customer_id
    assert params["success_url"] == "http://alpha.localhost/admin/billing/?checkout=success"
    assert params["cancel_url"] == "http://alpha.localhost/admin/billing/?checkout=cancelled"
    assert session["authorization"] == "Bearer sk_test_engagexFakeStripeKey0000000001"


def test_a_second_checkout_reuses_the_stripe_customer(owner_client, fake_stripe):
    plan = PlanFactory()

    owner_client.post(URL, {"plan": plan.pk, "interval": "month"})
    owner_client.post(URL, {"plan": plan.pk, "interval": "month"})

    assert len(fake_stripe.requests_to("POST", "/v1/customers")) == 1
    assert len(fake_stripe.requests_to("POST", "/v1/checkout/sessions")) == 2


def test_bad_plan_or_interval_is_refused_without_calling_stripe(owner_client, fake_stripe):
    hidden = PlanFactory(is_public=False)
    no_price = PlanFactory(stripe_price_monthly="")
    plan = PlanFactory()

    assert owner_client.post(URL, {"plan": hidden.pk}).status_code == 404
    assert owner_client.post(URL, {"plan": "x"}).status_code == 404
    assert owner_client.post(URL, {"plan": "²"}).status_code == 404  # isdigit() but no int
    refused = owner_client.post(URL, {"plan": no_price.pk, "interval": "month"}, follow=True)
    weird = owner_client.post(URL, {"plan": plan.pk, "interval": "weekly"}, follow=True)

    assert "cannot be bought online with this billing period yet" in refused.content.decode()
    assert "Choose monthly or yearly billing." in weird.content.decode()
    assert fake_stripe.requests_to("POST", "/v1/checkout/sessions") == []


def test_manage_billing_opens_the_stripe_customer_portal(owner_client, fake_stripe, tenant):
    BillingAccount.objects.filter(tenant=tenant).update(stripe_customer_id="cus_known")

    response = owner_client.post(URL, {"action": "portal"})

    assert response.status_code == 302
    assert response["Location"].startswith(f"{fake_stripe.url}/portal/bps_")
    (portal,) = fake_stripe.requests_to("POST", "/v1/billing_portal/sessions")
    assert portal["params"] == {
        "customer": "cus_known",
        "return_url": "http://alpha.localhost/admin/billing/",
    }


def test_portal_without_a_customer_explains_why(owner_client, fake_stripe):
    response = owner_client.post(URL, {"action": "portal"}, follow=True)

    assert "There are no billing details to manage yet" in response.content.decode()
    assert fake_stripe.requests_to("POST", "/v1/billing_portal/sessions") == []


def test_checkout_return_shows_a_thank_you(owner_client):
    page = owner_client.get(URL, {"checkout": "success"}).content.decode()

    assert "Thank you! Stripe confirms the payment in a moment" in page


def test_sidebar_shows_billing_to_owners_only(owner_client, tenant, make_member):
    marketer = logged_in_client(tenant, make_member(roles.MARKETER))

    assert (
        URL
        in owner_client.get(reverse("admin:index", urlconf="config.urls_tenants")).content.decode()
    )
    assert URL not in marketer.get("/admin/").content.decode()


def test_stripe_being_unreachable_is_explained_not_a_crash(owner_client, fake_stripe, monkeypatch):
    import stripe

    plan = PlanFactory()
    monkeypatch.setattr(stripe, "api_base", "http://127.0.0.1:9")  # nothing listens there

    response = owner_client.post(URL, {"plan": plan.pk, "interval": "month"}, follow=True)

    assert response.status_code == 200
    page = response.content.decode()
    assert "Stripe could not be reached or refused the request. Nothing was charged" in page
    assert "Unexpected error communicating with Stripe" not in page
    assert "Network error" not in page
    assert BillingAccount.objects.get(tenant__slug="alpha").stripe_customer_id == ""


def test_an_admin_page_reads_the_billing_account_and_the_owner_role_once(
    owner_client, tenant, on_plan
):
    """unfold renders many sub-templates with the request; each used to redo both queries."""
    on_plan(tenant, status=BillingAccount.Status.PAST_DUE)

    with CaptureQueriesContext(connection) as queries:
        response = owner_client.get("/admin/contacts/contact/")

    assert "A payment failed. Update the card" in response.content.decode()
    selects = [q["sql"] for q in queries if q["sql"].startswith("SELECT")]
    assert sum('"billing_billingaccount"' in sql for sql in selects) == 1
    assert sum("'Owner'" in sql for sql in selects) == 1


def test_stock_plan_texts_are_translated_and_a_superusers_own_are_shown_as_written(
    owner_client, monkeypatch
):
    """Plans are rows a superuser may reword; the seeded wording goes through the catalogue
    (a marked translation stands in for it here), an edited one is shown as it was typed."""
    from engagex.billing.models import Plan
    from engagex.billing.services import plans

    monkeypatch.setattr(plans, "gettext", lambda text: f"«{text}»")
    Plan.objects.filter(code="pro").update(description="Our own words.")

    page = owner_client.get(URL).content.decode()

    assert 'data-testid="billing-plan">«Free Trial»<' in page
    assert "«For a small list: one domain, two seats.»" in page
    assert "Our own words." in page
    assert "«Our own words.»" not in page
