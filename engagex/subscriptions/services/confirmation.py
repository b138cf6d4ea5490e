"""Double opt-in: signed confirmation links, their emails, confirming, and expiry.

The confirmation sender registered with contacts (`confirmations_enqueue`) serves every
path that makes an unconfirmed membership: our forms, imports, the API. It queues one
task per batch of SIGNUP_CONFIRMATION_BATCH memberships, never one per person, and the
task renders and sends the emails in the workspace (tasks.confirmations_send_batch).

A link is `/c/<token>/` on the platform domain, beside `/u/`. The token names the
workspace schema, the membership, its contact and an expiry, and is signed: another
workspace's name, another member or a later expiry breaks the signature. GET shows a page
whose button POSTs (link scanners fetch links); only the POST confirms.
"""

import logging
import time
from dataclasses import dataclass
from datetime import timedelta

from django.conf import settings
from django.core.mail import EmailMessage, get_connection
from django.db.models import Exists, F, OuterRef
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_q.tasks import async_task
from django_tenants.utils import get_tenant_model, schema_context

from engagex.contacts.models import Contact, ContactStatus, Membership, MembershipStatus
from engagex.contacts.selectors import consent_settings
from engagex.contacts.services.contacts import contact_delete_many
from engagex.contacts.services.lists import membership_confirm
from engagex.core.tenancy import current_schema, current_tenant
from engagex.core.tokens import b36, token_sign, token_signature_valid
from engagex.subscriptions.models import Signup, SignupForm
from tenants.selectors import platform_url

logger = logging.getLogger(__name__)
PLACEHOLDER_URL = "{{ confirm_url }}"
PLACEHOLDER_LIST = "{{ list }}"
PLACEHOLDER_WORKSPACE = "{{ workspace }}"


# Keys the signatures: a token of another purpose never passes here.
PURPOSE = "confirm"


class BadToken(Exception):
    pass


@dataclass(frozen=True)
class ConfirmTarget:
    schema: str
    membership_id: int
    contact_id: int


def confirm_token(*, schema: str, membership_id: int, contact_id: int, expires: int) -> str:
    """`expires` is a Unix time; the link stops working then."""
    payload = f"{schema}.{b36(membership_id)}.{b36(contact_id)}.{b36(expires)}"
    return f"{payload}.{token_sign(PURPOSE, payload)}"


def confirm_token_parse(token: str) -> ConfirmTarget:
    """What a token names; BadToken when it was altered, is malformed or has expired."""
    try:
        schema, membership, contact, expires, signature = token.split(".")
        payload = f"{schema}.{membership}.{contact}.{expires}"
        if not token_signature_valid(PURPOSE, payload, signature):
            raise BadToken("signature")
        if int(expires, 36) < time.time():
            raise BadToken("expired")
        return ConfirmTarget(schema, int(membership, 36), int(contact, 36))
    except (ValueError, TypeError) as error:
        raise BadToken("malformed") from error


def confirm_url(membership: Membership, *, schema: str, expiry_days: int) -> str:
    expires = int(time.time()) + expiry_days * 86400
    token = confirm_token(
        schema=schema,
        membership_id=membership.pk,
        contact_id=membership.contact_id,
        expires=expires,
    )
    return platform_url(f"/c/{token}/")


# --- sending ------------------------------------------------------------------------------


def confirmations_enqueue(*, memberships: list[Membership]) -> int:
    """The sender registered with contacts: queue the emails, a task per batch; return
    how many tasks. Runs after the commit that made the memberships unconfirmed."""
    ids = [m.pk for m in memberships if m.pk]
    size = max(1, settings.SIGNUP_CONFIRMATION_BATCH)
    schema = current_schema()
    batches = [ids[i : i + size] for i in range(0, len(ids), size)]
    for batch in batches:
        async_task("engagex.subscriptions.tasks.confirmations_send_batch", schema, batch)
    return len(batches)


def _default_subject() -> str:
    return _("Please confirm your subscription to {{ list }}")


def _default_body() -> str:
    return _(
        "Hello,\n\n"
        "someone, hopefully you, asked to receive “{{ list }}” from {{ workspace }} at this "
        "address. Please confirm by opening this link and pressing the button:\n\n"
        "{{ confirm_url }}\n\n"
        "If it was not you, ignore this email: you will not hear from us again."
    )


def _fill(text: str, *, url: str, list_name: str, workspace: str) -> str:
    return (
        text.replace(PLACEHOLDER_URL, url)
        .replace(PLACEHOLDER_LIST, list_name)
        .replace(PLACEHOLDER_WORKSPACE, workspace)
    )


def _language_for(membership: Membership, form: SignupForm | None) -> str | None:
    if form is not None:
        return form.language
    language = (membership.contact.language or "")[:2].lower()
    return language if language in dict(settings.LANGUAGES) else None


def confirmations_send(*, membership_ids: list[int], schema: str) -> int:
    """Email a confirmation link to each membership still waiting for one; return how many.

    Members confirmed, deleted or suppressed (bounced, complained) meanwhile get nothing.
    """
    workspace = current_tenant().name
    expiry_days = consent_settings().unconfirmed_expiry_days
    memberships = list(
        Membership.objects.filter(pk__in=membership_ids, status=MembershipStatus.UNCONFIRMED)
        .exclude(contact__status__in=[ContactStatus.BOUNCED, ContactStatus.COMPLAINED])
        .select_related("contact", "group", "signup__form")
        .order_by("contact_id", "group_id")  # a person's emails in their lists' order
    )
    messages = []
    for membership in memberships:
        signup = getattr(membership, "signup", None)
        form = signup.form if signup is not None else None
        with translation.override(_language_for(membership, form)):
            subject = (form and form.confirmation_subject) or _default_subject()
            body = (form and form.confirmation_body) or _default_body()
        values = {
            "url": confirm_url(membership, schema=schema, expiry_days=expiry_days),
            "list_name": membership.group.name,
            "workspace": workspace,
        }
        message = EmailMessage(
            _fill(subject, **values).replace("\n", " ")[:250],
            _fill(body, **values),
            None,
            [membership.contact.email],
        )
        message.metadata = {"tenant": schema, "kind": "confirmation"}  # type: ignore[attr-defined]
        messages.append(message)
    if messages:
        get_connection().send_messages(messages)
    return len(messages)


# --- confirming ---------------------------------------------------------------------------


def confirm_lookup(target: ConfirmTarget):
    """Return (workspace, membership) for a valid token, or raise BadToken."""
    tenant = get_tenant_model().objects.filter(schema_name=target.schema).first()
    if tenant is None:
        raise BadToken("workspace")
    with schema_context(target.schema):
        membership = (
            Membership.objects.select_related("contact", "group", "signup__form")
            .filter(pk=target.membership_id, contact_id=target.contact_id)
            .first()
        )
    if membership is None:
        raise BadToken("membership")
    return tenant, membership


def signup_confirm(*, target: ConfirmTarget, ip: str | None, user_agent: str) -> Membership:
    """Confirm the membership a token names (idempotent); count it on its form."""
    with schema_context(target.schema):
        membership = Membership.objects.filter(
            pk=target.membership_id, contact_id=target.contact_id
        ).first()
        if membership is None:
            raise BadToken("membership")
        was_waiting = membership.status == MembershipStatus.UNCONFIRMED
        membership = membership_confirm(membership=membership, ip=ip, user_agent=user_agent)
        if was_waiting:
            SignupForm.objects.filter(signups__membership=membership).update(
                confirmations_count=F("confirmations_count") + 1
            )
        return membership


# --- expiry -------------------------------------------------------------------------------


def unconfirmed_expire(*, now=None) -> dict[str, int]:
    """Delete memberships left unconfirmed past the workspace's expiry, and the contacts
    that only such a sign-up created (no other list, no campaign history)."""
    from engagex.campaigns.models import CampaignRecipient

    now = now or timezone.now()
    cutoff = now - timedelta(days=consent_settings().unconfirmed_expiry_days)
    expired = Membership.objects.filter(
        status=MembershipStatus.UNCONFIRMED, status_changed_at__lt=cutoff
    )
    created_by_signup = set(
        Signup.objects.filter(membership__in=expired, created_contact=True).values_list(
            "membership__contact_id", flat=True
        )
    )
    removed = expired.delete()[1].get(Membership._meta.label, 0)
    orphans = (
        Contact.objects.filter(pk__in=created_by_signup)
        .exclude(Exists(Membership.objects.filter(contact_id=OuterRef("pk"))))
        .exclude(Exists(CampaignRecipient.objects.filter(contact_id=OuterRef("pk"))))
    )
    deleted = contact_delete_many(contacts=orphans) if created_by_signup else 0
    return {"memberships": removed, "contacts": deleted}
