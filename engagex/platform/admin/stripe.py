"""Stripe data (dj-stripe's tables), read-only in the platform console.

dj-stripe's own admin classes do not match the console and some of their searches fail;
superusers get read-only views of what matters for support instead.
"""

import json

from django.contrib import admin
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from djstripe import models as djstripe_models
from unfold.decorators import display

from engagex.billing.selectors import invoice_amount
from engagex.core import formats
from engagex.core.admin import ReadOnlyModelAdmin

for _model in [m for m in list(admin.site._registry) if m._meta.app_label == "djstripe"]:
    admin.site.unregister(_model)


class StripeObjectAdmin(ReadOnlyModelAdmin):
    list_display = ["id", "created", "livemode"]
    search_fields = ["id"]
    ordering = ["-created"]
    fields = ["id", "livemode", "created", "metadata", "stripe_json"]
    readonly_fields = fields

    @display(description=_("Stripe object"))
    def stripe_json(self, obj):
        return format_html(
            '<pre class="text-xs overflow-auto max-h-[40rem]">{}</pre>',
            json.dumps(obj.stripe_data, indent=2, sort_keys=True, default=str),
        )


@admin.register(djstripe_models.Customer)
class StripeCustomerAdmin(StripeObjectAdmin):
    list_display = ["id", "email", "subscriber", "created", "livemode"]
    search_fields = ["id", "email"]
    list_select_related = ["subscriber"]


@admin.register(djstripe_models.Subscription)
class StripeSubscriptionAdmin(StripeObjectAdmin):
    list_display = ["id", "customer", "stripe_status", "created", "livemode"]
    list_select_related = ["customer__subscriber"]  # a customer's name is its workspace's

    @display(description=_("status"))
    def stripe_status(self, obj):
        return obj.stripe_data.get("status", "")


@admin.register(djstripe_models.Invoice)
class StripeInvoiceAdmin(StripeObjectAdmin):
    list_display = ["id", "customer", "number", "stripe_status", "amount", "created"]
    list_select_related = ["customer__subscriber"]

    @display(description=_("number"))
    def number(self, obj):
        return obj.stripe_data.get("number", "")

    @display(description=_("status"))
    def stripe_status(self, obj):
        return obj.stripe_data.get("status", "")

    @display(description=_("total"))
    def amount(self, obj):
        amount, currency = invoice_amount(obj.stripe_data)
        return f"{formats.number(amount, 2)} {currency}"


@admin.register(djstripe_models.Price)
class StripePriceAdmin(StripeObjectAdmin):
    list_display = ["id", "nickname", "product", "currency", "active", "created"]
    search_fields = ["id", "nickname", "lookup_key"]


@admin.register(djstripe_models.Product)
class StripeProductAdmin(StripeObjectAdmin):
    list_display = ["id", "name", "active", "created"]
    search_fields = ["id", "name"]


@admin.register(djstripe_models.Event)
class StripeEventAdmin(StripeObjectAdmin):
    list_display = ["id", "type", "created", "livemode"]
    list_filter = ["type"]
    search_fields = ["id", "type"]


@admin.register(djstripe_models.WebhookEventTrigger)
class StripeWebhookTriggerAdmin(ReadOnlyModelAdmin):
    list_display = ["id", "created", "event", "valid", "processed", "remote_ip", "short_exception"]
    list_filter = ["valid", "processed"]
    search_fields = ["event__id", "exception"]
    list_select_related = ["event"]
    ordering = ["-created"]
    readonly_fields = [
        "created",
        "event",
        "valid",
        "processed",
        "remote_ip",
        "exception",
        "traceback",
        "body",
    ]
    fields = readonly_fields

    @display(description=_("error"))
    def short_exception(self, obj):
        return (obj.exception or "")[:80]
