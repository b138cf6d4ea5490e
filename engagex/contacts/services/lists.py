"""Lists and their members: who is on which list, with what status and what consent.

A membership is `unconfirmed` (double opt-in sent, not yet confirmed), `subscribed` or
`unsubscribed`. The rules, in one place:

- the contact's global status (unsubscribed from everything, bounced, complained) always
  wins: a campaign reaches a list's `subscribed` members whose contact is subscribed;
- a member who unsubscribed from a list is put back only by the person (a confirmed
  double opt-in, the preference centre), never by staff, an import or the API;
- a contact unsubscribed from everything comes back only through a confirmed double opt-in
  (`membership_confirm`): that confirmation is new consent. Bounced and complained contacts
  never come back this way.

Double opt-in emails are sent by the app that owns sign-up (subscriptions), which registers
a sender here (`register_confirmation_sender`): contacts never imports it.
"""

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from datetime import datetime
from functools import partial

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy

from engagex.contacts.models import (
    ConsentSource,
    Contact,
    ContactGroup,
    ContactStatus,
    Membership,
    MembershipStatus,
)
from engagex.contacts.services.status import Suppression, contacts_suppress
from engagex.core.tasks import enqueue_tenant_task
from engagex.core.tenancy import current_schema

M = MembershipStatus
# Consent sources where the person acts for themselves (and may undo their own opt-out).
PERSON_SOURCES = frozenset({ConsentSource.FORM, ConsentSource.PREFERENCES})

LIST_RESUBSCRIBE_REFUSED = gettext_lazy(
    "{email} unsubscribed from “{list}” themselves: only they can subscribe again (through a "
    "sign-up form or the preference centre)."
)
NOT_A_MEMBER = gettext_lazy("{email} is not on “{list}”.")
LIST_NAME_TAKEN = gettext_lazy("A list with this name already exists.")
CONTACT_SUPPRESSED = gettext_lazy(
    "{email} has the status “{status}”: they cannot be subscribed to a list until they "
    "subscribe again themselves."
)


@dataclass(frozen=True)
class Consent:
    """How a person agreed to be on a list: the evidence GDPR art. 7(1) asks us to keep."""

    source: str
    text: str = ""
    ip: str | None = None
    user_agent: str = ""
    at: datetime | None = field(default=None)

    def fields(self, now: datetime) -> dict:
        return {
            "source": self.source,
            "consent_at": self.at or now,
            "consent_text": self.text[:10_000],
            "consent_ip": self.ip or None,
            "consent_user_agent": (self.user_agent or "")[:400],
        }


_CONFIRMATION_SENDERS: list[Callable[..., object]] = []


def register_confirmation_sender(sender: Callable[..., object]) -> None:
    """Have `sender(memberships=[Membership, ...])` email double-opt-in confirmations."""
    if sender not in _CONFIRMATION_SENDERS:
        _CONFIRMATION_SENDERS.append(sender)


# Inside confirmations_batched(): the memberships asked for so far, handed over together.
_collected: ContextVar[list[Membership] | None] = ContextVar("confirmations", default=None)


def confirmation_request(*, memberships: list[Membership]) -> None:
    """Ask the registered sender to email a confirmation link for each unconfirmed member."""
    pending = [m for m in memberships if m.status == M.UNCONFIRMED]
    if not pending:
        return
    collected = _collected.get()
    if collected is not None:
        collected.extend(pending)
        return
    for sender in _CONFIRMATION_SENDERS:
        transaction.on_commit(partial(sender, memberships=pending))


@contextmanager
def confirmations_batched() -> Iterator[None]:
    """Hand the confirmations asked for inside to the senders at once, when the transaction
    around commits (a batch of sign-ups becomes a few email tasks, not one each).

    A membership whose savepoint rolled back may be among them: the senders look each one
    up and skip those no longer unconfirmed (or gone).
    """
    collected: list[Membership] = []
    token = _collected.set(collected)
    try:
        yield
    finally:
        _collected.reset(token)
    if collected:
        confirmation_request(memberships=collected)


# Memberships per confirmation task: an import of a million people queues a thousand small
# tasks after it commits instead of holding every membership in one process.
CONFIRMATION_BATCH = 1000


def confirmation_request_ids(*, ids: list[int]) -> None:
    """Ask for a confirmation email for each of the memberships `ids` once this transaction
    commits, in tasks of CONFIRMATION_BATCH memberships (ordered as given: pass them by
    contact, so that one contact's lists tend to share a batch)."""
    if not ids or not _CONFIRMATION_SENDERS:
        return
    from engagex.contacts.tasks import contacts_confirmation_request

    schema = current_schema()
    for start in range(0, len(ids), CONFIRMATION_BATCH):
        batch = list(ids[start : start + CONFIRMATION_BATCH])
        enqueue_tenant_task(contacts_confirmation_request, schema, batch)


def confirmation_request_send(*, ids: list[int]) -> int:
    """Hand the memberships `ids` still unconfirmed to the registered senders; return how
    many (a confirmation task's body)."""
    memberships = list(
        Membership.objects.filter(pk__in=ids, status=M.UNCONFIRMED)
        .select_related("contact", "group")
        .order_by("contact_id", "group_id")
    )
    confirmation_request(memberships=memberships)
    return len(memberships)


def _refuse_suppressed(contact: Contact) -> None:
    if contact.status in (ContactStatus.BOUNCED, ContactStatus.COMPLAINED):
        raise ValidationError(
            CONTACT_SUPPRESSED.format(
                email=contact.email, status=ContactStatus(contact.status).label
            )
        )


@transaction.atomic
def membership_subscribe(
    *,
    contact: Contact,
    group: ContactGroup,
    consent: Consent,
    double_opt_in: bool | None = None,
) -> Membership:
    """Put `contact` on `group`: subscribed, or unconfirmed with a confirmation email when
    the list (or `double_opt_in`) asks for double opt-in. Idempotent for a current member.

    A contact unsubscribed from everything is made an unconfirmed member (only confirming
    brings them back); bounced and complained contacts are refused.
    """
    _refuse_suppressed(contact)
    now = timezone.now()
    double = group.opt_in == ContactGroup.OptIn.DOUBLE if double_opt_in is None else double_opt_in
    by_person = consent.source in PERSON_SOURCES
    if contact.status == ContactStatus.UNSUBSCRIBED:
        if not by_person:
            raise ValidationError(
                CONTACT_SUPPRESSED.format(
                    email=contact.email, status=ContactStatus(contact.status).label
                )
            )
        double = True
    membership = Membership.objects.select_for_update().filter(contact=contact, group=group).first()
    if membership is not None:
        if membership.status == M.UNSUBSCRIBED and not by_person:
            raise ValidationError(
                LIST_RESUBSCRIBE_REFUSED.format(email=contact.email, list=group.name)
            )
        if membership.status == M.SUBSCRIBED and contact.status == ContactStatus.SUBSCRIBED:
            return membership  # already on the list
    if membership is None:
        membership = Membership(contact=contact, group=group)
    membership.status = M.UNCONFIRMED if double else M.SUBSCRIBED
    membership.status_changed_at = now
    for name, value in consent.fields(now).items():
        setattr(membership, name, value)
    if not double:
        membership.confirmed_at = None
    membership.save()
    if double:
        confirmation_request(memberships=[membership])
    return membership


@transaction.atomic
def membership_confirm(
    *, membership: Membership, ip: str | None = None, user_agent: str = ""
) -> Membership:
    """The person confirmed their double opt-in: subscribe them (and, as this is new
    consent, bring a contact back who had unsubscribed from everything)."""
    membership = (
        Membership.objects.select_for_update()
        .select_related("contact", "group")
        .get(pk=membership.pk)
    )
    contact = Contact.objects.select_for_update().get(pk=membership.contact_id)
    _refuse_suppressed(contact)
    if membership.status == M.SUBSCRIBED and membership.confirmed_at:
        return membership
    now = timezone.now()
    membership.status = M.SUBSCRIBED
    membership.status_changed_at = now
    membership.confirmed_at = now
    membership.confirm_ip = ip or None
    membership.confirm_user_agent = (user_agent or "")[:400]
    membership.save()
    if contact.status == ContactStatus.UNSUBSCRIBED:
        contact.status = ContactStatus.SUBSCRIBED
        contact.status_changed_at = now
        contact.status_source = f"double opt-in confirmed: {membership.group.name}"[:120]
        contact.consent_at = now
        contact.consent_source = contact.status_source
        contact.save(
            update_fields=[
                "status",
                "status_changed_at",
                "status_source",
                "consent_at",
                "consent_source",
                "updated_at",
            ]
        )
    return membership


@transaction.atomic
def membership_unsubscribe(
    *, contact: Contact, groups: Iterable[ContactGroup], source: str = ConsentSource.CONSOLE
) -> int:
    """Unsubscribe `contact` from `groups` (those it is a member of); return how many."""
    return Membership.objects.filter(
        contact=contact, group__in=list(groups), status__in=[M.SUBSCRIBED, M.UNCONFIRMED]
    ).update(status=M.UNSUBSCRIBED, status_changed_at=timezone.now())


@transaction.atomic
def membership_leave(*, contact: Contact, group: ContactGroup) -> Membership:
    """Unsubscribe `contact` from one list it is on (again: no change); return the membership.

    Raise ValidationError when it was never on the list.
    """
    membership_unsubscribe(contact=contact, groups=[group])
    membership = Membership.objects.filter(contact=contact, group=group).first()
    if membership is None:
        raise ValidationError(NOT_A_MEMBER.format(email=contact.email, list=group.name))
    return membership


def _group_save(group: ContactGroup) -> ContactGroup:
    group.name = (group.name or "").strip()
    taken = ContactGroup.objects.filter(name__iexact=group.name).exclude(pk=group.pk)
    if group.name and taken.exists():
        raise ValidationError({"name": LIST_NAME_TAKEN})
    group.full_clean(validate_constraints=False)  # the name's, checked above with its message
    group.save()
    return group


@transaction.atomic
def group_create(*, name: str, **fields) -> ContactGroup:
    """Create a list (`description`, `opt_in`, `visibility` as given, else the defaults)."""
    return _group_save(ContactGroup(name=name, **fields))


@transaction.atomic
def group_update(*, group: ContactGroup, **fields) -> ContactGroup:
    """Change a list's name, description, opt-in or visibility; members keep their status."""
    for name, value in fields.items():
        setattr(group, name, value)
    return _group_save(group)


@transaction.atomic
def group_delete_many(*, groups: QuerySet[ContactGroup]) -> int:
    """Delete lists with their memberships; return how many lists.

    The lists are locked first: one an import or a form is adding members to meanwhile is
    deleted once that commits, those members included (a membership is refused a list being
    deleted, and a list is refused its deletion while a membership still names it)."""
    locked = list(
        ContactGroup.objects.filter(pk__in=groups.values("pk"))
        .order_by("pk")
        .select_for_update()
        .values_list("pk", flat=True)
    )
    return ContactGroup.objects.filter(pk__in=locked).delete()[1].get(ContactGroup._meta.label, 0)


@transaction.atomic
def contact_unsubscribe_everywhere(*, contact: Contact, source: str) -> bool:
    """Unsubscribe from everything: the contact's global status (and every list)."""
    now = timezone.now()
    Membership.objects.filter(contact=contact, status__in=[M.SUBSCRIBED, M.UNCONFIRMED]).update(
        status=M.UNSUBSCRIBED, status_changed_at=now
    )
    suppression = Suppression(ContactStatus.UNSUBSCRIBED, source[:120], now)
    return contacts_suppress(suppressions={contact.pk: suppression}) == 1


@transaction.atomic
def memberships_set(
    *, contact: Contact, groups: Iterable[ContactGroup], source: str = ConsentSource.CONSOLE
) -> None:
    """Make `groups` the lists `contact` is on (a console or API form's list choice).

    New lists subscribe it (single opt-in: staff vouch for the consent); lists left out
    remove it, except where it unsubscribed, which stays on record. A list it unsubscribed
    from cannot be chosen again here.
    """
    wanted = {group.pk: group for group in groups}
    current = {m.group_id: m for m in Membership.objects.filter(contact=contact)}
    errors = [
        LIST_RESUBSCRIBE_REFUSED.format(email=contact.email, list=group.name)
        for pk, group in wanted.items()
        if pk in current and current[pk].status == M.UNSUBSCRIBED
    ]
    if errors:
        raise ValidationError({"groups": errors})
    Membership.objects.filter(contact=contact).exclude(group_id__in=wanted).exclude(
        status=M.UNSUBSCRIBED
    ).delete()
    now = timezone.now()
    Membership.objects.bulk_create(
        [
            Membership(
                contact=contact,
                group=group,
                status=M.SUBSCRIBED,
                status_changed_at=now,
                **Consent(source=source).fields(now),
            )
            for pk, group in wanted.items()
            if pk not in current
        ]
    )


def memberships_current(contact: Contact) -> QuerySet[ContactGroup]:
    """The lists a contact is on now (subscribed or waiting to confirm)."""
    return ContactGroup.objects.filter(
        memberships__contact=contact, memberships__status__in=[M.SUBSCRIBED, M.UNCONFIRMED]
    )


def group_status_counts(group: ContactGroup) -> dict[str, int]:
    """How many members a list has in each status, and how many of the subscribed ones a
    campaign would reach (their contact is subscribed too)."""
    counts = Membership.objects.filter(group=group).aggregate(
        **{status: Count("pk", filter=Q(status=status)) for status in M.values},
        reachable=Count(
            "pk", filter=Q(status=M.SUBSCRIBED, contact__status=ContactStatus.SUBSCRIBED)
        ),
    )
    return counts


def awaiting_confirmation_repair() -> int:
    """Recompute `awaiting_confirmation` wherever it could be wrong (flagged contacts, and
    contacts with an unconfirmed membership) and return how many contacts it changed. The
    triggers keep it, but two transactions changing one contact's memberships at once can
    leave it wrong (contacts 0015): a send calls this first."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT contacts_awaiting_repair()")
        return cursor.fetchone()[0] or 0


def member_changes_prune() -> int:
    """Delete the member changes every running transaction already sees (hourly, and the
    bench); return how many. Whoever holds a copy of a list's members made before then
    starts again from the list (contacts 0016)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT contacts_member_changes_prune()")
        return cursor.fetchone()[0] or 0
