"""dj-stripe's rows as its sync stores them: a few columns and the Stripe object in stripe_data."""

import factory
from django.utils import timezone
from djstripe import models as djstripe_models

from tests.factories.tenants import TenantFactory


class StripeObjectFactory(factory.django.DjangoModelFactory):
    class Meta:
        abstract = True

    livemode = False
    created = factory.LazyFunction(timezone.now)
    metadata = factory.LazyFunction(dict)
    stripe_data = factory.LazyAttribute(lambda o: {"id": o.id, "livemode": False})


class CustomerFactory(StripeObjectFactory):
    class Meta:
        model = djstripe_models.Customer

    id = factory.Sequence(lambda n: f"cus_test{n}")
    subscriber = factory.SubFactory(TenantFactory)
    email = factory.LazyAttribute(lambda o: o.subscriber.owner_email)


class SubscriptionFactory(StripeObjectFactory):
    class Meta:
        model = djstripe_models.Subscription

    id = factory.Sequence(lambda n: f"sub_test{n}")
    customer = factory.SubFactory(CustomerFactory)
    stripe_data = factory.LazyAttribute(lambda o: {"id": o.id, "status": "active"})


class InvoiceFactory(StripeObjectFactory):
    class Meta:
        model = djstripe_models.Invoice

    id = factory.Sequence(lambda n: f"in_test{n}")
    customer = factory.SubFactory(CustomerFactory)
    stripe_data = factory.LazyAttribute(
        lambda o: {"id": o.id, "number": "ENGX-0001", "status": "paid", "total": 7900,
                   "currency": "eur"}
    )  # fmt: skip


class ProductFactory(StripeObjectFactory):
    class Meta:
        model = djstripe_models.Product

    id = factory.Sequence(lambda n: f"prod_test{n}")
    name = "EngageX Pro"
    active = True


class PriceFactory(StripeObjectFactory):
    class Meta:
        model = djstripe_models.Price

    id = factory.Sequence(lambda n: f"price_test{n}")
    product = factory.SubFactory(ProductFactory)
    active = True
    currency = "eur"
    nickname = "Pro monthly"
    lookup_key = factory.Sequence(lambda n: f"pro-monthly-{n}")


class EventFactory(StripeObjectFactory):
    class Meta:
        model = djstripe_models.Event

    id = factory.Sequence(lambda n: f"evt_test{n}")
    type = "customer.subscription.updated"
    data = factory.LazyFunction(lambda: {"object": {"object": "subscription"}})


class WebhookEventTriggerFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = djstripe_models.WebhookEventTrigger

    remote_ip = "127.0.0.1"
    headers = factory.LazyFunction(lambda: {"Content-Type": "application/json"})
    body = '{"id": "evt_test"}'
    valid = True
    processed = True
    event = factory.SubFactory(EventFactory)
