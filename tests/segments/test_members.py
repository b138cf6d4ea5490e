"""Counts of list rules from copies of the lists' members kept between counts
(segments/members.py): exact whatever other transactions do, and never another workspace's.

These run on committed data (outside the test's transaction), as a console process does: a
copy is kept only when nothing in its own transaction has written. Each test removes what it
made."""

import random
import threading

import psycopg
import pytest
from django.db import connection, transaction
from django.test.utils import CaptureQueriesContext
from django_tenants.utils import schema_context

from engagex.contacts.models import Contact, ContactGroup, MemberChange, Membership
from engagex.contacts.services.lists import member_changes_prune
from engagex.segments import members
from engagex.segments.selectors import segment_count
from tenants.models import Tenant
from tests.factories.contacts import ContactGroupFactory, MembershipFactory

STATUSES = ["subscribed"] * 4 + ["unsubscribed", "bounced"]
MEMBER_STATUSES = ["subscribed"] * 3 + ["unconfirmed", "unsubscribed"]


def on(group, op="is_member", **more):
    return {"field": "list", "op": op, "value": group.pk, **more}


def rule(*conditions):
    return {"version": 1, "match": "all", "conditions": list(conditions)}


def count(r) -> int:
    return segment_count(rule=r, sample=3)["sendable"]


def count_in(schema: str, r, into: list) -> None:
    """`count` in a thread of its own (its own connection), as another request would."""
    from django.db import connections

    try:
        with schema_context(schema):
            into.append(count(r))
    finally:
        connections.close_all()


def copies_made(queries) -> int:
    return sum("string_agg(int8send" in query["sql"] for query in queries.captured_queries)


def patches(queries) -> int:
    """Copies brought up to date by reading only the contacts a few statements changed."""
    return sum("WHERE r.id = ANY" in query["sql"] for query in queries.captured_queries)


@pytest.fixture
def committed(django_db_setup, django_db_blocker):
    """The `alpha` workspace, outside any test transaction; emptied of what the test made."""
    with django_db_blocker.unblock():
        tenant = Tenant.objects.get(slug="alpha")
        members.forget()
        with schema_context(tenant.schema_name):
            try:
                yield tenant
            finally:
                members.forget()
                Contact.objects.filter(email__endswith="@members.example").delete()
                ContactGroup.objects.filter(name__startswith="Members ").delete()
                MemberChange.objects.all().delete()


def other_connection(schema: str) -> psycopg.Connection:
    """A second session, as another worker's: its transaction is not ours."""
    db = connection.settings_dict
    keys = {"dbname": "NAME", "host": "HOST", "port": "PORT", "user": "USER"}
    other = psycopg.connect(
        **{key: db[name] for key, name in {**keys, "password": "PASSWORD"}.items() if db.get(name)}
    )
    other.execute(f'SET search_path TO "{schema}", public')
    return other


def add_member(session, contact: Contact, group: ContactGroup, status="subscribed") -> None:
    session.execute(
        "INSERT INTO contacts_membership (contact_id, group_id, status, source, consent_text,"
        " consent_user_agent, confirm_user_agent) VALUES (%s, %s, %s, 'console', '', '', '')",
        [contact.pk, group.pk, status],
    )


def people(n: int, group: ContactGroup, start: int = 0) -> list[Contact]:
    made = [
        MembershipFactory(group=group, contact__email=f"p{start + i}@members.example").contact
        for i in range(n)
    ]
    return made


def test_a_second_count_uses_the_copy_and_sees_every_committed_change(committed):
    news, events = ContactGroupFactory(name="Members N"), ContactGroupFactory(name="Members E")
    both = people(4, news)
    for contact in both[:2]:
        MembershipFactory(group=events, contact=contact)
    r = rule(on(news), on(events, "is_not_member"))

    with CaptureQueriesContext(connection) as first:
        assert count(r) == 2
    with CaptureQueriesContext(connection) as second:
        assert count(r) == 2
    assert copies_made(first) == 3  # Newsletter, Events, and the unreachable contacts
    assert copies_made(second) == 0

    # A sign-up on one list: that copy reads only the contact again.
    MembershipFactory(group=news, contact__email="late@members.example")
    with CaptureQueriesContext(connection) as third:
        assert count(r) == 3
    assert (copies_made(third), patches(third)) == (0, 1)
    Membership.objects.filter(group=events, contact=both[2]).delete()  # not there: no change
    Membership.objects.create(group=events, contact=both[2])
    assert count(r) == 2
    # Whom no campaign reaches: an unsubscribe, then a contact awaiting confirmation.
    Contact.objects.filter(pk=both[3].pk).update(status="unsubscribed")
    assert count(r) == 2 - 1
    pending = ContactGroupFactory(name="Members P")
    waiting = Contact.objects.create(email="w@members.example")
    MembershipFactory(group=pending, contact=waiting, status="unconfirmed")
    MembershipFactory(group=news, contact=waiting, status="unconfirmed")
    assert count(rule(on(pending, status="unconfirmed"))) == 0
    Membership.objects.filter(contact=waiting, group=pending).update(status="subscribed")
    assert count(rule(on(pending))) == 1
    assert count(r) == 1  # `waiting` is unconfirmed on Newsletter: not on it for the rule


def test_a_transaction_running_when_the_copy_was_made_is_seen_once_it_commits(committed):
    news = ContactGroupFactory(name="Members N")
    people(3, news)
    newcomer = Contact.objects.create(email="new@members.example")
    other = other_connection(connection.schema_name)
    try:
        add_member(other, newcomer, news)  # in the other session's open transaction
        assert count(rule(on(news))) == 3  # the copy is made without it
        assert count(rule(on(news))) == 3
        other.commit()
        assert count(rule(on(news))) == 4

        # One that starts, and writes, after the copy and commits later: the same.
        other.execute("DELETE FROM contacts_membership WHERE contact_id = %s", [newcomer.pk])
        assert count(rule(on(news))) == 4
        other.commit()
        assert count(rule(on(news))) == 3
        # Rolled back: nothing changed, and the count says so.
        add_member(other, newcomer, news)
        other.rollback()
        assert count(rule(on(news))) == 3
    finally:
        other.close()


def test_a_transaction_that_wrote_or_reads_an_older_snapshot_counts_by_rows(committed):
    news, events = ContactGroupFactory(name="Members N"), ContactGroupFactory(name="Members E")
    people(2, news)
    late = Contact.objects.create(email="late@members.example")
    assert count(rule(on(news), on(events, "is_not_member"))) == 2

    with transaction.atomic():
        MembershipFactory(group=news, contact__email="tx@members.example")
        with CaptureQueriesContext(connection) as inside:
            assert count(rule(on(news))) == 3  # its own row, seen inside
        transaction.set_rollback(True)
    assert copies_made(inside) == 0  # by rows: nothing of its own goes into a copy

    with CaptureQueriesContext(connection) as after:
        assert count(rule(on(news))) == 2
    assert copies_made(after) == 0  # the copy from before the transaction: still right

    # REPEATABLE READ: copies newer than its snapshot must not mix with it.
    other = other_connection(connection.schema_name)
    try:
        with transaction.atomic():
            with connection.cursor() as cursor:
                cursor.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
                cursor.execute("SELECT 1")  # its snapshot, from here on
            add_member(other, late, news)
            add_member(other, late, events)
            other.commit()
            # Another request of this process brings the copy of Newsletter up to date.
            schema = connection.schema_name
            elsewhere = threading.Thread(target=count_in, args=(schema, rule(on(news)), []))
            elsewhere.start()
            elsewhere.join()
            assert count(rule(on(news), on(events, "is_not_member"))) == 2  # as of its start
    finally:
        other.close()
    assert count(rule(on(news), on(events, "is_not_member"))) == 2  # late is on both now
    assert count(rule(on(news))) == 3


def test_a_transaction_over_two_workspaces_records_both_changes(committed):
    # A webhook batch suppresses bounces workspace by workspace, in one transaction.
    other_tenant = Tenant.objects.get(slug="beta")
    news = ContactGroupFactory(name="Members N")
    ours = people(2, news)
    with schema_context(other_tenant.schema_name):
        theirs_list = ContactGroupFactory(name="Members theirs")
        theirs = people(2, theirs_list)
    try:
        assert count(rule(on(news))) == 2
        with schema_context(other_tenant.schema_name):
            assert count(rule(on(theirs_list))) == 2
        with CaptureQueriesContext(connection) as warm:
            assert count(rule(on(news))) == 2
        assert copies_made(warm) == 0  # counted from the copies, as a console request would
        with transaction.atomic():
            Contact.objects.filter(pk=ours[0].pk).update(status="bounced")
            with schema_context(other_tenant.schema_name):
                Contact.objects.filter(pk=theirs[0].pk).update(status="bounced")

        assert count(rule(on(news))) == 1
        with schema_context(other_tenant.schema_name):
            assert count(rule(on(theirs_list))) == 1
    finally:
        with schema_context(other_tenant.schema_name):
            Contact.objects.filter(email__endswith="@members.example").delete()
            ContactGroup.objects.filter(name__startswith="Members ").delete()
            MemberChange.objects.all().delete()


def test_counts_from_copies_equal_the_contacts_query_on_randomised_changes(committed):
    from engagex.segments.selectors import reachable, segment_contacts

    rng = random.Random(17)
    lists = [ContactGroupFactory(name=f"Members {i}") for i in range(3)]
    contacts = Contact.objects.bulk_create(
        Contact(email=f"r{i}@members.example", status=rng.choice(STATUSES)) for i in range(400)
    )
    Membership.objects.bulk_create(
        Membership(contact=c, group=g, status=rng.choice(MEMBER_STATUSES))
        for c in contacts
        for g in lists
        if rng.random() < 0.5
    )
    a, b, c = lists
    rules = [
        rule(on(a)),
        rule(on(a), on(b, "is_not_member")),
        rule(on(a, status="unconfirmed"), on(c)),
        rule(on(b, status="any"), on(c, "is_not_member", status="unsubscribed")),
        rule(on(a), on(b), on(c, "is_not_member")),
    ]

    def check() -> None:
        for r in rules:
            counted = segment_count(rule=r, every_status=True)
            matching = segment_contacts(rule=r)
            assert (counted["sendable"], counted["matching"]) == (
                reachable(matching).count(),
                matching.count(),
            ), r
            ids = {row["pk"] for row in counted["sample"]}
            assert ids <= set(matching.values_list("pk", flat=True))

    check()
    with CaptureQueriesContext(connection) as warm:
        check()
    assert copies_made(warm) == 0  # the counts came from the copies
    for _round in range(6):  # a few sign-ups and changes, then one big statement
        for contact in rng.sample(contacts, 5):
            group = rng.choice(lists)
            Membership.objects.filter(contact=contact, group=group).delete()
            if rng.random() < 0.7:
                Membership.objects.create(
                    contact=contact, group=group, status=rng.choice(MEMBER_STATUSES)
                )
        Contact.objects.filter(pk=rng.choice(contacts).pk).update(status=rng.choice(STATUSES))
        check()
    Membership.objects.filter(group=b).update(status="subscribed")
    check()


def test_a_prune_leaves_older_copies_stale_and_the_counts_right(committed):
    news = ContactGroupFactory(name="Members N")
    people(3, news)
    assert count(rule(on(news))) == 3
    MembershipFactory(group=news, contact__email="x@members.example")
    assert MemberChange.objects.filter(group_id=news.pk).exists()

    assert member_changes_prune() >= 1

    assert not MemberChange.objects.filter(group_id=news.pk).exists()
    assert MemberChange.objects.filter(group_id=MemberChange.EVERY_LIST).count() == 1
    with CaptureQueriesContext(connection) as after:
        assert count(rule(on(news))) == 4
    assert copies_made(after) >= 1  # every copy before the prune is made again
    assert member_changes_prune() == 0  # nothing new: the marker stays, no copy goes stale
    with CaptureQueriesContext(connection) as again:
        assert count(rule(on(news))) == 4
    assert copies_made(again) == 0


def test_copies_never_cross_workspaces(committed):
    # The same list id in two workspaces: the same query, a copy each.
    news = ContactGroupFactory(name="Members N")
    people(3, news)
    assert count(rule(on(news))) == 3
    beta = Tenant.objects.get(slug="beta")
    with schema_context(beta.schema_name):
        try:
            theirs = ContactGroup.objects.create(pk=news.pk, name="Members theirs")
            MembershipFactory(group=theirs, contact__email="b@members.example")
            assert count(rule(on(theirs))) == 1
        finally:
            Contact.objects.filter(email__endswith="@members.example").delete()
            ContactGroup.objects.filter(name__startswith="Members ").delete()
            MemberChange.objects.all().delete()
    assert count(rule(on(news))) == 3


def test_a_statement_over_many_contacts_reads_the_list_again(committed):
    news = ContactGroupFactory(name="Members N")
    people(2, news)
    assert count(rule(on(news))) == 2
    many = Contact.objects.bulk_create(Contact(email=f"m{i}@members.example") for i in range(1_001))
    Membership.objects.bulk_create(Membership(contact=c, group=news) for c in many)

    with CaptureQueriesContext(connection) as after:
        assert count(rule(on(news))) == 1_003
    assert (copies_made(after), patches(after)) == (1, 0)

    # A few leave again, one by one and in a statement: read again only them.
    Membership.objects.filter(contact__in=many[:3]).delete()
    Membership.objects.filter(contact=many[3]).update(status="unsubscribed")
    with CaptureQueriesContext(connection) as fewer:
        assert count(rule(on(news))) == 999
        assert count(rule(on(news, status="unsubscribed"))) == 1
    assert patches(fewer) == 1  # the subscribed copy; the unsubscribed one is new


def test_a_workspace_made_again_under_the_same_name_does_not_meet_old_copies(committed):
    from engagex.platform.provisioning import tenant_create, tenant_delete

    def workspace():
        with schema_context("public"):
            return tenant_create(
                name="Members again", slug="members-again", owner_email="o@members.example",
                send_invitation=False,
            ).tenant  # fmt: skip

    first = workspace()
    try:
        with schema_context(first.schema_name):
            gone = ContactGroupFactory(name="Members N")
            people(3, gone)
            assert count(rule(on(gone))) == 3
    finally:
        with schema_context("public"):
            tenant_delete(tenant=first)
    again = workspace()
    try:
        with schema_context(again.schema_name):
            fresh = ContactGroupFactory(name="Members N")
            assert fresh.pk == gone.pk  # the same list id, the same query
            assert count(rule(on(fresh))) == 0
    finally:
        with schema_context("public"):
            tenant_delete(tenant=again)
