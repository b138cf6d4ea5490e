from django.db.models import QuerySet
from django.utils import timezone

from engagex.accounts import roles
from engagex.accounts.models import Invitation, User, WorkspaceSecurity


def workspace_security_get() -> WorkspaceSecurity:
    """The current workspace's sign-in rules (defaults until an Owner changes them)."""
    return WorkspaceSecurity.objects.order_by("pk").first() or WorkspaceSecurity()


def invitation_list_pending() -> QuerySet[Invitation]:
    return Invitation.objects.filter(
        accepted_at__isnull=True, revoked_at__isnull=True, expires_at__gt=timezone.now()
    )


def seat_count() -> int:
    """Seats in use: active members, and pending invitations until accepted, revoked or expired."""
    return User.objects.filter(is_active=True).count() + invitation_list_pending().count()


def user_list_with_role(*, role: str) -> QuerySet[User]:
    """Active members who hold `role` in the current schema."""
    if role not in roles.ROLES:
        raise ValueError(role)
    return User.objects.filter(is_active=True, groups__name=role).distinct()
