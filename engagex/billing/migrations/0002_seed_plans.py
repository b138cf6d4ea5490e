"""Seed the four default plans and start a trial for every workspace that predates billing."""

from datetime import timedelta

from django.db import migrations
from django.utils import timezone


def seed(apps, schema_editor):
    from engagex.billing.services import PLAN_DEFAULTS

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
