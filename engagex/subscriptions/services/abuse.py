"""What stands between a public sign-up form and a bot: honeypot, fill time, ALTCHA
proof-of-work, rate limits, and a short list of throw-away mail domains.

None of it answers differently for an address we know: the visitor learns only "accepted"
(or "prove you are a person", or "slow down"), never whether the address was on file.
"""

import hashlib
import secrets
import time
from dataclasses import dataclass
from datetime import timedelta

import altcha
from allauth.account.adapter import get_adapter
from django.conf import settings
from django.core import signing
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from engagex.subscriptions.models import SignupCounter

# The hosted page and the interstitial carry a signed issue time; a post that comes back
# sooner than this was not typed by a person (autofill included: it still needs a click).
_FILL_SALT = "engagex.subscriptions.fill-time"
FILL_MAX_AGE = 24 * 3600
ALTCHA_ALGORITHM = "PBKDF2/SHA-256"
ALTCHA_LIFETIME = 20 * 60

# A few well-known throw-away mail services (not exhaustive: a cheap filter for the common
# ones; ALTCHA and the rate limits do the real work). Subdomains count too.
DISPOSABLE_DOMAINS = frozenset(
    {
        "10minutemail.com",
        "20minutemail.com",
        "33mail.com",
        "dispostable.com",
        "emailondeck.com",
        "fakeinbox.com",
        "getairmail.com",
        "getnada.com",
        "guerrillamail.com",
        "guerrillamail.net",
        "guerrillamailblock.com",
        "harakirimail.com",
        "maildrop.cc",
        "mailinator.com",
        "mailnesia.com",
        "mintemail.com",
        "mohmal.com",
        "mytemp.email",
        "sharklasers.com",
        "spamgourmet.com",
        "temp-mail.org",
        "tempail.com",
        "tempmail.com",
        "tempmailo.com",
        "tempr.email",
        "throwawaymail.com",
        "trashmail.com",
        "yopmail.com",
    }
)


def address_is_disposable(email: str) -> bool:
    domain = email.rpartition("@")[2].lower().rstrip(".")
    parts = domain.split(".")
    return any(".".join(parts[i:]) in DISPOSABLE_DOMAINS for i in range(len(parts) - 1))


def client_ip(request) -> str:
    """The visitor's address as login throttling sees it (TRUSTED_PROXY_COUNT and co.)."""
    return get_adapter(request).get_client_ip(request)


# --- minimum fill time --------------------------------------------------------------------


def fill_stamp(*, form_id: str, min_seconds: int) -> str:
    """A signed note of when the page was served and how long filling it must take."""
    return signing.dumps({"f": form_id, "t": time.time(), "m": min_seconds}, salt=_FILL_SALT)


def fill_time_ok(stamp: str, *, form_id: str) -> bool:
    """True when `stamp` is ours, for this form, and at least its minimum time old."""
    try:
        data = signing.loads(stamp or "", salt=_FILL_SALT, max_age=FILL_MAX_AGE)
        elapsed = time.time() - float(data["t"])
        return data["f"] == form_id and elapsed >= float(data["m"])
    except (signing.BadSignature, KeyError, TypeError, ValueError):
        return False


# --- ALTCHA -------------------------------------------------------------------------------


def _altcha_secret(purpose: str) -> str:
    return hashlib.sha256(f"engagex.altcha.{purpose}:{settings.SECRET_KEY}".encode()).hexdigest()


def altcha_challenge(*, scope: str) -> dict:
    """A fresh signed challenge for the widget, bound to `scope` (schema + form).

    Deterministic mode: the server knows the answer (a random counter) and signs the
    derived key, so checking a solution is two HMACs, not a key derivation per post.
    """
    low, high = settings.SIGNUP_ALTCHA_COUNTER
    challenge = altcha.create_challenge(
        algorithm=ALTCHA_ALGORITHM,
        cost=settings.SIGNUP_ALTCHA_COST,
        counter=low + secrets.randbelow(max(1, high - low)),
        expires_at=int(time.time()) + ALTCHA_LIFETIME,
        data={"scope": scope},
        hmac_secret=_altcha_secret("challenge"),
        hmac_key_secret=_altcha_secret("key"),
    )
    return challenge.to_dict()


def altcha_verify(payload: str, *, scope: str) -> bool:
    """True for a correct, unexpired, unused solution of a challenge we issued for `scope`.

    Each challenge works once (its nonce is remembered in the shared cache until it
    expires): a solved challenge cannot be replayed 10,000 times.
    """
    if not payload or len(payload) > 4000:
        return False
    try:
        parsed = altcha.Payload.from_base64(payload)
        params = parsed.challenge.parameters
        if (params.data or {}).get("scope") != scope:
            return False
        result = altcha.verify_solution(
            parsed,
            _altcha_secret("challenge"),
            hmac_key_secret=_altcha_secret("key"),
        )
    except (ValueError, KeyError, TypeError, AttributeError):
        return False
    if not result.verified:
        return False
    return counter_hit(f"altcha:{params.nonce}", seconds=ALTCHA_LIFETIME + 60) == 1


# --- shared counters ----------------------------------------------------------------------


def counter_hit(key: str, *, seconds: int) -> int:
    """Count one hit on `key` in its window of `seconds` (from its first hit); return the
    window's hits, this one included. Shared by every worker and machine.

    In the cache when it is Redis (REDIS_URL); otherwise one upsert on the workspace's
    counter table, not the PostgreSQL cache's get + set + COUNT(*) of its whole table.
    The bound is the same either way: at most `count` hits per window pass.
    """
    if _cache_is_redis():
        return _cache_hit(key, seconds=seconds)
    now = timezone.now()
    table = SignupCounter._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table} AS c (key, expires, hits) VALUES (%s, %s, 1) "  # noqa: S608 - our table
            "ON CONFLICT (key) DO UPDATE SET "
            "hits = CASE WHEN c.expires <= %s THEN 1 ELSE c.hits + 1 END, "
            "expires = CASE WHEN c.expires <= %s THEN EXCLUDED.expires ELSE c.expires END "
            "RETURNING hits",
            [key, now + timedelta(seconds=seconds), now, now],
        )
        return cursor.fetchone()[0]


def _cache_is_redis() -> bool:
    return settings.CACHES["default"]["BACKEND"].endswith(".RedisCache")


def _cache_hit(key: str, *, seconds: int) -> int:
    cache_key = f"signup:{key}:{int(time.time() // seconds)}"
    if cache.add(cache_key, 1, timeout=seconds + 5):
        return 1
    try:
        return cache.incr(cache_key)
    except ValueError:  # expired between add and incr
        cache.add(cache_key, 1, timeout=seconds + 5)
        return 1


def counters_purge() -> int:
    """Delete the counter windows that have ended (daily, with the sign-up expiry)."""
    return SignupCounter.objects.filter(expires__lte=timezone.now()).delete()[0]


# --- rate limits --------------------------------------------------------------------------


@dataclass(frozen=True)
class Rate:
    """`count` per `seconds`, e.g. Rate(20, 60)."""

    count: int
    seconds: int

    @classmethod
    def parse(cls, text: str) -> "Rate":
        count, _, seconds = text.partition("/")
        return cls(int(count), int(seconds or 60))


def rate_consume(*, scope: str, key: str, rate: Rate) -> bool:
    """Count one hit for `key` in a fixed window; False once the window is full.

    Counted where every gunicorn worker and machine sees the same count (`counter_hit`:
    Redis, or the workspace's counter table).
    """
    digest = hashlib.sha256(key.encode()).hexdigest()[:32]
    return counter_hit(f"rate:{scope}:{rate.seconds}:{digest}", seconds=rate.seconds) <= rate.count


def ip_rate_ok(request) -> bool:
    """Every post from one address to this workspace's forms (SIGNUP_RATE_PER_IP)."""
    return rate_consume(
        scope="ip", key=client_ip(request), rate=Rate.parse(settings.SIGNUP_RATE_PER_IP)
    )


def address_rate_ok(email: str) -> bool:
    """Accepted sign-ups (and so confirmation emails) per address (SIGNUP_RATE_PER_ADDRESS)."""
    return rate_consume(
        scope="address", key=email.lower(), rate=Rate.parse(settings.SIGNUP_RATE_PER_ADDRESS)
    )
