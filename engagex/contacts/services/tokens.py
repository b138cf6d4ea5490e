"""Signed preference-centre links: workspace + contact + issue day, HMAC-SHA256.

The same compact shape as the unsubscribe links (campaigns.services.unsubscribe) under a key
of its own, so neither kind of token can stand in for the other. Contacts is low enough in
the stack for campaigns (merge tags, the unsubscribe pages) and subscriptions (the page) to
use it. A link names the schema it was issued in; signing covers it, so a token cannot be
pointed at another workspace.
"""

import base64
import hashlib
import hmac
from dataclasses import dataclass
from datetime import date
from functools import lru_cache

from django.conf import settings
from django.utils import timezone

from tenants.selectors import platform_url

PREFIX = "p1"


class BadToken(Exception):
    pass


@dataclass(frozen=True)
class PreferencesTarget:
    schema: str
    contact_id: int
    issued: date


@lru_cache(maxsize=4)
def _key(secret: str) -> bytes:
    return hashlib.sha256(b"engagex.preferences:" + secret.encode()).digest()


def _sign(payload: str, secret: str | None = None) -> str:
    digest = hmac.new(_key(secret or settings.SECRET_KEY), payload.encode(), hashlib.sha256)
    return base64.urlsafe_b64encode(digest.digest()[:15]).decode()


def _b36(number: int) -> str:
    digits = "0123456789abcdefghijklmnopqrstuvwxyz"
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = digits[rest] + out
        if not number:
            return out


def preferences_token(*, schema: str, contact_id: int, issued: date | None = None) -> str:
    day = (issued or timezone.now().date()).toordinal()
    payload = f"{PREFIX}.{schema}.{_b36(contact_id)}.{_b36(day)}"
    return f"{payload}.{_sign(payload)}"


def preferences_token_parse(token: str) -> PreferencesTarget:
    """Return what the token names; raise BadToken if it was altered or has expired."""
    try:
        prefix, schema, contact, day, signature = token.split(".")
        if prefix != PREFIX:
            raise BadToken("kind")
        payload = f"{prefix}.{schema}.{contact}.{day}"
        secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
        # Links already sent keep working after the secret key is rotated.
        if not any(hmac.compare_digest(signature, _sign(payload, s)) for s in secrets):
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
