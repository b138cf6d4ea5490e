import json
from typing import NamedTuple

from django.db import connection
from django.db.models import CharField, Count, Exists, F, Func, OuterRef, Q, QuerySet
from django.db.models.functions import Lower

from engagex.contacts.models import (
    ConsentSettings,
    Contact,
    ContactGroup,
    ContactStatus,
    Membership,
    MembershipStatus,
)


def contact_list(*, filters: dict | None = None) -> QuerySet[Contact]:
    return Contact.objects.filter(**(filters or {}))


def contact_search(queryset: QuerySet[Contact], term: str) -> QuerySet[Contact]:
    """Match the start of the email, first name or last name ("ann smi" = first + last).

    Prefix matches on lower() are served by text_pattern_ops indexes, so a search stays fast
    on a million contacts, unlike `icontains` (a full scan).
    """
    term = " ".join(term.lower().split())
    if not term:
        return queryset
    queryset = queryset.alias(
        email_l=Lower("email"), first_l=Lower("first_name"), last_l=Lower("last_name")
    )
    if "@" in term:
        return queryset.filter(email_l__startswith=term)
    words = term.split(" ")
    if len(words) >= 2:
        return queryset.filter(
            Q(first_l__startswith=words[0], last_l__startswith=" ".join(words[1:]))
            | Q(email_l__startswith=term)
        )
    return queryset.filter(
        Q(email_l__startswith=term) | Q(first_l__startswith=term) | Q(last_l__startswith=term)
    )


def group_list() -> QuerySet[ContactGroup]:
    """Lists with their members counted by status (`reachable`: subscribed on the list and
    subscribed as a contact, i.e. whom a campaign to the list reaches)."""
    members = "memberships"
    return ContactGroup.objects.annotate(
        member_count=Count(members),
        subscribed_count=Count(members, filter=Q(memberships__status=MembershipStatus.SUBSCRIBED)),
        unconfirmed_count=Count(
            members, filter=Q(memberships__status=MembershipStatus.UNCONFIRMED)
        ),
        unsubscribed_count=Count(
            members, filter=Q(memberships__status=MembershipStatus.UNSUBSCRIBED)
        ),
        reachable_count=Count(
            members,
            filter=Q(
                memberships__status=MembershipStatus.SUBSCRIBED,
                memberships__contact__status=ContactStatus.SUBSCRIBED,
            ),
        ),
    )


def contacts_in_list(
    queryset: QuerySet[Contact], *, group_id: int | None, status: str | None
) -> QuerySet[Contact]:
    """Contacts on list `group_id` (any list, if None) with membership `status` (any)."""
    members = Membership.objects.filter(contact_id=OuterRef("pk"))
    if group_id is not None:
        members = members.filter(group_id=group_id)
    if status:
        members = members.filter(status=status)
    return queryset.filter(Exists(members))


def contact_preview_list(search: str, limit: int) -> list[Contact]:
    """Contacts whose email (or name) starts with `search`, for a template preview's picker."""
    return list(contact_search(Contact.objects.all(), search)[:limit])


def contact_get(contact_id: int) -> Contact | None:
    return Contact.objects.filter(pk=contact_id).first()


def contact_get_by_email(email: str) -> Contact | None:
    """The contact with `email`, ignoring case (served by the lower(email) index)."""
    return Contact.objects.alias(email_l=Lower("email")).filter(email_l=email.lower()).first()


def membership_list(contact: Contact) -> QuerySet[Membership]:
    """A contact's memberships (every status) with their lists, by list name."""
    return (
        Membership.objects.filter(contact=contact).select_related("group").order_by("group__name")
    )


def contact_attribute_names(sample: int) -> set[str]:
    """The custom attribute names the workspace's most recent `sample` contacts have."""
    recent = Contact.objects.order_by("-pk").values("pk")[:sample]
    return set(
        Contact.objects.filter(pk__in=recent)
        .annotate(kind=Func(F("attributes"), function="jsonb_typeof", output_field=CharField()))
        .filter(kind="object")
        .annotate(
            name=Func(F("attributes"), function="jsonb_object_keys", output_field=CharField())
        )
        .values_list("name", flat=True)
        .distinct()
    )


def consent_settings() -> ConsentSettings:
    """The workspace's consent settings (created with their defaults on first use)."""
    settings, _ = ConsentSettings.objects.get_or_create(pk=1)
    return settings


class MemberChanges(NamedTuple):
    """What `member_changes_since` found, and the statement that looked."""

    snapshot: str  # its snapshot (pg_current_snapshot() as text)
    schema: int  # the workspace schema's oid: a schema dropped and made again is another
    # Whether its transaction sees only committed rows (READ COMMITTED, nothing written).
    committed_only: bool
    # For each snapshot asked about: list → the contacts changed there, or None for "too many
    # to say" (the list `None`: whom no campaign reaches; EVERY_LIST: all of them).
    changed: list[dict[int | None, set | None]]


def member_changes_since(snapshots: list[str], lists: list[int]) -> MemberChanges:
    """For each snapshot given (`pg_current_snapshot()` as text), which of `lists` a
    transaction it did not see has changed since, and which contacts there (contacts 0016);
    also whether whom no campaign reaches changed, and whether every list may have (a
    prune). Only the rows written since the oldest snapshot's horizon are read."""
    with connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT pg_current_snapshot()::text, current_schema()::regnamespace::oid,
                current_setting('transaction_isolation') = 'read committed'
                    AND pg_current_xact_id_if_assigned() IS NULL,
                (SELECT coalesce(json_agg(json_build_array(s.i, c.group_id, c.contact_ids)), '[]')
                 FROM unnest(%s::text[]) WITH ORDINALITY AS s(snap, i)
                 JOIN contacts_memberchange c
                    ON c.xact >= pg_snapshot_xmin(s.snap::pg_snapshot)::text::bigint
                    AND NOT pg_visible_in_snapshot(c.xact::text::xid8, s.snap::pg_snapshot)
                 WHERE c.group_id IS NULL OR c.group_id = 0 OR c.group_id = ANY(%s))
            """,
            [snapshots, lists],
        )
        snapshot, schema, committed_only, rows = cursor.fetchone()
    changed: list[dict[int | None, set | None]] = [{} for _ in snapshots]
    for index, group_id, contact_ids in json.loads(rows) if isinstance(rows, str) else rows:
        seen = changed[index - 1]
        if contact_ids is None or seen.get(group_id, set()) is None:
            seen[group_id] = None
        else:
            seen.setdefault(group_id, set()).update(contact_ids)
    return MemberChanges(snapshot, int(schema), committed_only, changed)
