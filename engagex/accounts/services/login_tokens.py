"""Single-use login tokens: carry a person from the public domain to their workspace's domain.

The session cookie belongs to one host, so after sign-up on the public domain the new Owner's
session has to be created on the workspace's own domain. The token is signed (it expires
after LOGIN_TOKEN_TTL_SECONDS before the database is asked) and stored hashed in the
workspace's schema, where redeeming marks it used in one UPDATE.
"""

from datetime import timedelta

from django.conf import settings
from django.core import signing
from django.urls import reverse
from django.utils import timezone

from engagex.accounts.models import LoginToken, User
from engagex.accounts.services.tokens import token_hash, token_new

SALT = "engagex.accounts.login-token"


def login_token_create(*, user: User) -> str:
    """Return a signed token that logs `user` in once on this schema's domain."""
    raw, digest = token_new()
    LoginToken.objects.create(
        user=user,
        token_hash=digest,
        expires_at=timezone.now() + timedelta(seconds=settings.LOGIN_TOKEN_TTL_SECONDS),
    )
    return signing.dumps(raw, salt=SALT)


def login_token_path(token: str) -> str:
    return reverse("login_token", kwargs={"token": token}, urlconf="config.urls_tenants")


def login_token_redeem(*, token: str) -> User | None:
    """Return the active user the token logs in, marking it used; None if it cannot."""
    try:
        raw = signing.loads(token, salt=SALT, max_age=settings.LOGIN_TOKEN_TTL_SECONDS)
    except signing.BadSignature:
        return None
    now = timezone.now()
    tokens = LoginToken.objects.filter(
        token_hash=token_hash(str(raw)), used_at__isnull=True, expires_at__gt=now
    )
    row = tokens.select_related("user").first()
    if row is None or not tokens.filter(pk=row.pk).update(used_at=now):
        return None
    return row.user if row.user.is_active else None
