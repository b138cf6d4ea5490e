"""Compact signed tokens for links in emails (unsubscribe, preferences, confirmation).

Each purpose has a key of its own derived from SECRET_KEY, so a token made for one purpose
never passes as another. Signatures are 15 bytes of HMAC-SHA256, URL-safe base64; links
already sent keep working after a key rotation while the old key is in
SECRET_KEY_FALLBACKS. Numbers in payloads are written in base 36 to keep links short.
"""

import base64
import hashlib
import hmac
from functools import lru_cache

from django.conf import settings

_DIGITS = "0123456789abcdefghijklmnopqrstuvwxyz"


@lru_cache(maxsize=16)
def _key(purpose: str, secret: str) -> bytes:
    return hashlib.sha256(f"engagex.{purpose}:".encode() + secret.encode()).digest()


def token_sign(purpose: str, payload: str, secret: str | None = None) -> str:
    digest = hmac.new(_key(purpose, secret or settings.SECRET_KEY), payload.encode(), "sha256")
    return base64.urlsafe_b64encode(digest.digest()[:15]).decode()


def token_signature_valid(purpose: str, payload: str, signature: str) -> bool:
    """True when `signature` signs `payload` for `purpose` under the key or a fallback."""
    secrets = [settings.SECRET_KEY, *getattr(settings, "SECRET_KEY_FALLBACKS", [])]
    return any(hmac.compare_digest(signature, token_sign(purpose, payload, s)) for s in secrets)


def b36(number: int) -> str:
    """A non-negative integer in base 36 (parse it back with `int(text, 36)`)."""
    out = ""
    while True:
        number, rest = divmod(number, 36)
        out = _DIGITS[rest] + out
        if not number:
            return out
