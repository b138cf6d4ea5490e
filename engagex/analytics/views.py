"""SendGrid's Event Webhook: Anymail authenticates it, we store the batch in one go."""

import logging
import time

from anymail.exceptions import AnymailWebhookValidationFailure
from anymail.webhooks.sendgrid import SendGridTrackingWebhookView
from django.conf import settings
from django.http import JsonResponse

from engagex.analytics.services.ingest import events_ingest
from engagex.core.jsonlimits import JsonTooDeep, json_loads

logger = logging.getLogger(__name__)
TOO_LARGE = "The batch is {size:,} bytes; at most {limit:,} are accepted."
NOT_A_LIST = "The body must be a JSON list of SendGrid events."
NOT_CONFIGURED = (
    "This webhook has no credentials configured (ANYMAIL_WEBHOOK_SECRET or "
    "SENDGRID_TRACKING_WEBHOOK_VERIFICATION_KEY), so it accepts nothing."
)
STALE = "The signed timestamp is older than {limit} seconds: refusing a replay."


class SendGridEventsView(SendGridTrackingWebhookView):
    """Anymail's SendGrid tracking webhook (basic auth, signature), with batched storage."""

    def post(self, request, *args, **kwargs):
        size = int(request.META.get("CONTENT_LENGTH") or 0)
        if size > settings.WEBHOOK_MAX_BYTES:
            return _error(413, TOO_LARGE.format(size=size, limit=settings.WEBHOOK_MAX_BYTES))
        # Without credentials anyone could post events (and suppress contacts): refused in every
        # environment unless WEBHOOK_ALLOW_UNAUTHENTICATED is set on purpose (local trials).
        credentials = self.basic_auth or self.webhook_verification_key
        if not credentials and not settings.WEBHOOK_ALLOW_UNAUTHENTICATED:
            return _error(401, NOT_CONFIGURED)
        try:
            self.run_validators(request)
        except AnymailWebhookValidationFailure as error:
            logger.warning("Refused SendGrid webhook: %s", error)
            return _error(401, str(error))
        if self.webhook_verification_key and not _fresh(request):
            return _error(400, STALE.format(limit=settings.WEBHOOK_MAX_AGE_SECONDS))
        try:
            events = json_loads(request.body, parse_constant=_reject_constant)
        except JsonTooDeep as error:
            return _error(400, str(error))
        except ValueError as error:  # includes UnicodeDecodeError
            return _error(400, f"Malformed JSON: {error}")
        if not isinstance(events, list):
            return _error(400, NOT_A_LIST)
        result = events_ingest(events)
        return JsonResponse(result.as_dict())


def _reject_constant(name):
    raise ValueError(f"{name} is not JSON")


def _fresh(request) -> bool:
    try:
        stamp = int(request.headers.get("X-Twilio-Email-Event-Webhook-Timestamp", ""))
    except ValueError:
        return False
    return abs(time.time() - stamp) <= settings.WEBHOOK_MAX_AGE_SECONDS


def _error(status: int, message: str) -> JsonResponse:
    return JsonResponse({"error": message}, status=status)
