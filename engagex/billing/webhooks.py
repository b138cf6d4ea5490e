"""Stripe webhooks: our signature gate in front of dj-stripe, and what each event changes.

dj-stripe stores each event once (by id) and syncs its objects; our receivers then set the
workspace's plan and status from the subscription as Stripe holds it now, so a late, repeated
or out-of-order event can only confirm the current state.
"""

import logging
import uuid

import stripe
from django.conf import settings
from django.db import transaction
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseNotFound
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from djstripe.event_handlers import djstripe_receiver
from djstripe.models import WebhookEndpoint, WebhookEventTrigger

from engagex.billing import services

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
# A fixed id for the endpoint row that holds STRIPE_WEBHOOK_SECRET for dj-stripe.
ENDPOINT_ID = "we_engagex_env"


def webhook_endpoint() -> WebhookEndpoint:
    """dj-stripe's endpoint row for our URL, keeping its secret equal to the environment's."""
    endpoint = WebhookEndpoint.objects.filter(id=ENDPOINT_ID).first()
    if endpoint is not None and endpoint.secret == settings.STRIPE_WEBHOOK_SECRET:
        return endpoint  # the usual case: no write per event
    endpoint, _ = WebhookEndpoint.objects.update_or_create(
        id=ENDPOINT_ID,
        defaults={
            "livemode": settings.STRIPE_LIVE_MODE,
            "secret": settings.STRIPE_WEBHOOK_SECRET,
            "url": f"https://{settings.BASE_DOMAIN}/billing/stripe/webhook/",
            "api_version": "",
            "enabled_events": ["*"],
            "status": "enabled",
            "djstripe_tolerance": settings.DJSTRIPE_WEBHOOK_TOLERANCE,
            "djstripe_uuid": uuid.uuid5(uuid.NAMESPACE_URL, ENDPOINT_ID),
        },
    )
    return endpoint


@method_decorator(transaction.non_atomic_requests, name="dispatch")
@method_decorator(csrf_exempt, name="dispatch")
class StripeWebhookView(View):
    """Refuse unsigned, stale or forged events before storing anything; dj-stripe does the rest."""

    def post(self, request):
        secret = settings.STRIPE_WEBHOOK_SECRET
        if not secret:
            return HttpResponseNotFound("Stripe webhooks are not configured.")
        if len(request.body) > MAX_BODY_BYTES:
            return HttpResponse("Event too large.", status=413)
        try:
            stripe.WebhookSignature.verify_header(
                request.body.decode("utf-8"),
                request.headers.get("Stripe-Signature", ""),
                secret,
                settings.DJSTRIPE_WEBHOOK_TOLERANCE,
            )
        except (stripe.SignatureVerificationError, UnicodeDecodeError):
            logger.warning("Stripe webhook with a missing or bad signature refused")
            return HttpResponseBadRequest("Bad Stripe-Signature.")
        trigger = WebhookEventTrigger.from_request(request, webhook_endpoint=webhook_endpoint())
        if not trigger.valid:
            return HttpResponseBadRequest("Event not valid.")
        return HttpResponse(f"ok {trigger.id}")


@djstripe_receiver("checkout.session.completed")
def on_checkout_completed(sender, event, **kwargs):
    services.billing_checkout_completed(session=event.data["object"], event_id=event.id)


@djstripe_receiver(
    [
        "customer.subscription.created",
        "customer.subscription.updated",
        "customer.subscription.deleted",
        "customer.subscription.paused",
        "customer.subscription.resumed",
    ]
)
def on_subscription_changed(sender, event, **kwargs):
    services.billing_subscription_sync(
        subscription_id=event.data["object"]["id"], event_id=event.id
    )


@djstripe_receiver("customer.subscription.trial_will_end")
def on_trial_will_end(sender, event, **kwargs):
    services.billing_subscription_sync(
        subscription_id=event.data["object"]["id"], event_id=event.id
    )
    services.billing_trial_will_end(subscription=event.data["object"])


@djstripe_receiver("invoice.paid")
def on_invoice_paid(sender, event, **kwargs):
    subscription_id = services.invoice_subscription(event.data["object"])
    if subscription_id:
        services.billing_subscription_sync(subscription_id=subscription_id, event_id=event.id)


@djstripe_receiver("invoice.payment_failed")
def on_payment_failed(sender, event, **kwargs):
    services.billing_payment_failed(invoice=event.data["object"], event_id=event.id)
