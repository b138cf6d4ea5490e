"""Team invitations: invite by email with a role, resend, revoke, accept once."""

from datetime import timedelta

from django.conf import settings
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import transaction
from django.template.loader import render_to_string
from django.urls import reverse
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from engagex.accounts import roles
from engagex.accounts.models import Invitation, User
from engagex.accounts.services import role_grant_check, user_create
from engagex.accounts.services.tokens import token_hash, token_new
from engagex.accounts.signals import invitation_accepted
from engagex.core.tenancy import current_tenant

ALREADY_MEMBER = gettext_lazy("{email} is already an active member of this workspace.")
ALREADY_INVITED = gettext_lazy(
    "{email} already has a pending invitation: resend it from the Invitations page."
)
INVITATION_INVALID = gettext_lazy(
    "This invitation link is not valid here: check that you opened the whole link from the "
    "email, on the workspace it was sent for."
)
INVITATION_USED = gettext_lazy("This invitation was already accepted: log in instead.")
INVITATION_REVOKED = gettext_lazy(
    "This invitation was withdrawn. Ask a workspace Owner or Admin to invite you again."
)
INVITATION_EXPIRED = gettext_lazy(
    "This invitation has expired. Ask a workspace Owner or Admin to send it again."
)
NOT_PENDING = gettext_lazy("Only pending or expired invitations can be resent or revoked.")
INVITER_CANNOT_GRANT = gettext_lazy(
    "This invitation is no longer valid: the person who sent it can no longer give this role. "
    "Ask a workspace Owner or Admin to send it again."
)
EMAIL_MISMATCH = gettext_lazy(
    "The single sign-on account's email address is not the one this invitation was sent to."
)


def _person(actor) -> User | None:
    """Who to credit: the member acting, or the creator of the API key acting."""
    person = roles.member_of(actor) if actor is not None else None
    return person if person is not None and person.pk else None


def invitation_path(token: str) -> str:
    return reverse("invitation_accept", kwargs={"token": token}, urlconf="config.urls_tenants")


def _expiry():
    return timezone.now() + timedelta(days=settings.INVITATION_TTL_DAYS)


def invitation_create_check(*, email: str, role: str, actor=None) -> str:
    """Raise what `invitation_create` would refuse (no writes); return the normalised email."""
    from engagex.billing.limits import Limit, ensure_within

    email = User.objects.normalize_email(email)
    try:
        validate_email(email)
    except ValidationError as error:
        raise ValidationError({"email": error.messages}) from error
    if role not in roles.ROLES:
        raise ValidationError({"role": roles.UNKNOWN_ROLE.format(role=role)})
    role_grant_check(actor=actor, role=role)
    if User.objects.filter(email__iexact=email, is_active=True).exists():
        raise ValidationError({"email": ALREADY_MEMBER.format(email=email)})
    open_invitations = Invitation.objects.filter(
        email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True
    )
    if open_invitations.filter(expires_at__gt=timezone.now()).exists():
        raise ValidationError({"email": ALREADY_INVITED.format(email=email)})
    ensure_within(Limit.SEATS, adding=1)
    return email


@transaction.atomic
def invitation_create(*, email: str, role: str, actor=None) -> tuple[Invitation, str]:
    """Invite `email` with `role` (takes a seat); return the invitation and its link."""
    email = invitation_create_check(email=email, role=role, actor=actor)
    # An expired one for the same address is closed so the new one can be the open one.
    Invitation.objects.filter(
        email__iexact=email, accepted_at__isnull=True, revoked_at__isnull=True
    ).update(revoked_at=timezone.now())
    token, digest = token_new()
    invitation = Invitation(
        email=email,
        role=role,
        token_hash=digest,
        invited_by=_person(actor),
        expires_at=_expiry(),
    )
    invitation.full_clean()
    invitation.save()
    link = _send(invitation, token)
    return invitation, link


@transaction.atomic
def invitation_resend(*, invitation: Invitation, actor=None) -> str:
    """Email a fresh link (the old one stops working) and restart the expiry clock."""
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    role_grant_check(actor=actor, role=invitation.role)
    if invitation.status not in {Invitation.Status.PENDING, Invitation.Status.EXPIRED}:
        raise ValidationError(NOT_PENDING)
    token, digest = token_new()
    invitation.token_hash = digest
    invitation.expires_at = _expiry()
    invitation.sent_at = timezone.now()
    invitation.send_count += 1
    fields = ["token_hash", "expires_at", "sent_at", "send_count"]
    if _person(actor) is not None:
        invitation.invited_by = _person(actor)  # whoever resends now vouches for it
        fields.append("invited_by")
    invitation.save(update_fields=fields)
    return _send(invitation, token)


@transaction.atomic
def invitation_revoke(*, invitation: Invitation, actor=None) -> Invitation:
    """Withdraw a pending invitation: its link stops working and its seat is freed."""
    # Locked like acceptance, so an invitation is never both accepted and revoked.
    invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
    role_grant_check(actor=actor, role=invitation.role)
    if invitation.status not in {Invitation.Status.PENDING, Invitation.Status.EXPIRED}:
        raise ValidationError(NOT_PENDING)
    invitation.revoked_at = timezone.now()
    invitation.save(update_fields=["revoked_at"])
    return invitation


def invitation_get_pending(*, token: str) -> Invitation:
    """Return the pending invitation of this workspace that `token` opens, or raise."""
    invitation = Invitation.objects.filter(token_hash=token_hash(token or "")).first()
    if invitation is None:
        raise ValidationError(INVITATION_INVALID, code="invalid")
    errors = {
        Invitation.Status.ACCEPTED: INVITATION_USED,
        Invitation.Status.REVOKED: INVITATION_REVOKED,
        Invitation.Status.EXPIRED: INVITATION_EXPIRED,
    }
    if invitation.status in errors:
        raise ValidationError(errors[invitation.status], code=invitation.status)
    if invitation.invited_by is not None:
        # What an invitation grants is capped by its sender's *current* role, like an API
        # key's: a member demoted or deactivated since cannot still let someone in above it.
        try:
            role_grant_check(actor=invitation.invited_by, role=invitation.role)
        except ValidationError as error:
            raise ValidationError(INVITER_CANNOT_GRANT, code="inviter") from error
    return invitation


@transaction.atomic
def invitation_accept(
    *, token: str, full_name: str = "", password: str | None = None, email: str | None = None
) -> User:
    """Turn a pending invitation into a member (once); `email` must match when given (SSO)."""
    pending = invitation_get_pending(token=token)
    invitation = Invitation.objects.select_for_update().get(pk=pending.pk)
    if invitation.accepted_at or invitation.revoked_at:  # accepted in a parallel request
        raise ValidationError(INVITATION_USED, code=Invitation.Status.ACCEPTED)
    if email is not None and User.objects.normalize_email(email) != invitation.email:
        raise ValidationError(EMAIL_MISMATCH, code="email_mismatch")
    former = User.objects.filter(email__iexact=invitation.email).first()
    if former is not None:
        # A deactivated member who is invited back keeps their history.
        former.is_active = True
        former.full_name = full_name or former.full_name
        if password:
            former.set_password(password)
        former.save()
        former.groups.set([Group.objects.get(name=invitation.role)])
        roles.role_forget(former)
        user = former
    else:
        user = user_create(
            email=invitation.email, full_name=full_name, role=invitation.role, password=password
        )
    invitation.accepted_at = timezone.now()
    invitation.accepted_by = user
    invitation.save(update_fields=["accepted_at", "accepted_by"])
    invitation_accepted.send(sender=Invitation, invitation=invitation, user=user)
    return user


def _send(invitation: Invitation, token: str) -> str:
    from tenants.selectors import workspace_url

    tenant = current_tenant()
    link = workspace_url(tenant, invitation_path(token))
    inviter = invitation.invited_by
    context = {
        "invitation": invitation,
        "link": link,
        "workspace_name": tenant.name,
        "inviter": inviter.get_full_name() if inviter else "",
        "days": settings.INVITATION_TTL_DAYS,
    }
    with translation.override(tenant.default_language):
        subject = _("You are invited to %(workspace)s on EngageX") % {"workspace": tenant.name}
        text = render_to_string("accounts/email/invitation.txt", context)
        html = render_to_string("accounts/email/invitation.html", context)
    address = invitation.email
    transaction.on_commit(lambda: send_mail(subject, text, None, [address], html_message=html))
    return link
