import json
import math
import re
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import QuerySet, Value
from django.db.models.functions import Lower
from django.utils import timezone
from django.utils.translation import gettext_lazy, ngettext
from psycopg import sql

from engagex.billing.limits import Limit, ensure_within
from engagex.contacts.models import (
    ConsentSource,
    Contact,
    ContactGroup,
    ContactStatus,
    Membership,
    MembershipStatus,
)
from engagex.contacts.selectors import contact_get_by_email
from engagex.contacts.services.attributes import attribute_types, attribute_values_check
from engagex.contacts.services.erasure import address_key, erased_among, erasure_check
from engagex.contacts.services.lists import Consent, membership_subscribe, memberships_set
from engagex.contacts.services.status import (
    status_merge_sql,
    status_resubscribes,
    status_resubscribes_sql,
)
from engagex.core.audit import AuditVerb, audit_record
from engagex.core.formats import number
from engagex.core.tenancy import workspace_language

# A fast check for the common case; addresses it rejects get Django's full validator.
_EMAIL_RE = re.compile(
    r"^[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*"
    r"@(?:[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?\.)+[A-Za-z]{2,63}$"
)
RESURRECT_REFUSED = gettext_lazy(
    "This contact is {status}: only the contact can subscribe again (for example through a "
    "signup form); it cannot be switched back to subscribed here."
)


def email_normalize(value: str) -> str:
    """Trim and lower-case the domain; the local part keeps its case."""
    value = (value or "").strip()
    local, at, domain = value.rpartition("@")
    if not at:
        return value
    return f"{local}@{domain.lower()}"


def email_is_valid(value: str) -> bool:
    if len(value) > 254:
        return False
    if _EMAIL_RE.match(value):
        return True
    try:
        validate_email(value)
    except ValidationError:
        return False
    return True


EMAIL_TAKEN = gettext_lazy("A contact with this email address already exists.")


def _contact_clean(contact: Contact) -> None:
    """Validate `contact` as its model does, a taken address reported on `email`.

    Addresses are unique ignoring case by a constraint on lower(email), which Django reports
    for no field; checked here first, the console and the API show it where it was typed.
    """
    email_l = Lower(Value(contact.email))  # lowered as the constraint lowers, by PostgreSQL
    taken = Contact.objects.alias(key=Lower("email")).filter(key=email_l)
    if taken.exclude(pk=contact.pk).exists():
        raise ValidationError({"email": EMAIL_TAKEN})
    contact.full_clean(validate_constraints=False)  # the address's, checked above


ATTRIBUTES_NOT_AN_OBJECT = gettext_lazy(
    'Custom attributes must be a JSON object of names and values, like {"city": "Oslo"}.'
)
ATTRIBUTES_NUL = gettext_lazy(
    "Custom attributes cannot contain the NUL character (\\u0000): remove it from “{name}”."
)
ATTRIBUTES_NOT_FINITE = gettext_lazy(
    "Custom attribute “{name}” is not a number JSON can hold (NaN or Infinity)."
)


def attributes_check(attributes, *, types: dict[str, str] | None = None) -> None:
    """Refuse what PostgreSQL's jsonb cannot store: NUL characters and NaN/Infinity.

    Also refuse anything but an object (exports and merge tags read attributes by name), and
    a value that does not fit its attribute's type (`types`: name → type, read if not given).
    """
    if not isinstance(attributes, dict):
        raise ValidationError({"attributes": ATTRIBUTES_NOT_AN_OBJECT})
    # Walk without recursion: a deeply nested value must not blow the stack here.
    pending = [(str(name), value, name) for name, value in attributes.items()]
    while pending:
        top, value, key = pending.pop()
        if (isinstance(key, str) and "\0" in key) or (isinstance(value, str) and "\0" in value):
            shown = top.replace("\0", "\\u0000")
            raise ValidationError({"attributes": ATTRIBUTES_NUL.format(name=shown)})
        if isinstance(value, float) and not math.isfinite(value):
            raise ValidationError({"attributes": ATTRIBUTES_NOT_FINITE.format(name=top)})
        if isinstance(value, dict):
            pending.extend((top, item, name) for name, item in value.items())
        elif isinstance(value, list):
            pending.extend((top, item, None) for item in value)
    attribute_values_check(attributes, types=types)


def contact_limit_check(*, adding: int = 1) -> None:
    """Refuse new contacts past the plan's limit, or in a read-only workspace."""
    room = _room.get()
    if room is not None and room[0] >= adding:
        room[0] -= adding  # checked for the whole batch already (contacts_room)
        return
    ensure_within(Limit.CONTACTS, adding=adding)


# Inside contacts_room(): how many more contacts the check made for the batch still covers.
_room: ContextVar[list[int] | None] = ContextVar("contact_room", default=None)


@contextmanager
def contacts_room(*, adding: int) -> Iterator[None]:
    """Check the contact limit once for a batch that may create up to `adding` contacts;
    contact_create inside uses that room up instead of checking (and reading the plan) per
    contact. Use it inside the batch's transaction: the check's lock lasts until it ends,
    so concurrent batches cannot both count on the same room. When the plan has less room
    than the whole batch, every contact is checked on its own, as outside.
    """
    try:
        contact_limit_check(adding=adding)
    except ValidationError:
        room = None
    else:
        room = [adding]
    token = _room.set(room)
    try:
        yield
    finally:
        _room.reset(token)


@transaction.atomic
def contact_create(
    *, email: str, groups=(), source: str = "admin", allow_erased: bool = False, **fields
) -> Contact:
    """Create a subscribed (or given-status) contact, within the workspace's contact limit.

    An address erased at its owner's request is refused, unless `allow_erased`: only the
    person signing up again themselves (a double opt-in form: new consent) may pass it.
    """
    contact_limit_check()
    if not allow_erased:
        erasure_check(email)
    attributes_check(fields.get("attributes", {}))
    now = timezone.now()
    contact = Contact(email=email_normalize(email), **fields)
    contact.status_changed_at = now
    contact.status_source = contact.status_source or source
    if contact.status == ContactStatus.SUBSCRIBED and not contact.consent_at:
        contact.consent_at = now
        contact.consent_source = contact.consent_source or source
    _contact_clean(contact)
    contact.save()
    if groups:
        memberships_set(contact=contact, groups=groups, source=_consent_source(source))
    return contact


@transaction.atomic
def contact_subscribe(
    *,
    group: ContactGroup,
    consent: Consent,
    contact: Contact | None = None,
    email: str = "",
    double_opt_in: bool | None = None,
) -> tuple[Membership, bool]:
    """Put `contact`, or the contact with `email` (created when there is none), on `group`
    (see membership_subscribe); return the membership and whether it is new. A refusal
    leaves nothing behind, not even the new contact."""
    if contact is None:
        email = email_normalize(email)
        contact = contact_get_by_email(email)
        if contact is None:
            contact = contact_create(email=email, source=consent.source)
    existed = Membership.objects.filter(contact=contact, group=group).exists()
    membership = membership_subscribe(
        contact=contact, group=group, consent=consent, double_opt_in=double_opt_in
    )
    return membership, not existed


def contact_status_check(*, contact: Contact, new_status: str) -> None:
    """Refuse to turn a suppressed contact back into a subscribed one."""
    old = Contact.objects.filter(pk=contact.pk).values_list("status", flat=True).first()
    if old is not None and status_resubscribes(old, new_status):
        raise ValidationError(
            {"status": RESURRECT_REFUSED.format(status=ContactStatus(old).label.lower())}
        )


@transaction.atomic
def contact_update(*, contact: Contact, groups=None, source: str = "admin", **fields) -> Contact:
    """Update a contact's fields (and its groups, if given); a status change records when
    and where it came from."""
    if "attributes" in fields:
        attributes_check(fields["attributes"])
    if "email" in fields:
        fields["email"] = email_normalize(fields["email"])
        if fields["email"].lower() != (contact.email or "").lower():
            erasure_check(fields["email"])
    new_status = fields.get("status", contact.status)
    contact_status_check(contact=contact, new_status=new_status)
    old_status = Contact.objects.filter(pk=contact.pk).values_list("status", flat=True).first()
    for name, value in fields.items():
        setattr(contact, name, value)
    if old_status != new_status:
        contact.status_changed_at = timezone.now()
        contact.status_source = source
    _contact_clean(contact)
    contact.save()
    if groups is not None:
        memberships_set(contact=contact, groups=groups, source=_consent_source(source))
    return contact


def _consent_source(source: str) -> str:
    """The consent source of lists chosen by a console form ("admin") or the API."""
    return ConsentSource.API if source == "api" else ConsentSource.CONSOLE


@transaction.atomic
def group_add_contacts(*, group: ContactGroup, contacts: QuerySet[Contact], user=None) -> int:
    """Add every contact of `contacts` to `group` in one statement; return how many joined.

    `user` (who asked: a member, or an API key's creator) gets an audit entry.
    """
    through = sql.Identifier(Contact.groups.through._meta.db_table)
    ids, params = contacts.order_by().values("pk").query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL(
                "INSERT INTO {} (contact_id, group_id, status, status_changed_at, source, "
                "consent_at) SELECT q.*, %s, 'subscribed', now(), 'console', now() "
                "FROM ({}) q ON CONFLICT DO NOTHING"
            ).format(through, sql.SQL(ids)),  # the ORM's own SQL
            [group.pk, *params],
        )
        added = cursor.rowcount
    _group_audit(user, group, added=added)
    return added


@transaction.atomic
def group_remove_contacts(*, group: ContactGroup, contacts: QuerySet[Contact], user=None) -> int:
    """Remove every contact of `contacts` from `group`; return how many left it.

    Members who unsubscribed from it stay on record (their opt-out must outlive a removal and
    a later re-add)."""
    deleted, _ = (
        Membership.objects.filter(group=group, contact__in=contacts.order_by().values("pk"))
        .exclude(status=MembershipStatus.UNSUBSCRIBED)
        .delete()
    )
    _group_audit(user, group, removed=deleted)
    return deleted


def _group_audit(user, group: ContactGroup, *, added: int = 0, removed: int = 0) -> None:
    """Audit a membership change (`added` or `removed` contacts), in the workspace's language."""
    if user is None:
        return
    with workspace_language():
        if removed:
            detail = ngettext("Removed %(count)s contact", "Removed %(count)s contacts", removed)
        else:
            detail = ngettext("Added %(count)s contact", "Added %(count)s contacts", added)
        detail %= {"count": number(removed or added)}
    audit_record(user=user, verb=AuditVerb.GROUP_CHANGED, obj=group, detail=detail)


# Apps above contacts whose rows point at contacts (campaign recipients) register a hook
# here from their AppConfig.ready(): contacts never imports them, and calls each hook with
# the contacts about to be deleted so the app can let go of them in its own tables.
_DELETE_HOOKS: list[Callable[..., object]] = []


def register_contact_delete_hook(hook: Callable[..., object]) -> None:
    """Have `hook(contacts=<QuerySet>)` called inside contact_delete_many before deleting."""
    if hook not in _DELETE_HOOKS:
        _DELETE_HOOKS.append(hook)


@transaction.atomic
@transaction.atomic
def contact_delete_many(*, contacts: QuerySet[Contact]) -> int:
    """Delete contacts and their list memberships in two statements; return how many.

    The contacts are locked first: one being joined to a list meanwhile (an import, a
    form) is deleted once that commits, memberships included, and one joined after the
    lock waits and is refused there, so the delete never fails on a new membership."""
    contacts = contacts.order_by()
    through = sql.Identifier(Contact.groups.through._meta.db_table)
    table = sql.Identifier(Contact._meta.db_table)
    query, params = contacts.values("pk").query.sql_with_params()
    ids = sql.SQL(query)  # the ORM's own SQL
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("SELECT 1 FROM {} WHERE id IN ({}) ORDER BY id FOR UPDATE").format(table, ids),
            params,
        )
    for hook in _DELETE_HOOKS:
        hook(contacts=contacts)
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("DELETE FROM {} WHERE contact_id IN ({})").format(through, ids), params
        )
        cursor.execute(sql.SQL("DELETE FROM {} WHERE id IN ({})").format(table, ids), params)
        return cursor.rowcount


BULK_LIMIT = 1000
BULK_TOO_MANY = gettext_lazy("Send at most {limit} contacts per request.")


@transaction.atomic
def contact_bulk_upsert(*, items: list[dict], source: str = "api") -> dict:
    """Create or update up to 1,000 contacts in one statement; all or nothing.

    Each item has `email` and any of first_name, last_name, phone, language, timezone,
    status, attributes. Existing contacts keep values the item leaves out, and a suppressed
    contact is never made subscribed again. New addresses erased at their owner's request
    are left out and counted (`erased`).
    """
    if len(items) > BULK_LIMIT:
        raise ValidationError({"items": [BULK_TOO_MANY.format(limit=number(BULK_LIMIT))]})
    types = attribute_types()
    for index, item in enumerate(items):
        try:
            attributes_check(item.get("attributes") or {}, types=types)
        except ValidationError as error:
            raise ValidationError(
                {f"contacts[{index}].attributes": error.message_dict["attributes"]}
            ) from error
    emails = [email_normalize(item["email"]) for item in items]
    keys = [email.lower() for email in emails]
    table = sql.Identifier(Contact._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("SELECT lower(email) FROM {} WHERE lower(email) = ANY(%s)").format(table),
            [keys],
        )
        existing = {row[0] for row in cursor.fetchall()}
    erased = erased_among(e for e, key in zip(emails, keys, strict=True) if key not in existing)
    if erased:
        kept = [i for i, email in enumerate(emails) if address_key(email) not in erased]
        items, emails = [items[i] for i in kept], [emails[i] for i in kept]
        keys = [keys[i] for i in kept]
    new = len(set(keys) - existing)
    if new:
        contact_limit_check(adding=new)
    now = timezone.now()
    columns = ["first_name", "last_name", "phone", "language", "timezone", "status"]
    arrays = {name: [item.get(name) for item in items] for name in columns}
    attributes = [json.dumps(item.get("attributes") or {}) for item in items]
    # A suppressed contact keeps its status, and the time and source of it.
    resubscribes = status_resubscribes_sql("c.status", "EXCLUDED.status")
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL(
                """
                INSERT INTO {table} AS c (email, first_name, last_name, phone,
                    language, timezone, attributes, status, status_changed_at, status_source,
                    consent_at, consent_source, soft_bounces, created_at, updated_at)
                SELECT u.email, coalesce(u.first_name, ''), coalesce(u.last_name, ''),
                    coalesce(u.phone, ''), coalesce(u.language, ''), coalesce(u.timezone, ''),
                    u.attributes, coalesce(u.status, 'subscribed'), %(now)s, %(source)s,
                    CASE WHEN coalesce(u.status, 'subscribed') = 'subscribed' THEN %(now)s END,
                    CASE WHEN coalesce(u.status, 'subscribed') = 'subscribed' THEN %(source)s
                        ELSE '' END,
                    0, %(now)s, %(now)s
                FROM unnest(%(emails)s::text[], %(first_name)s::text[], %(last_name)s::text[],
                    %(phone)s::text[], %(language)s::text[], %(timezone)s::text[],
                    %(attributes)s::jsonb[], %(status)s::text[])
                    AS u(email, first_name, last_name, phone, language, timezone, attributes,
                         status)
                ON CONFLICT (lower(email)) DO UPDATE SET
                    first_name = coalesce(NULLIF(EXCLUDED.first_name, ''), c.first_name),
                    last_name = coalesce(NULLIF(EXCLUDED.last_name, ''), c.last_name),
                    phone = coalesce(NULLIF(EXCLUDED.phone, ''), c.phone),
                    language = coalesce(NULLIF(EXCLUDED.language, ''), c.language),
                    timezone = coalesce(NULLIF(EXCLUDED.timezone, ''), c.timezone),
                    attributes = c.attributes || EXCLUDED.attributes,
                    status = {status},
                    status_changed_at = CASE WHEN c.status <> EXCLUDED.status
                        AND NOT {resubscribes}
                        THEN EXCLUDED.status_changed_at ELSE c.status_changed_at END,
                    status_source = CASE WHEN c.status <> EXCLUDED.status
                        AND NOT {resubscribes}
                        THEN EXCLUDED.status_source ELSE c.status_source END,
                    updated_at = EXCLUDED.updated_at
                """
            ).format(
                table=table,
                status=status_merge_sql("c.status", "EXCLUDED.status"),
                resubscribes=resubscribes,
            ),
            {
                "now": now,
                "source": source,
                "emails": emails,
                "attributes": attributes,
                **arrays,
            },
        )
    return {"created": new, "updated": len(set(keys)) - new, "erased": len(erased)}
