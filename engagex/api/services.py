import hashlib
import secrets

from django.core.exceptions import ValidationError
from django.utils import timezone

from engagex.accounts import roles
from engagex.api.models import ApiKey

KEY_PREFIX = "egx_"


def api_key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def api_key_create(*, name: str, role: str, user=None) -> tuple[ApiKey, str]:
    """Create a key; return it with the plain secret, which is never stored or shown again."""
    from engagex.accounts.services import role_grant_check

    if role not in roles.ROLES:
        raise ValidationError({"role": f"Unknown role {role!r}."})
    role_grant_check(actor=user, role=role)  # only Owners mint Owner keys
    prefix = secrets.token_hex(4)
    plain = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(
        name=name, prefix=prefix, hashed_key=api_key_hash(plain), role=role, created_by=user
    )
    key.full_clean()
    key.save()
    return key, plain


def api_key_revoke(*, key: ApiKey) -> ApiKey:
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
    return key


def api_key_find(plain: str) -> ApiKey | None:
    """The active key of this workspace matching `plain`, or None."""
    if not plain.startswith(KEY_PREFIX) or plain.count("_") < 2:
        return None
    prefix = plain[len(KEY_PREFIX) :].split("_", 1)[0]
    key = ApiKey.objects.filter(prefix=prefix, revoked_at__isnull=True).first()
    if key is None or not secrets.compare_digest(key.hashed_key, api_key_hash(plain)):
        return None
    return key
