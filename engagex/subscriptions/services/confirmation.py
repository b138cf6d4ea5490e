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


# A link confirms at most this many of one person's lists (one email, one button).
MAX_LISTS_PER_LINK = 20


@dataclass(frozen=True)
class ConfirmTarget:
    schema: str
    membership_id: int
    contact_id: int
    also: tuple[int, ...] = ()  # the person's other memberships the same email asked about

    @property
    def membership_ids(self) -> tuple[int, ...]:
        return (self.membership_id, *self.also)


def confirm_token(
    *,
    schema: str,
    contact_id: int,
    expires: int,
    membership_id: int | None = None,
    membership_ids: list[int] | None = None,
) -> str:
    """A link for one contact's membership, or several (one email for every list they just
    asked for); `expires` is a Unix time, the link stops working then. Links of one
    membership keep the form they always had."""
    ids = membership_ids or ([membership_id] if membership_id is not None else [])
    if not ids:
        raise ValueError("confirm_token() needs membership_id or membership_ids")
    members = "-".join(b36(pk) for pk in ids[:MAX_LISTS_PER_LINK])
    payload = f"{schema}.{members}.{b36(contact_id)}.{b36(expires)}"
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
        ids = [int(pk, 36) for pk in membership.split("-")]
        if not 1 <= len(ids) <= MAX_LISTS_PER_LINK:
            raise BadToken("malformed")
        return ConfirmTarget(schema, ids[0], int(contact, 36), tuple(ids[1:]))
    except (ValueError, TypeError) as error:
        raise BadToken("malformed") from error


def confirm_url(memberships: list[Membership], *, schema: str, expiry_days: int) -> str:
    """The link confirming `memberships`, all of one contact."""
    expires = int(time.time()) + expiry_days * 86400
    token = confirm_token(
        schema=schema,
        membership_ids=[m.pk for m in memberships],
        contact_id=memberships[0].contact_id,
        expires=expires,
    )
    return platform_url(f"/c/{token}/")


def list_names(memberships: list[Membership], *, quoted: bool = False) -> str:
    """The lists a confirmation is about: `News, Deals` for an email's {{ list }} (the
    default text puts quotes around it), `“News”, “Deals”` for our pages."""
    if quoted:  # in the page's language: „News“ in German
        return ", ".join(_("“%(name)s”") % {"name": m.group.name} for m in memberships)
    return ", ".join(m.group.name for m in memberships)


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
    """Email a confirmation link to each person with memberships still waiting for one: one
    email and one button for all of a person's lists in the batch; return how many emails.

    Members confirmed, deleted or suppressed (bounced, complained) meanwhile get nothing.
    """
    workspace = current_tenant().name
    expiry_days = consent_settings().unconfirmed_expiry_days
    memberships = list(
        Membership.objects.filter(pk__in=membership_ids, status=MembershipStatus.UNCONFIRMED)
        .exclude(contact__status__in=[ContactStatus.BOUNCED, ContactStatus.COMPLAINED])
        .select_related("contact", "group", "signup__form")
        .order_by("contact_id", "group_id")  # a person's lists together, in list order
    )
    people: dict[int, list[Membership]] = {}
    for membership in memberships:
        people.setdefault(membership.contact_id, []).append(membership)
    messages = []
    for theirs in people.values():
        for start in range(0, len(theirs), MAX_LISTS_PER_LINK):
            messages.append(
                _confirmation_email(
                    theirs[start : start + MAX_LISTS_PER_LINK],
                    schema=schema,
                    workspace=workspace,
                    expiry_days=expiry_days,
                )
            )
    if messages:
        get_connection().send_messages(messages)
    return len(messages)


def _confirmation_email(
    memberships: list[Membership], *, schema: str, workspace: str, expiry_days: int
) -> EmailMessage:
    first = memberships[0]
    signup = getattr(first, "signup", None)
    form = signup.form if signup is not None else None
    with translation.override(_language_for(first, form)):
        subject = (form and form.confirmation_subject) or _default_subject()
        body = (form and form.confirmation_body) or _default_body()
    values = {
        "url": confirm_url(memberships, schema=schema, expiry_days=expiry_days),
        "list_name": list_names(memberships),
        "workspace": workspace,
    }
    message = EmailMessage(
        _fill(subject, **values).replace("\n", " ")[:250],
        _fill(body, **values),
        None,
        [first.contact.email],
    )
    message.metadata = {"tenant": schema, "kind": "confirmation"}  # type: ignore[attr-defined]
    return message


# --- confirming ---------------------------------------------------------------------------


def confirm_lookup(target: ConfirmTarget):
    """Return (workspace, memberships) for a valid token, or raise BadToken. The
    memberships are those of the token's contact that still exist, in list order."""
    tenant = get_tenant_model().objects.filter(schema_name=target.schema).first()
    if tenant is None:
        raise BadToken("workspace")
    with schema_context(target.schema):
        memberships = list(
            Membership.objects.select_related("contact", "group", "signup__form")
            .filter(pk__in=target.membership_ids, contact_id=target.contact_id)
            .order_by("group_id")
        )
    if not memberships:
        raise BadToken("membership")
    return tenant, memberships


def signup_confirm(*, target: ConfirmTarget, ip: str | None, user_agent: str) -> list[Membership]:
    """Confirm the memberships a token names that still wait (idempotent); count each on
    its form. Lists left since (unsubscribed) stay left: confirming is not rejoining."""
    with schema_context(target.schema):
        memberships = list(
            Membership.objects.filter(
                pk__in=target.membership_ids, contact_id=target.contact_id
            ).order_by("group_id")
        )
        if not memberships:
            raise BadToken("membership")
        confirmed = []
        for membership in memberships:
            if membership.status == MembershipStatus.UNSUBSCRIBED:
                continue
            was_waiting = membership.status == MembershipStatus.UNCONFIRMED
            membership = membership_confirm(membership=membership, ip=ip, user_agent=user_agent)
            if was_waiting:
                SignupForm.objects.filter(signups__membership=membership).update(
                    confirmations_count=F("confirmations_count") + 1
                )
            confirmed.append(membership)
        return confirmed


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
