from django.db.models import Q, QuerySet

from engagex.billing.limits import PLAN_FIELD, Limit, usage
from engagex.billing.models import BillingAccount, Plan
from engagex.billing.services.accounts import billing_account_get


def billing_account_exists_for_stripe(*, customer_id: str, tenant_ids: list[int]) -> bool:
    """Whether a Stripe customer (or a workspace a Stripe object names) is one of ours."""
    return BillingAccount.objects.filter(
        Q(stripe_customer_id=customer_id) | Q(tenant_id__in=tenant_ids)
    ).exists()


def plan_list(*, offered_only: bool = False) -> QuerySet[Plan]:
    plans = Plan.objects.all()
    return plans.filter(is_public=True, is_trial=False) if offered_only else plans


def billing_usage(account: BillingAccount) -> list[dict]:
    """Each limit of the workspace's plan with what it uses now (run inside its schema)."""
    rows = []
    for limit in Limit:
        cap = getattr(account.plan, PLAN_FIELD[limit])
        used = usage(limit)
        percent = None if not cap else min(100, round(100 * used / cap))
        rows.append(
            {
                "key": limit.value,
                "label": limit.label,
                "used": used,
                "limit": cap,
                "percent": percent,
                "level": "danger"
                if percent and percent >= 90
                else "warning"
                if percent and percent >= 75
                else "ok",
            }
        )
    return rows


def billing_summary(tenant) -> dict:
    """Plan, status and usage of the current workspace, for the API and the dashboard."""
    account = billing_account_get(tenant)
    limits = {row["key"]: row for row in billing_usage(account)}
    return {
        "account": account,
        "plan": account.plan.name,
        "status": account.status,
        "trial_ends_at": account.trial_ends_at,
        "read_only": account.is_read_only,
        "api_access": account.plan.api_access,
        "limits": limits,
    }


# Stripe amounts are in the currency's smallest unit, except for these currencies.
ZERO_DECIMAL = {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "ugx", "vnd",
                "vuv", "xaf", "xof", "xpf"}  # fmt: skip


def invoice_amount(data: dict) -> tuple[float, str]:
    """A Stripe invoice's total in currency units, and its currency code."""
    currency = (data.get("currency") or "").lower()
    total = data.get("total") or 0
    return (total if currency in ZERO_DECIMAL else total / 100), currency.upper()


def billing_invoices(account: BillingAccount, *, limit: int = 24) -> list[dict]:
    """The workspace's Stripe invoices as dj-stripe has synced them, newest first."""
    from djstripe.models import Invoice

    if not account.stripe_customer_id:
        return []
    invoices = Invoice.objects.filter(customer__id=account.stripe_customer_id)
    rows = []
    for invoice in invoices.order_by("-created")[:limit]:
        data = invoice.stripe_data
        amount, currency = invoice_amount(data)
        rows.append(
            {
                "number": data.get("number") or invoice.id,
                "created": invoice.created,
                "amount": amount,
                "currency": currency,
                "status": data.get("status", ""),
                "url": data.get("hosted_invoice_url") or "",
            }
        )
    return rows
