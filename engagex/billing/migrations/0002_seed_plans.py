"""Seed the four default plans and start a trial for every workspace that predates billing."""

from datetime import timedelta

from django.db import migrations
from django.utils import timezone

# A frozen copy of the defaults as they were when this migration was written: migrations must
# not change with live code (engagex.billing.services.plans.PLAN_DEFAULTS may move on).
PLAN_DEFAULTS = [
    {
        "code": "free-trial",
        "name": "Free Trial",
        "description": "Everything in Pro for 14 days, no card needed.",
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
        "name": "Basic",
        "description": "For a small list: one domain, two seats.",
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
        "name": "Pro",
        "description": "Growing teams: more seats, domains and the API.",
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
        "name": "Premium",
        "description": "High volume: a million contacts, unlimited seats and domains.",
        "position": 3,
        "monthly_price": 299,
        "contact_limit": 1_000_000,
        "monthly_send_limit": 5_000_000,
        "seat_limit": None,
        "sender_domain_limit": None,
        "api_access": True,
    },
]


def seed(apps, schema_editor):
    Plan = apps.get_model("billing", "Plan")
    BillingAccount = apps.get_model("billing", "BillingAccount")
    Tenant = apps.get_model("tenants", "Tenant")
    for spec in PLAN_DEFAULTS:
        Plan.objects.get_or_create(code=spec["code"], defaults=spec)
    trial = Plan.objects.get(is_trial=True)
    ends = timezone.now() + timedelta(days=trial.trial_days)
    for tenant in Tenant.objects.exclude(schema_name="public"):
        BillingAccount.objects.get_or_create(
            tenant=tenant, defaults={"plan": trial, "status": "trialing", "trial_ends_at": ends}
        )


class Migration(migrations.Migration):
    dependencies = [("billing", "0001_initial")]

    operations = [migrations.RunPython(seed, migrations.RunPython.noop)]
