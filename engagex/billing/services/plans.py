"""Plans: the defaults a new platform starts with and the trial every workspace begins on."""

from django.conf import settings
from django.utils.translation import gettext, gettext_noop

from engagex.billing.models import Plan

# Sensible defaults for `seed_plans`; a superuser edits them afterwards in the platform admin.
# Names and descriptions are stored in English and translated when shown (`plan_text`).
PLAN_DEFAULTS = [
    {
        "code": "free-trial",
        "name": gettext_noop("Free Trial"),
        "description": gettext_noop("Everything in Pro for 14 days, no card needed."),
        "position": 0,
        "is_trial": True,
        "trial_days": 14,
        "monthly_price": 0,
        "contact_limit": 1_000,
        "monthly_send_limit": 5_000,
        "seat_limit": 3,
        "sender_domain_limit": 1,
        "api_access": True,
        "is_public": False,
    },
    {
        "code": "basic",
        "name": gettext_noop("Basic"),
        "description": gettext_noop("For a small list: one domain, two seats."),
        "position": 1,
        "monthly_price": 19,
        "contact_limit": 5_000,
        "monthly_send_limit": 50_000,
        "seat_limit": 2,
        "sender_domain_limit": 1,
        "api_access": False,
    },
    {
        "code": "pro",
        "name": gettext_noop("Pro"),
        "description": gettext_noop("Growing teams: more seats, domains and the API."),
        "position": 2,
        "monthly_price": 79,
        "contact_limit": 50_000,
        "monthly_send_limit": 500_000,
        "seat_limit": 10,
        "sender_domain_limit": 5,
        "api_access": True,
    },
    {
        "code": "premium",
        "name": gettext_noop("Premium"),
        "description": gettext_noop(
            "High volume: a million contacts, unlimited seats and domains."
        ),
        "position": 3,
        "monthly_price": 299,
        "contact_limit": 1_000_000,
        "monthly_send_limit": 5_000_000,
        "seat_limit": None,
        "sender_domain_limit": None,
        "api_access": True,
    },
]


STOCK_TEXTS = frozenset(
    text for spec in PLAN_DEFAULTS for text in (spec["name"], spec["description"])
)


def plan_text(value: str) -> str:
    """A plan's name or description in the active language while it is the stock wording;
    a superuser's own wording is shown as written."""
    return gettext(value) if value in STOCK_TEXTS else value


def plans_seed() -> list[str]:
    """Create the default plans that do not exist yet and fill empty Stripe price IDs from the
    environment (STRIPE_PRICE_<PLAN>_<MONTHLY|YEARLY>); edits are kept. Return created codes."""
    created = []
    for spec in PLAN_DEFAULTS:
        code = str(spec["code"])
        env_code = code.replace("-", "_").upper()
        prices = {
            "stripe_price_monthly": getattr(settings, f"STRIPE_PRICE_{env_code}_MONTHLY", ""),
            "stripe_price_yearly": getattr(settings, f"STRIPE_PRICE_{env_code}_YEARLY", ""),
        }
        plan, was_created = Plan.objects.get_or_create(code=code, defaults={**spec, **prices})
        if was_created:
            created.append(code)
            continue
        missing = {f: v for f, v in prices.items() if v and not getattr(plan, f)}
        if missing:
            Plan.objects.filter(pk=plan.pk).update(**missing)
    return created


def trial_plan() -> Plan:
    plan = Plan.objects.filter(is_trial=True).first()
    if plan is None:
        plans_seed()
        plan = Plan.objects.get(is_trial=True)
    return plan
