"""Stripe webhooks end to end: signed events through dj-stripe, against the fake Stripe API."""

import json
import time

import pytest
from django.core import mail
from django.test import Client
from django_tenants.utils import schema_context
from djstripe import models as djstripe_models
from djstripe.models import Event, WebhookEventTrigger

from devtools.fake_stripe import sign
from engagex.billing.models import BillingAccount, PlanChange
from engagex.notifications.models import Notification
from engagex.platform.webhooks import webhook_endpoint
from tests.factories.billing import PlanFactory
from tests.fixtures.billing import WEBHOOK_SECRET

S = BillingAccount.Status
URL = "/billing/stripe/webhook/"


def post_event(event: dict, *, secret: str = WEBHOOK_SECRET, timestamp: int | None = None):
    payload = json.dumps(event)
    return Client(HTTP_HOST="localhost").post(
        URL,
        data=payload,
        content_type="application/json",
        HTTP_STRIPE_SIGNATURE=sign(payload, secret, timestamp),
    )


def checkout(fake, tenant, plan) -> str:
    """Start Checkout as the billing service does; return the fake session id."""
    from engagex.platform.stripe_sync import billing_checkout_start

    url = billing_checkout_start(
        tenant=tenant,
        plan=plan,
        interval="month",
        success_url="http://alpha.localhost/admin/billing/?checkout=success",
        cancel_url="http://alpha.localhost/admin/billing/?checkout=cancelled",
    )
    return url.rsplit("/", 1)[-1]


def account(tenant) -> BillingAccount:
    return BillingAccount.objects.select_related("plan").get(tenant=tenant)


@pytest.fixture
def pro(db):
    return PlanFactory(name="Pro", code="pro-test", contact_limit=50_000)


@pytest.fixture
def subscribed(fake_stripe, tenant, pro):
    """The tenant paid for `pro` through Checkout; returns the subscription id."""
    event = fake_stripe.complete_checkout(checkout(fake_stripe, tenant, pro))
    assert post_event(event).status_code == 200
    return event["data"]["object"]["subscription"]


def test_checkout_completed_puts_the_workspace_on_the_paid_plan(fake_stripe, tenant, pro):
    session = checkout(fake_stripe, tenant, pro)
    event = fake_stripe.complete_checkout(session)

    response = post_event(event)

    assert response.status_code == 200
    billing = account(tenant)
    assert (billing.plan, billing.status) == (pro, S.ACTIVE)
    assert billing.stripe_subscription_id == event["data"]["object"]["subscription"]
    assert billing.stripe_customer_id.startswith("cus_")
    assert billing.current_period_end is not None
    assert Event.objects.filter(id=event["id"]).count() == 1
    change = PlanChange.objects.filter(tenant=tenant, source="stripe").get()
    assert (change.from_plan, change.to_plan, change.to_status) == ("Free Trial", "Pro", "active")
    assert change.actor == event["id"]


def test_a_bad_signature_gets_400_and_stores_nothing(fake_stripe, tenant, pro):
    event = fake_stripe.complete_checkout(checkout(fake_stripe, tenant, pro))

    forged = post_event(event, secret="whsec_someone_else")
    unsigned = Client(HTTP_HOST="localhost").post(
        URL, data=json.dumps(event), content_type="application/json"
    )

    assert (forged.status_code, unsigned.status_code) == (400, 400)
    assert Event.objects.count() == 0
    assert WebhookEventTrigger.objects.count() == 0
    assert account(tenant).status == S.TRIALING


def test_an_event_signed_too_long_ago_is_refused(fake_stripe, tenant, pro):
    event = fake_stripe.complete_checkout(checkout(fake_stripe, tenant, pro))

    response = post_event(event, timestamp=int(time.time()) - 301)

    assert response.status_code == 400
    assert account(tenant).status == S.TRIALING


def test_a_replayed_event_has_no_second_effect(fake_stripe, tenant, subscribed):
    event = fake_stripe.set_subscription_status(subscribed, "past_due")
    assert post_event(event).status_code == 200
    first = account(tenant)
    changes = PlanChange.objects.filter(tenant=tenant).count()

    again = post_event(event)

    assert again.status_code == 200
    assert Event.objects.filter(id=event["id"]).count() == 1
    assert PlanChange.objects.filter(tenant=tenant).count() == changes
    assert account(tenant).grace_ends_at == first.grace_ends_at


def test_out_of_order_events_end_in_the_subscriptions_current_state(
    fake_stripe, tenant, subscribed
):
    # Stripe's order: payment fails (past_due), then the retry succeeds (active again).
    overdue = fake_stripe.set_subscription_status(subscribed, "past_due")
    recovered = fake_stripe.set_subscription_status(subscribed, "active")

    # Delivered the other way round: the older "past_due" snapshot arrives last.
    assert post_event(recovered).status_code == 200
    assert post_event(overdue).status_code == 200

    billing = account(tenant)
    assert billing.status == S.ACTIVE
    assert billing.grace_ends_at is None


def test_a_late_update_cannot_revive_a_cancelled_subscription(fake_stripe, tenant, subscribed):
    stale_update = fake_stripe.set_subscription_status(subscribed, "active")
    deleted = fake_stripe.set_subscription_status(subscribed, "canceled")

    post_event(deleted)
    post_event(stale_update)

    assert account(tenant).status == S.CANCELLED
    assert account(tenant).is_read_only


def test_payment_failed_starts_the_grace_period_and_tells_the_owners(
    fake_stripe, tenant, subscribed, settings, owner, django_capture_on_commit_callbacks
):
    fake_stripe.set_subscription_status(subscribed, "past_due")
    invoice = fake_stripe.invoice(subscribed, paid=False)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        response = post_event(fake_stripe.event("invoice.payment_failed", invoice))

    assert response.status_code == 200
    billing = account(tenant)
    assert billing.status == S.PAST_DUE
    assert (billing.grace_ends_at - billing.past_due_since).days == settings.BILLING_GRACE_DAYS
    assert not billing.is_read_only
    with schema_context(tenant.schema_name):
        note = Notification.objects.get(recipient=owner)
    assert note.title == "Payment failed for your EngageX subscription"
    assert invoice["number"] in note.body
    assert [m.to for m in mail.outbox] == [[owner.email]]


def test_invoice_paid_brings_an_overdue_workspace_back(fake_stripe, tenant, subscribed):
    post_event(fake_stripe.set_subscription_status(subscribed, "past_due"))
    fake_stripe.objects[subscribed]["status"] = "active"
    invoice = fake_stripe.invoice(subscribed, paid=True)

    post_event(fake_stripe.event("invoice.paid", invoice))

    assert account(tenant).status == S.ACTIVE


def test_events_for_one_workspace_never_touch_another(
    fake_stripe, tenant, other_tenant, subscribed
):
    post_event(fake_stripe.set_subscription_status(subscribed, "canceled"))

    assert account(tenant).status == S.CANCELLED
    assert account(other_tenant).status == S.TRIALING
    assert not PlanChange.objects.filter(tenant=other_tenant, source="stripe").exists()


def test_a_new_plan_through_checkout_cancels_the_replaced_subscription(
    fake_stripe, tenant, subscribed, django_capture_on_commit_callbacks
):
    premium = PlanFactory(name="Premium", code="premium-test")
    event = fake_stripe.complete_checkout(checkout(fake_stripe, tenant, premium))

    with django_capture_on_commit_callbacks(execute=True):
        post_event(event)

    billing = account(tenant)
    assert billing.plan == premium
    assert billing.stripe_subscription_id == event["data"]["object"]["subscription"]
    assert fake_stripe.objects[subscribed]["status"] == "canceled"
    # The old subscription's own "deleted" event, arriving later, changes nothing.
    post_event(fake_stripe.event("customer.subscription.deleted", fake_stripe.objects[subscribed]))
    assert account(tenant).status == S.ACTIVE


def test_trial_will_end_notifies_the_owners(fake_stripe, tenant, subscribed, owner):
    subscription = fake_stripe.objects[subscribed]
    subscription.update(status="trialing", trial_end=int(time.time()) + 3 * 86400)

    post_event(fake_stripe.event("customer.subscription.trial_will_end", subscription))

    with schema_context(tenant.schema_name):
        assert Notification.objects.filter(recipient=owner, title="Your trial ends soon").exists()


def test_webhooks_are_off_without_a_signing_secret(fake_stripe, settings, tenant, pro):
    settings.STRIPE_WEBHOOK_SECRET = ""
    event = fake_stripe.complete_checkout(checkout(fake_stripe, tenant, pro))

    assert post_event(event).status_code == 404
    assert Event.objects.count() == 0


def test_paid_invoices_are_listed_on_the_billing_page(
    fake_stripe, tenant, subscribed, owner_client
):
    invoice = fake_stripe.objects[fake_stripe.objects[subscribed]["latest_invoice"]]

    assert post_event(fake_stripe.event("invoice.paid", invoice)).status_code == 200

    page = owner_client.get("/admin/billing/").content.decode()
    assert invoice["number"] in page
    assert "79.00 USD" in page
    assert f'href="{invoice["hosted_invoice_url"]}"' in page


def test_an_older_subscription_still_live_cannot_replace_the_current_one(
    fake_stripe, tenant, subscribed
):
    premium = PlanFactory(name="Premium", code="premium-test")
    newer = fake_stripe.complete_checkout(checkout(fake_stripe, tenant, premium))
    post_event(newer)  # the old one's cancellation is left undone (no commit in this test)

    post_event(fake_stripe.set_subscription_status(subscribed, "active"))

    billing = account(tenant)
    assert billing.stripe_subscription_id == newer["data"]["object"]["subscription"]
    assert billing.plan == premium


def test_a_rotated_signing_secret_takes_effect(fake_stripe, settings, tenant, subscribed):
    settings.STRIPE_WEBHOOK_SECRET = "whsec_rotated"
    event = fake_stripe.set_subscription_status(subscribed, "past_due")

    old = post_event(event)
    new = post_event(event, secret="whsec_rotated")

    assert (old.status_code, new.status_code) == (400, 200)
    assert account(tenant).status == S.PAST_DUE


def test_dj_stripes_own_webhook_url_is_not_mounted(db, settings):
    """It stores a request before checking the signature; only our checked URL exists."""
    settings.STRIPE_WEBHOOK_SECRET = WEBHOOK_SECRET
    endpoint_uuid = webhook_endpoint().djstripe_uuid
    response = Client().post(
        f"/stripe/webhook/{endpoint_uuid}/",
        data=b'{"id": "evt_forged"}',
        content_type="application/json",
        HTTP_HOST="localhost",
        HTTP_STRIPE_SIGNATURE="t=1,v1=forged",
    )

    assert response.status_code == 404
    assert not WebhookEventTrigger.objects.exists()


def test_a_checkout_reference_never_moves_a_workspace_to_another_customer(tenant, other_tenant):
    from engagex.platform.stripe_sync import billing_checkout_completed

    BillingAccount.objects.filter(tenant=other_tenant).update(stripe_customer_id="cus_other")
    BillingAccount.objects.filter(tenant=tenant).update(stripe_customer_id="cus_mine")

    billing_checkout_completed(
        session={"id": "cs_1", "client_reference_id": str(tenant.pk), "customer": "cus_other"}
    )

    assert BillingAccount.objects.get(tenant=tenant).stripe_customer_id == "cus_mine"
    BillingAccount.objects.filter(tenant=tenant).update(stripe_customer_id="")
    billing_checkout_completed(
        session={"id": "cs_2", "client_reference_id": str(tenant.pk), "customer": "cus_other"}
    )
    assert BillingAccount.objects.get(tenant=tenant).stripe_customer_id == ""
    billing_checkout_completed(
        session={"id": "cs_3", "client_reference_id": str(tenant.pk), "customer": "cus_new"}
    )
    assert BillingAccount.objects.get(tenant=tenant).stripe_customer_id == "cus_new"


# --- clocks and customers Stripe's retries must not choke on --------------------------------
def test_an_event_signed_in_the_future_is_refused(fake_stripe, tenant, pro):
    event = fake_stripe.complete_checkout(checkout(fake_stripe, tenant, pro))

    future = post_event(event, timestamp=int(time.time()) + 301)

    assert future.status_code == 400
    assert Event.objects.count() == 0
    assert WebhookEventTrigger.objects.count() == 0
    assert account(tenant).status == S.TRIALING


def test_a_few_seconds_of_clock_skew_are_tolerated(fake_stripe, tenant, pro):
    event = fake_stripe.complete_checkout(checkout(fake_stripe, tenant, pro))

    response = post_event(event, timestamp=int(time.time()) + 60)

    assert response.status_code == 200
    assert account(tenant).status == S.ACTIVE


def _accounts_state():
    return list(
        BillingAccount.objects.order_by("pk").values(
            "tenant_id", "plan_id", "status", "stripe_customer_id", "stripe_subscription_id",
            "past_due_since", "grace_ends_at", "current_period_end",
        )
    )  # fmt: skip


def _unknown_customer_event(fake_stripe, kind: str) -> dict:
    """A signed event about `cus_nobody`, whom no workspace has and Stripe no longer knows."""
    base = {"customer": "cus_nobody", "livemode": False, "metadata": {}, "created": 1}
    objects = {
        "customer.subscription.updated": {"id": "sub_nobody", "object": "subscription",
                                          "status": "active"},
        "customer.subscription.deleted": {"id": "sub_nobody", "object": "subscription",
                                          "status": "canceled"},
        "invoice.paid": {"id": "in_nobody", "object": "invoice", "subscription": "sub_nobody",
                         "number": "X-1", "status": "paid"},
        "invoice.payment_failed": {"id": "in_nobody", "object": "invoice",
                                   "subscription": "sub_nobody", "number": "X-1"},
        "customer.updated": {"id": "cus_nobody", "object": "customer", "customer": None},
        "checkout.session.completed": {"id": "cs_nobody", "object": "checkout.session",
                                       "client_reference_id": "999999",
                                       "subscription": "sub_nobody"},
    }  # fmt: skip
    event = fake_stripe.event(kind, {**base, **objects[kind]})
    fake_stripe.reset()  # Stripe itself has none of these objects
    return event


@pytest.mark.parametrize(
    "kind",
    [
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "invoice.paid",
        "invoice.payment_failed",
        "customer.updated",
        "checkout.session.completed",
    ],
)
def test_an_event_for_an_unknown_customer_is_acknowledged_and_recorded(
    fake_stripe, tenant, other_tenant, kind
):
    event = _unknown_customer_event(fake_stripe, kind)
    before, changes = _accounts_state(), PlanChange.objects.count()

    response = post_event(event)
    again = post_event(event)  # had it been a 5xx, Stripe would retry for three days

    assert (response.status_code, again.status_code) == (200, 200)
    trigger = WebhookEventTrigger.objects.order_by("created").first()
    assert (trigger.valid, trigger.processed) == (True, False)
    assert trigger.event_id == event["id"]
    assert trigger.exception == "Not processed: no workspace has the Stripe customer cus_nobody."
    assert list(Event.objects.values_list("id", "type")) == [(event["id"], kind)]
    # Nothing else changed, and nothing was asked of Stripe about someone else's customer.
    assert _accounts_state() == before
    assert PlanChange.objects.count() == changes
    assert not djstripe_models.Customer.objects.exists()
    assert not djstripe_models.Subscription.objects.exists()
    assert not [r for r in fake_stripe.requests if "nobody" in r["path"]]


def test_an_event_whose_objects_stripe_no_longer_has_is_acknowledged(fake_stripe, tenant):
    # The workspace's customer was deleted in the Stripe dashboard; a late event still names it.
    BillingAccount.objects.filter(tenant=tenant).update(stripe_customer_id="cus_deleted")
    event = fake_stripe.event(
        "customer.subscription.updated",
        {"id": "sub_deleted", "object": "subscription", "customer": "cus_deleted",
         "status": "active", "livemode": False, "metadata": {}, "created": 1},
    )  # fmt: skip
    fake_stripe.reset()
    before, changes = _accounts_state(), PlanChange.objects.count()

    response = post_event(event)

    assert response.status_code == 200
    trigger = WebhookEventTrigger.objects.get()
    assert (trigger.valid, trigger.processed) == (True, False)
    assert "No such customer: 'cus_deleted'" in trigger.exception
    assert _accounts_state() == before
    assert PlanChange.objects.count() == changes
    assert not Event.objects.exists()  # dj-stripe rolled its half-synced event back
