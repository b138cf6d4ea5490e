import factory

from engagex.billing.models import Plan


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
