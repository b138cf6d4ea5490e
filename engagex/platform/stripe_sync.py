"""Stripe and the workspace's plan: Checkout, the customer portal, and syncing subscriptions.

The one place EngageX calls Stripe. The state Stripe holds now decides the workspace's plan
and status (`billing_subscription_sync`); the webhooks in `engagex.platform.webhooks` only
say when to look.
"""

import logging
from datetime import UTC, datetime, timedelta

import stripe
from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from engagex.billing.models import BillingAccount, Plan, PlanChange
from engagex.billing.services.accounts import billing_account_get, plan_change_record
from engagex.billing.services.plans import trial_plan
from engagex.core.ids import id_from_text
from engagex.platform.owners import owners_notify
from tenants.models import Tenant

logger = logging.getLogger(__name__)
S = BillingAccount.Status

# Customers read these: they name no setting (the log tells the operator which one).
NOT_CONFIGURED = gettext_lazy(
    "Online billing isn't set up for this workspace yet: contact support."
)
PLAN_NOT_PURCHASABLE = gettext_lazy(
    "The plan “{plan}” cannot be bought online with this billing period yet: choose another "
    "plan or billing period, or contact support."
)
NO_CUSTOMER = gettext_lazy("There are no billing details to manage yet: choose a plan first.")

# Stripe subscription status → ours. `incomplete` (checkout not paid yet) changes nothing.
STRIPE_STATUS = {
    "trialing": S.ACTIVE,
    "active": S.ACTIVE,
    "past_due": S.PAST_DUE,
    "unpaid": S.PAST_DUE,
    "paused": S.CANCELLED,
    "canceled": S.CANCELLED,
    "incomplete_expired": S.CANCELLED,
}
LIVE = {S.ACTIVE, S.PAST_DUE}


def billing_configured() -> bool:
    return bool(settings.STRIPE_SECRET_KEY)


def _api_key() -> str:
    if not billing_configured():
        logger.warning("A billing request needs Stripe, but STRIPE_SECRET_KEY is not set")
        raise ValidationError(NOT_CONFIGURED)
    return settings.STRIPE_SECRET_KEY


def billing_customer_ensure(*, account: BillingAccount) -> str:
    """Return the workspace's Stripe customer id, creating the customer on first use."""
    if account.stripe_customer_id:
        return account.stripe_customer_id
    tenant = account.tenant
    customer = stripe.Customer.create(
        api_key=_api_key(),
        email=tenant.owner_email,
        name=tenant.name,
        metadata={
            "tenant_id": str(tenant.pk),
            "workspace": tenant.slug,
            "djstripe_subscriber": str(tenant.pk),
        },
        idempotency_key=f"engagex-customer-{tenant.pk}",
    )
    account.stripe_customer_id = customer["id"]
    account.save(update_fields=["stripe_customer_id", "updated_at"])
    return customer["id"]


def billing_checkout_start(
    *, tenant: Tenant, plan: Plan, interval: str, success_url: str, cancel_url: str
) -> str:
    """Create a Stripe Checkout Session for `plan`; return the URL to send the Owner to."""
    api_key = _api_key()
    price = plan.price_for(interval)
    if not price or not plan.is_public:
        raise ValidationError(PLAN_NOT_PURCHASABLE.format(plan=plan.name))
    account = billing_account_get(tenant)
    customer = billing_customer_ensure(account=account)
    session = stripe.checkout.Session.create(
        api_key=api_key,
        mode="subscription",
        customer=customer,
        client_reference_id=str(tenant.pk),
        line_items=[{"price": price, "quantity": 1}],
        success_url=success_url,
        cancel_url=cancel_url,
        metadata={"tenant_id": str(tenant.pk), "plan": plan.code},
        subscription_data={"metadata": {"tenant_id": str(tenant.pk), "plan": plan.code}},
    )
    return session["url"]


def billing_portal_url(*, tenant: Tenant, return_url: str) -> str:
    """A Stripe customer-portal session for the workspace (cards, invoices, cancelling)."""
    api_key = _api_key()
    account = billing_account_get(tenant)
    if not account.stripe_customer_id:
        raise ValidationError(NO_CUSTOMER)
    session = stripe.billing_portal.Session.create(
        api_key=api_key, customer=account.stripe_customer_id, return_url=return_url
    )
    return session["url"]


# --- Stripe state → workspace --------------------------------------------------------------


def _timestamp(value) -> datetime | None:
    return datetime.fromtimestamp(value, tz=UTC) if value else None


def _subscription_price(data: dict) -> str:
    items = (data.get("items") or {}).get("data") or []
    return items[0]["price"]["id"] if items and items[0].get("price") else ""


def _period_end(data: dict):
    items = (data.get("items") or {}).get("data") or []
    value = data.get("current_period_end") or (
        items[0].get("current_period_end") if items else None
    )
    return _timestamp(value)


def _account_for(data: dict) -> BillingAccount | None:
    """The workspace a Stripe object belongs to: by its customer, else by our metadata."""
    tenant_id = (data.get("metadata") or {}).get("tenant_id") or ""
    customer = data.get("customer") or ""
    accounts = BillingAccount.objects.select_for_update(of=("self",)).select_related(
        "plan", "tenant"
    )
    if customer:
        account = accounts.filter(stripe_customer_id=customer).first()
        if account:
            return account
    if (tenant_pk := id_from_text(tenant_id)) is not None:
        account = accounts.filter(tenant_id=tenant_pk).first()
        # Metadata never moves a workspace onto another workspace's customer.
        if account and (not account.stripe_customer_id or account.stripe_customer_id == customer):
            return account
    return None


@transaction.atomic
def billing_checkout_completed(*, session: dict, event_id: str = "") -> BillingAccount | None:
    """Link the paying customer to the workspace named by `client_reference_id`, then sync."""
    reference = session.get("client_reference_id") or ""
    tenant_pk = id_from_text(reference)
    account = (
        BillingAccount.objects.select_for_update(of=("self",)).filter(tenant_id=tenant_pk).first()
        if tenant_pk is not None
        else None
    )
    if account is None:
        logger.warning("Checkout %s names no known workspace (%r)", session.get("id"), reference)
        return None
    customer = session.get("customer") or ""
    if customer and not account.stripe_customer_id:
        # As in `_account_for`: a reference never moves a workspace to another customer.
        if BillingAccount.objects.filter(stripe_customer_id=customer).exists():
            logger.warning("Checkout %s: customer %s is another's", session.get("id"), customer)
        else:
            account.stripe_customer_id = customer
            account.save(update_fields=["stripe_customer_id", "updated_at"])
    if session.get("subscription"):
        return billing_subscription_sync(subscription_id=session["subscription"], event_id=event_id)
    return account


@transaction.atomic
def billing_subscription_sync(*, subscription_id: str, event_id: str = "") -> BillingAccount | None:
    """Fetch the subscription as it is now and set the workspace's plan and status from it.

    Events arrive late, twice and out of order; the subscription's current state does not.
    """
    # A plain dict, like a webhook's payload: a StripeObject is not one (stripe 15) and has
    # `.get` only while dj-stripe patches it in.
    data = stripe.Subscription.retrieve(subscription_id, api_key=_api_key()).to_dict()
    return billing_subscription_apply(data=data, actor=event_id or subscription_id)


def billing_subscription_apply(*, data: dict, actor: str = "") -> BillingAccount | None:
    account = _account_for(data)
    if account is None:
        logger.warning("Subscription %s belongs to no known workspace", data.get("id"))
        return None
    status = STRIPE_STATUS.get(data.get("status", ""))
    if status is None:
        return account
    current = account.stripe_subscription_id
    if current and current != data["id"]:
        if status not in LIVE or not _is_newer(data, current):
            # An older or replaced subscription says nothing about the workspace's current one.
            return account
        # Checkout replaced the plan: stop billing the old subscription once this commits.
        transaction.on_commit(lambda: _subscription_cancel_quietly(current))
    before_plan, before_status = account.plan.name, account.status
    account.stripe_subscription_id = data["id"]
    account.stripe_customer_id = data.get("customer") or account.stripe_customer_id
    if account.status == S.COMPED:
        # A superuser's override stands until a superuser ends it.
        account.save()
        return account
    _take_subscription_state(account, data, status)
    account.save()
    if (before_plan, before_status) != (account.plan.name, account.status):
        plan_change_record(
            account, before_plan, before_status, source=PlanChange.Source.STRIPE, actor=actor
        )
    return account


def _is_newer(data: dict, current_id: str) -> bool:
    """Whether subscription `data` was created after the one the workspace has now."""
    from djstripe.models import Subscription

    current = Subscription.objects.filter(id=current_id).values_list("created", flat=True).first()
    created = _timestamp(data.get("created"))
    if current is None or created is None:
        return True
    return (created, data["id"]) > (current, current_id)


def _take_subscription_state(account: BillingAccount, data: dict, status: str) -> None:
    """Set plan, status and dates from a Stripe subscription (not saved)."""
    plan = _plan_for_price(_subscription_price(data)) or account.plan
    account.current_period_end = _period_end(data)
    account.cancel_at_period_end = bool(data.get("cancel_at_period_end"))
    account.plan = plan
    account.interval = (
        "year"
        if plan.stripe_price_yearly and plan.stripe_price_yearly == _subscription_price(data)
        else "month"
    )
    account.status = status
    account.trial_ends_at = (
        _timestamp(data.get("trial_end")) if data.get("status") == "trialing" else None
    )
    if status == S.PAST_DUE:
        if account.past_due_since is None:
            account.past_due_since = timezone.now()
            account.grace_ends_at = account.past_due_since + timedelta(
                days=settings.BILLING_GRACE_DAYS
            )
    else:
        account.past_due_since = account.grace_ends_at = None


def _plan_for_price(price_id: str) -> Plan | None:
    if not price_id:
        return None
    plan = Plan.objects.filter(stripe_price_monthly=price_id).first()
    return plan or Plan.objects.filter(stripe_price_yearly=price_id).first()


def _subscription_cancel_quietly(subscription_id: str) -> None:
    """Cancel the subscription a plan change through Checkout replaced (no double billing)."""
    try:
        stripe.Subscription.cancel(subscription_id, api_key=_api_key(), prorate=True)
    except stripe.StripeError:
        logger.exception("Could not cancel the replaced subscription %s", subscription_id)


def billing_payment_failed(*, invoice: dict, event_id: str = "") -> BillingAccount | None:
    """Tell the Owners a payment failed, then take the subscription's current state."""
    account = _account_for(invoice)
    subscription_id = invoice_subscription(invoice)
    if subscription_id:
        account = (
            billing_subscription_sync(subscription_id=subscription_id, event_id=event_id) or account
        )
    if account is not None:
        grace = account.grace_ends_at
        with translation.override(account.tenant.default_language or None):
            owners_notify(
                account.tenant,
                title=_("Payment failed for your EngageX subscription"),
                body=_(
                    "Stripe could not collect the payment for invoice %(number)s. Update the card "
                    "on the Billing page%(grace)s."
                )
                % {
                    "number": invoice.get("number") or invoice.get("id"),
                    "grace": (
                        _(" before %(date)s, when the workspace turns read-only")
                        % {"date": f"{grace:%Y-%m-%d}"}
                        if grace
                        else ""
                    ),
                },
                level="error",
            )
    return account


def billing_trial_will_end(*, subscription: dict) -> None:
    account = _account_for(subscription)
    if account is not None:
        with translation.override(account.tenant.default_language or None):
            owners_notify(
                account.tenant,
                title=_("Your trial ends soon"),
                body=_("Stripe will start charging for %(plan)s on %(date)s.")
                % {
                    "plan": account.plan.name,
                    "date": f"{_timestamp(subscription.get('trial_end')):%Y-%m-%d}",
                },
                level="warning",
            )


def invoice_subscription(invoice: dict) -> str:
    if invoice.get("subscription"):
        return invoice["subscription"]
    details = ((invoice.get("parent") or {}).get("subscription_details")) or {}
    return details.get("subscription") or ""


def billing_subscription_end(*, tenant: Tenant) -> bool:
    """Cancel the workspace's Stripe subscription now (the workspace is being deleted)."""
    account = BillingAccount.objects.filter(tenant=tenant).first()
    if account is None or not account.stripe_subscription_id or not billing_configured():
        return False
    if account.status not in LIVE and account.status != S.COMPED:
        return False
    _subscription_cancel_quietly(account.stripe_subscription_id)
    return True


@transaction.atomic
def billing_override_end(*, tenant: Tenant, actor) -> BillingAccount:
    """End a comp: back to the Stripe subscription's state, else the trial (or its end)."""
    account = (
        BillingAccount.objects.select_for_update(of=("self",))
        .select_related("plan")
        .get(tenant=tenant)
    )
    before_plan, before_status = account.plan.name, account.status
    account.comped_reason = ""
    status = None
    if account.stripe_subscription_id and billing_configured():
        subscription = stripe.Subscription.retrieve(
            account.stripe_subscription_id, api_key=_api_key()
        )
        data = subscription.to_dict()
        status = STRIPE_STATUS.get(data.get("status", ""))
        if status is not None:
            _take_subscription_state(account, data, status)
    if status is None:
        account.plan = trial_plan()
        trial_left = account.trial_ends_at and account.trial_ends_at > timezone.now()
        account.status = S.TRIALING if trial_left else S.EXPIRED
    account.save()
    plan_change_record(
        account,
        before_plan,
        before_status,
        source=PlanChange.Source.SUPERUSER,
        actor=str(actor),
        reason="override ended",
    )
    return account
