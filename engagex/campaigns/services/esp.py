"""What we ask the ESP besides sending: did a batch attempt reach it?"""

import logging

import requests
from django.conf import settings

logger = logging.getLogger(__name__)


def attempt_was_accepted(attempt) -> bool | None:
    """True/False from SendGrid's Email Activity API; None when it cannot tell."""
    if not settings.SENDGRID_API_KEY:
        return None
    url = settings.ANYMAIL["SENDGRID_API_URL"].rstrip("/") + "/messages"
    query = f"unique_args['engagex_attempt']=\"{attempt}\""
    try:
        response = requests.get(
            url,
            params={"query": query, "limit": "1"},
            headers={"Authorization": f"Bearer {settings.SENDGRID_API_KEY}"},
            timeout=15,
        )
        response.raise_for_status()
        return bool(response.json().get("messages"))
    except (requests.RequestException, ValueError) as error:
        logger.warning("Could not reconcile attempt %s: %s", attempt, error)
        return None
