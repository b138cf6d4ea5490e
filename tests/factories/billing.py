import datetime

import factory

from engagex.billing.models import BillingAccount, Plan, PlanChange, UsagePeriod
from tests.factories.tenants import TenantFactory


class PlanFactory(factory.django.DjangoModelFactory):
    """A plan with no limits unless a test sets them."""

    class Meta:
        model = Plan

    code = factory.Sequence(lambda n: f"test-plan-{n}")
    name = factory.Sequence(lambda n: f"Test plan {n}")
    monthly_price = 10
    api_access = True
    stripe_price_monthly = factory.LazyAttribute(lambda plan: f"price_{plan.code}_m")
    stripe_price_yearly = factory.LazyAttribute(lambda plan: f"price_{plan.code}_y")


class PlanChangeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = PlanChange

    tenant = factory.SubFactory(TenantFactory)
    source = PlanChange.Source.SUPERUSER
    actor = "root@platform.example"
    from_plan = "Free Trial"
    to_plan = "Pro"
    from_status = BillingAccount.Status.TRIALING
    to_status = BillingAccount.Status.ACTIVE
    reason = "Upgraded by support"


class UsagePeriodFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = UsagePeriod

    tenant = factory.SubFactory(TenantFactory)
    month = datetime.date(2026, 1, 1)
    emails_sent = 1200
    contacts = 300
    plan = "Pro"
