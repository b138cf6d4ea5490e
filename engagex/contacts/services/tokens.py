"""Signed preference-centre links: workspace + contact + issue day, HMAC-SHA256.

The same compact shape as the unsubscribe links (campaigns.services.unsubscribe) under a key
of its own, so neither kind of token can stand in for the other. Contacts is low enough in
the stack for campaigns (merge tags, the unsubscribe pages) and subscriptions (the page) to
use it. A link names the schema it was issued in; signing covers it, so a token cannot be
pointed at another workspace.
"""

from dataclasses import dataclass
from datetime import date

from django.conf import settings
from django.utils import timezone

from engagex.core.tokens import b36, token_sign, token_signature_valid
from tenants.selectors import platform_url

PREFIX = "p1"


# Keys the signatures: a token of another purpose never passes here.
PURPOSE = "preferences"


class BadToken(Exception):
    pass


@dataclass(frozen=True)
class PreferencesTarget:
    schema: str
    contact_id: int
    issued: date


def preferences_token(*, schema: str, contact_id: int, issued: date | None = None) -> str:
    day = (issued or timezone.now().date()).toordinal()
    payload = f"{PREFIX}.{schema}.{b36(contact_id)}.{b36(day)}"
    return f"{payload}.{token_sign(PURPOSE, payload)}"


def preferences_token_parse(token: str) -> PreferencesTarget:
    """Return what the token names; raise BadToken if it was altered or has expired."""
    try:
        prefix, schema, contact, day, signature = token.split(".")
        if prefix != PREFIX:
            raise BadToken("kind")
        payload = f"{prefix}.{schema}.{contact}.{day}"
        # Links already sent keep working after the secret key is rotated.
        if not token_signature_valid(PURPOSE, payload, signature):
            raise BadToken("signature")
        issued = date.fromordinal(int(day, 36))
        age = (timezone.now().date() - issued).days
        if age > settings.PREFERENCES_TOKEN_MAX_AGE_DAYS or age < -1:
            raise BadToken("expired")
        return PreferencesTarget(schema, int(contact, 36), issued)
    except (ValueError, TypeError, OverflowError) as error:
        raise BadToken("malformed") from error


def preferences_url(token: str) -> str:
    """The preference centre of the contact the token names, on the platform's domain."""
    return platform_url(f"/p/{token}/")


def preferences_url_for(*, schema: str, contact_id: int) -> str:
    return preferences_url(preferences_token(schema=schema, contact_id=contact_id))
