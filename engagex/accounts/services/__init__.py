from django.contrib.auth.models import Group, Permission
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from django.utils.translation import gettext_lazy
from django_tenants.utils import get_public_schema_name

from engagex.accounts import roles
from engagex.accounts.models import User
from engagex.core.tenancy import current_schema

EMAIL_TAKEN = gettext_lazy("A member with this email address already exists in this workspace.")


@transaction.atomic
def roles_sync() -> dict[str, int]:
    """Create the role groups of the current schema and set their permissions."""
    permissions = list(Permission.objects.select_related("content_type"))
    counts = {}
    for role in roles.ROLES:
        group, _ = Group.objects.get_or_create(name=role)
        granted = [
            perm
            for perm in permissions
            if roles.role_grants(role, perm.content_type.app_label, perm.codename.split("_")[0])
        ]
        group.permissions.set(granted)
        counts[role] = len(granted)
    return counts


OWNER_ONLY = gettext_lazy("Only an Owner can give the Owner role or change an Owner's account.")
ABOVE_OWN_ROLE = gettext_lazy(
    "You can give at most your own role (%(role)s): ask an Owner to give the %(wanted)s role."
)
NO_ROLE = gettext_lazy("Your account has no role in this workspace: ask an Owner for one.")


def role_grant_check(*, actor, role: str | None, target=None) -> None:
    """Refuse a role `actor` may not hand out, or a member `actor` may not change.

    Nobody gives a role above the one they act with (an API key acts with its own role
    capped by its creator's current role), and only Owners give the Owner role or change
    an Owner. None `actor` is the system (sign-up, the platform admin).
    """
    if actor is None or getattr(actor, "is_superuser", False):
        return
    acting = roles.role_of(actor)
    target_is_owner = target is not None and target.groups.filter(name=roles.OWNER).exists()
    if acting != roles.OWNER and (role == roles.OWNER or target_is_owner):
        raise ValidationError({"role": OWNER_ONLY})
    if role is not None and roles.role_rank(role) > roles.role_rank(acting):
        message = NO_ROLE if acting is None else ABOVE_OWN_ROLE % {"role": acting, "wanted": role}
        raise ValidationError({"role": message})


@transaction.atomic
def user_create(
    *, email: str, full_name: str = "", role: str, password: str | None = None, actor=None
) -> User:
    """Create a workspace member with `role`; without a password they must set one by link."""
    if role not in roles.ROLES:
        raise ValidationError({"role": roles.UNKNOWN_ROLE.format(role=role)})
    role_grant_check(actor=actor, role=role)
    email = User.objects.normalize_email(email)
    if User.objects.filter(email__iexact=email).exists():
        raise ValidationError({"email": EMAIL_TAKEN})
    user = User(email=email, full_name=full_name, is_staff=True)
    if password:
        user.set_password(password)
    else:
        user.set_unusable_password()
    user.full_clean()
    user.save()
    user.groups.set([Group.objects.get(name=role)])
    return user


def user_set_password_path(*, user: User) -> str:
    """Return the path (on the user's own domain) where they choose a password."""
    uidb64 = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    return reverse("set_password", kwargs={"uidb64": uidb64, "token": token})


LAST_OWNER = gettext_lazy(
    "A workspace needs at least one active Owner: make someone else Owner first."
)


def _user_update_check(*, user: User, role: str | None, is_active: bool, actor=None) -> None:
    """Refuse changes only an Owner may make, or that leave the workspace without an Owner."""
    if role is not None and role not in roles.ROLES:
        raise ValidationError({"role": roles.UNKNOWN_ROLE.format(role=role)})
    role_grant_check(actor=actor, role=role, target=user)
    if is_active and not user.is_active and current_schema() != get_public_schema_name():
        # Reactivating a member takes a seat again.
        from engagex.billing.limits import Limit, ensure_within

        ensure_within(Limit.SEATS, adding=1)
    was_owner = user.is_active and user.groups.filter(name=roles.OWNER).exists()
    stays_owner = is_active and (role == roles.OWNER if role is not None else was_owner)
    if was_owner and not stays_owner:
        others = User.objects.filter(is_active=True, groups__name=roles.OWNER).exclude(pk=user.pk)
        if not others.exists():
            raise ValidationError(LAST_OWNER)


@transaction.atomic
def user_update(
    *, user: User, full_name: str, role: str | None, is_active: bool, actor=None
) -> User:
    """Change a member's name, role and active flag; the last active Owner stays an Owner."""
    # Checked against the stored row: an admin form has already copied the posted values
    # onto `user`, so its is_active says what the change asks for, not what it changes.
    stored = User.objects.select_for_update().get(pk=user.pk)
    _user_update_check(user=stored, role=role, is_active=is_active, actor=actor)
    user.full_name = full_name
    user.is_active = is_active
    user.full_clean()
    user.save()
    if role is not None:
        user.groups.set([Group.objects.get(name=role)])
        roles.role_forget(user)
    return user


# Audit entries need a member (Django's LogEntry.user is required), but some requests come
# from the people a workspace emails, not from its team: erasure through the preference
# centre. They are recorded under this stand-in: inactive, not staff, no password and no
# role (so it takes no seat, cannot sign in and is never notified); the Team page hides it.
PERSON_ACTOR_EMAIL = "preference-centre@engagex.invalid"


def person_actor_get() -> User:
    """The stand-in member that audit entries of a person's own requests are recorded under."""
    user = User.objects.filter(email=PERSON_ACTOR_EMAIL).first()
    if user is None:
        user = User.objects.create_user(
            PERSON_ACTOR_EMAIL, full_name="Preference centre", is_staff=False, is_active=False
        )
    return user
