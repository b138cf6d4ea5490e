"""Stripe webhooks: our signature gate in front of dj-stripe, and what each event changes.

dj-stripe stores each event once (by id) and syncs its objects; our receivers then set the
workspace's plan and status from the subscription as Stripe holds it now, so a late, repeated
or out-of-order event can only confirm the current state.
"""

import json
import logging
import time
import uuid

import stripe
from django.conf import settings
from django.db import transaction
from django.http import HttpResponse, HttpResponseBadRequest, HttpResponseNotFound
from django.utils.decorators import method_decorator
from django.views import View
from django.views.decorators.csrf import csrf_exempt
from djstripe.event_handlers import djstripe_receiver
from djstripe.models import Event, WebhookEndpoint, WebhookEventTrigger
from djstripe.models.webhooks import get_remote_ip
from djstripe.settings import djstripe_settings

from engagex.billing.selectors import billing_account_exists_for_stripe
from engagex.core.ids import id_from_text
from engagex.platform import stripe_sync

logger = logging.getLogger(__name__)

MAX_BODY_BYTES = 1024 * 1024
# A fixed id for the endpoint row that holds STRIPE_WEBHOOK_SECRET for dj-stripe.
ENDPOINT_ID = "we_engagex_env"
# Recorded on the trigger row (platform admin → Stripe webhook triggers) of an event we keep
# but do not process.
UNKNOWN_CUSTOMER = "Not processed: no workspace has the Stripe customer {customer}."


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
    """Refuse unsigned, stale or forged events before storing anything; dj-stripe does the rest.

    Stripe retries anything but a 2xx for three days, so an event that can never be processed
    (its customer is no workspace's, or Stripe no longer has the objects it names) is recorded
    and acknowledged instead of failing again and again.
    """

    def post(self, request):
        secret = settings.STRIPE_WEBHOOK_SECRET
        if not secret:
            return HttpResponseNotFound("Stripe webhooks are not configured.")
        if len(request.body) > MAX_BODY_BYTES:
            return HttpResponse("Event too large.", status=413)
        header = request.headers.get("Stripe-Signature", "")
        tolerance = settings.DJSTRIPE_WEBHOOK_TOLERANCE
        try:
            stripe.WebhookSignature.verify_header(
                request.body.decode("utf-8"), header, secret, tolerance
            )
        except (stripe.SignatureVerificationError, UnicodeDecodeError):
            logger.warning("Stripe webhook with a missing or bad signature refused")
            return HttpResponseBadRequest("Bad Stripe-Signature.")
        # Stripe's check only refuses old timestamps; one far ahead would stay replayable.
        if _signed_at(header) > time.time() + tolerance:
            logger.warning("Stripe webhook signed in the future refused")
            return HttpResponseBadRequest("Stripe-Signature timestamp is in the future.")
        event = _event(request.body)
        if event is None:
            return HttpResponseBadRequest("Event not valid.")
        customer = _customer_of(event["data"]["object"])
        if customer and not billing_account_exists_for_stripe(
            customer_id=customer, tenant_ids=_tenant_ids_of(event["data"]["object"])
        ):
            trigger = _record_unprocessed(
                request, event, UNKNOWN_CUSTOMER.format(customer=customer)
            )
            logger.warning(
                "Stripe event %s for unknown customer %s recorded", event["id"], customer
            )
            return HttpResponse(f"ok {trigger.id} (not processed: unknown customer)")
        try:
            trigger = WebhookEventTrigger.from_request(request, webhook_endpoint=webhook_endpoint())
        except stripe.InvalidRequestError as error:
            if error.code != "resource_missing":
                raise
            # dj-stripe saved the trigger with the error before re-raising; retrying cannot help.
            logger.warning("Stripe event %s names an object Stripe lacks: %s", event["id"], error)
            return HttpResponse("ok (not processed: Stripe no longer has an object it names)")
        if not trigger.valid:
            return HttpResponseBadRequest("Event not valid.")
        return HttpResponse(f"ok {trigger.id}")


def _signed_at(header: str) -> int:
    """The `t=` timestamp of a (verified) Stripe-Signature header."""
    for part in header.split(","):
        key, _, value = part.strip().partition("=")
        if key == "t" and (seconds := id_from_text(value)) is not None:
            return seconds
    return 0


def _event(body: bytes) -> dict | None:
    try:
        event = json.loads(body)
    except (ValueError, RecursionError):
        return None
    if not (
        isinstance(event, dict)
        and isinstance(event.get("id"), str)
        and isinstance(event.get("data"), dict)
        and isinstance(event["data"].get("object"), dict)
    ):
        return None
    return event


def _customer_of(obj: dict) -> str:
    value = obj.get("id") if obj.get("object") == "customer" else obj.get("customer")
    if isinstance(value, dict):  # an expanded customer
        value = value.get("id")
    return value if isinstance(value, str) else ""


def _tenant_ids_of(obj: dict) -> list[int]:
    """Workspaces an object names itself: Checkout's reference and our metadata."""
    metadata = obj.get("metadata") if isinstance(obj.get("metadata"), dict) else {}
    values = [
        obj.get("client_reference_id"),
        metadata.get("tenant_id"),
        metadata.get("djstripe_subscriber"),
    ]
    return [found for v in values if (found := id_from_text(v)) is not None]


def _record_unprocessed(request, event: dict, reason: str) -> WebhookEventTrigger:
    """Keep the event (once) and its delivery, without running any handler or calling Stripe
    about objects that are not ours."""
    endpoint = webhook_endpoint()
    with transaction.atomic():
        stored = Event.objects.filter(id=event["id"]).first() or Event.sync_from_stripe_data(
            event, api_key=djstripe_settings.get_default_api_key(endpoint.livemode)
        )
        return WebhookEventTrigger.objects.create(
            headers=dict(request.headers),
            body=request.body.decode("utf-8"),
            remote_ip=get_remote_ip(request),
            webhook_endpoint=endpoint,
            valid=True,
            processed=False,
            exception=reason,
            event=stored,
        )


@djstripe_receiver("checkout.session.completed")
def on_checkout_completed(sender, event, **kwargs):
    stripe_sync.billing_checkout_completed(session=event.data["object"], event_id=event.id)


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
    stripe_sync.billing_subscription_sync(
        subscription_id=event.data["object"]["id"], event_id=event.id
    )


@djstripe_receiver("customer.subscription.trial_will_end")
def on_trial_will_end(sender, event, **kwargs):
    stripe_sync.billing_subscription_sync(
        subscription_id=event.data["object"]["id"], event_id=event.id
    )
    stripe_sync.billing_trial_will_end(subscription=event.data["object"])


@djstripe_receiver("invoice.paid")
def on_invoice_paid(sender, event, **kwargs):
    subscription_id = stripe_sync.invoice_subscription(event.data["object"])
    if subscription_id:
        stripe_sync.billing_subscription_sync(subscription_id=subscription_id, event_id=event.id)


@djstripe_receiver("invoice.payment_failed")
def on_payment_failed(sender, event, **kwargs):
    stripe_sync.billing_payment_failed(invoice=event.data["object"], event_id=event.id)
