import hashlib
import secrets

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext, gettext_lazy

from engagex.accounts import roles
from engagex.api.models import ApiKey
from engagex.core.audit import AuditVerb, audit_record
from engagex.core.tenancy import workspace_language

KEY_PREFIX = "egx_"
NO_CREATOR = gettext_lazy("Only a member of the workspace can create an API key.")


def api_key_hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


@transaction.atomic
def api_key_create(*, name: str, role: str, user) -> tuple[ApiKey, str]:
    """Create a key; return it with the plain secret, which is never stored or shown again.

    `user` is the member creating it (the console's user, or the principal of the API key
    making the request): nobody mints a key with a role above the one they act with, only
    Owners mint Owner keys, and the key later acts at most with its creator's current role.
    """
    from engagex.accounts.services import role_grant_check

    if role not in roles.ROLES:
        raise ValidationError({"role": roles.UNKNOWN_ROLE.format(role=role)})
    role_grant_check(actor=user, role=role)
    creator = roles.member_of(user) if user is not None else None
    if creator is None or not creator.pk:
        raise ValidationError(NO_CREATOR)
    prefix = secrets.token_hex(4)
    plain = f"{KEY_PREFIX}{prefix}_{secrets.token_urlsafe(32)}"
    key = ApiKey(
        name=name, prefix=prefix, hashed_key=api_key_hash(plain), role=role, created_by=creator
    )
    key.full_clean()
    key.save()
    audit_record(user=creator, verb=AuditVerb.KEY_CREATED, obj=key, detail=_role_note(role))
    return key, plain


@transaction.atomic
def api_key_revoke(*, key: ApiKey, actor=None) -> ApiKey:
    """Revoke `key` at once (None `actor`: the system).

    Members revoke their own keys and keys of roles up to their own: only an Owner revokes
    another member's Owner key.
    """
    from engagex.accounts.services import role_grant_check

    key = ApiKey.objects.select_for_update().get(pk=key.pk)
    person = roles.member_of(actor) if actor is not None else None
    if person is None or person.pk != key.created_by_id:  # anyone may revoke their own key
        role_grant_check(actor=actor, role=key.role)
    if key.revoked_at is None:
        key.revoked_at = timezone.now()
        key.save(update_fields=["revoked_at"])
        audit_record(user=person, verb=AuditVerb.KEY_REVOKED, obj=key, detail=_role_note(key.role))
    return key


def api_key_find(plain: str) -> ApiKey | None:
    """The active key of this workspace matching `plain`, or None."""
    if not plain.startswith(KEY_PREFIX) or plain.count("_") < 2:
        return None
    prefix = plain[len(KEY_PREFIX) :].split("_", 1)[0]
    key = (
        ApiKey.objects.select_related("created_by")
        .filter(prefix=prefix, revoked_at__isnull=True)
        .first()
    )
    if key is None or not secrets.compare_digest(key.hashed_key, api_key_hash(plain)):
        return None
    return key


@workspace_language()
def _role_note(role: str) -> str:
    return gettext("role %(role)s") % {"role": role}
