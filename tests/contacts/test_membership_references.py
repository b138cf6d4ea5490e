"""Memberships name an existing contact and list: checked by statement (contacts 0012, 0013)."""

import importlib
import threading

import psycopg
import pytest
from django.db import IntegrityError, connection, transaction

from engagex.contacts.models import Contact, ContactGroup, MemberChange, Membership
from tests.factories.contacts import ContactFactory, ContactGroupFactory, MembershipFactory


def _delete(table: str, pk: int, *, memberships: list | None = None) -> None:
    """Delete by raw SQL (no cascade), after `memberships`."""
    with transaction.atomic(), connection.cursor() as cursor:
        if memberships:
            cursor.execute("DELETE FROM contacts_membership WHERE id = ANY(%s)", [memberships])
        cursor.execute(f"DELETE FROM {table} WHERE id = %s", [pk])  # noqa: S608


def test_a_bulk_insert_naming_a_missing_contact_stores_none_of_its_rows(in_tenant):
    group = ContactGroupFactory()
    real = ContactFactory.create_batch(3)
    rows = [Membership(contact_id=c.pk, group=group) for c in real]
    rows.append(Membership(contact_id=max(c.pk for c in real) + 1000, group=group))

    with pytest.raises(IntegrityError, match="membership_contact_exists"), transaction.atomic():
        Membership.objects.bulk_create(rows)

    assert not Membership.objects.exists()


@pytest.mark.parametrize("missing", ["contact", "list"])
def test_rows_naming_the_same_contacts_and_lists_are_checked_once_each(in_tenant, missing):
    """Each contact and list counts once however many rows name it: all present is stored,
    one missing among them refuses the whole statement."""
    lists = ContactGroupFactory.create_batch(2)
    real = ContactFactory.create_batch(4)
    rows = [Membership(contact_id=c.pk, group=g) for c in real for g in lists]

    Membership.objects.bulk_create(rows[:4])
    assert Membership.objects.count() == 4

    if missing == "contact":
        gone = max(c.pk for c in real) + 1000
        rest = rows[4:] + [Membership(contact_id=gone, group=g) for g in lists]
    else:
        gone = max(g.pk for g in lists) + 1000
        rest = rows[4:] + [Membership(contact=c, group_id=gone) for c in real]
    refused = {"contact": "membership_contact_exists", "list": "membership_group_exists"}
    with pytest.raises(IntegrityError, match=refused[missing]), transaction.atomic():
        Membership.objects.bulk_create(rest)

    assert Membership.objects.count() == 4


def test_a_membership_naming_a_missing_list_is_refused(in_tenant):
    contact = ContactFactory()
    missing = ContactGroupFactory()
    missing_id = missing.pk
    missing.delete()

    with pytest.raises(IntegrityError, match="membership_group_exists"), transaction.atomic():
        Membership.objects.create(contact=contact, group_id=missing_id)

    assert not Membership.objects.exists()


def test_moving_a_membership_to_a_missing_contact_is_refused(in_tenant):
    membership = MembershipFactory()
    contact_id = membership.contact_id

    with pytest.raises(IntegrityError, match="membership_contact_exists"), transaction.atomic():
        Membership.objects.filter(pk=membership.pk).update(contact_id=contact_id + 1000)

    assert Membership.objects.get().contact_id == contact_id


@pytest.mark.parametrize("table", ["contacts_contact", "contacts_contactgroup"])
def test_deleting_what_a_membership_names_fails(in_tenant, table):
    """Without Django's cascade (raw SQL), the delete fails and deletes nothing; after its
    memberships it succeeds. (Django's own delete takes them along: test_lists.)"""
    membership = MembershipFactory()
    target = membership.contact_id if table == "contacts_contact" else membership.group_id

    with pytest.raises(IntegrityError, match="still named by a membership"):
        _delete(table, target)

    assert Membership.objects.filter(pk=membership.pk).exists()
    assert Contact.objects.filter(pk=membership.contact_id).exists()
    assert ContactGroup.objects.filter(pk=membership.group_id).exists()
    _delete(table, target, memberships=[membership.pk])
    assert not Membership.objects.exists()
    model = Contact if table == "contacts_contact" else ContactGroup
    assert not model.objects.filter(pk=target).exists()


def test_changing_a_named_id_is_refused(in_tenant):
    membership = MembershipFactory()

    with pytest.raises(IntegrityError, match="still named by a membership"), transaction.atomic():
        Contact.objects.filter(pk=membership.contact_id).update(id=membership.contact_id + 1000)

    assert Contact.objects.filter(pk=membership.contact_id).exists()


def test_triggers_are_in_every_workspace(in_tenant, other_tenant):
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname, count(*) FROM pg_trigger t "
            "JOIN pg_class c ON c.oid = t.tgrelid JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE (t.tgname LIKE 'membership\\_%%' OR t.tgname LIKE 'contact\\_reach\\_%%') "
            "AND n.nspname IN (%s, %s) GROUP BY 1",
            [in_tenant.schema_name, other_tenant.schema_name],
        )
        # Six for references (contacts 0012), three for awaiting confirmation (0015), three
        # on memberships and three on contacts for the member changes (0016).
        expected = 6 + 3 + 3 + 3
        assert dict(cursor.fetchall()) == {
            in_tenant.schema_name: expected,
            other_tenant.schema_name: expected,
        }


def _connect(schema: str) -> psycopg.Connection:
    settings = connection.settings_dict
    conn = psycopg.connect(
        dbname=settings["NAME"],
        user=settings["USER"],
        password=settings["PASSWORD"],
        host=settings["HOST"],
        port=settings["PORT"] or None,
        autocommit=True,
    )
    conn.execute(f'SET search_path = "{schema}", public')
    return conn


@pytest.fixture
def committed(django_db_setup, django_db_blocker):
    """Two connections to workspace beta and a committed contact and list there."""
    with django_db_blocker.unblock():
        first, second = _connect("beta"), _connect("beta")
    contact_id = first.execute(
        "INSERT INTO contacts_contact (email, first_name, last_name, phone, language, "
        "timezone, attributes, status, status_source, consent_source, created_at, "
        "updated_at) VALUES ('locked@example.com', '', '', '', '', '', '{}', "
        "'subscribed', '', '', now(), now()) RETURNING id"
    ).fetchone()[0]
    group_id = first.execute(
        "INSERT INTO contacts_contactgroup (name, description, opt_in, visibility, "
        "created_at) VALUES ('Locked list', '', 'single', 'private', now()) RETURNING id"
    ).fetchone()[0]
    yield first, second, contact_id, group_id
    for conn in (first, second):
        if conn.info.transaction_status != psycopg.pq.TransactionStatus.IDLE:
            conn.execute("ROLLBACK")
    first.execute("DELETE FROM contacts_membership WHERE contact_id = %s", [contact_id])
    first.execute("DELETE FROM contacts_contact WHERE id = %s", [contact_id])
    first.execute("DELETE FROM contacts_contactgroup WHERE id = %s", [group_id])
    first.close()
    second.close()


MEMBER = (
    "INSERT INTO contacts_membership (contact_id, group_id, status, status_changed_at, "
    "source, consent_text) VALUES (%s, %s, 'subscribed', now(), 'api', '')"
)


def _in_thread(call) -> tuple[threading.Thread, dict]:
    outcome: dict = {}

    def run():
        try:
            call()
            outcome["done"] = True
        except psycopg.errors.ForeignKeyViolation as error:
            outcome["error"] = error

    worker = threading.Thread(target=run)
    worker.start()
    worker.join(timeout=1)
    return worker, outcome


def test_a_contact_being_joined_to_a_list_cannot_be_deleted_meanwhile(committed):
    """The insert locks the contact until it commits, as a foreign key's check does: a delete
    waits for it, then fails on the membership; the contact and its membership stay."""
    adder, deleter, contact_id, group_id = committed
    adder.execute("BEGIN")
    adder.execute(MEMBER, [contact_id, group_id])

    worker, outcome = _in_thread(
        lambda: deleter.execute("DELETE FROM contacts_contact WHERE id = %s", [contact_id])
    )
    assert worker.is_alive()  # waiting for the adder's lock
    adder.execute("COMMIT")
    worker.join(timeout=30)

    assert "still named by a membership" in str(outcome.get("error"))
    assert adder.execute(
        "SELECT count(*) FROM contacts_membership WHERE contact_id = %s", [contact_id]
    ).fetchone() == (1,)


def test_a_contact_being_deleted_cannot_be_joined_to_a_list_meanwhile(committed):
    """The other order: the insert waits for the delete, then finds no contact."""
    adder, deleter, contact_id, group_id = committed
    deleter.execute("BEGIN")
    deleter.execute("DELETE FROM contacts_contact WHERE id = %s", [contact_id])

    worker, outcome = _in_thread(lambda: adder.execute(MEMBER, [contact_id, group_id]))
    assert worker.is_alive()  # waiting for the deleter
    deleter.execute("COMMIT")
    worker.join(timeout=30)

    assert "membership_contact_exists" in str(outcome.get("error"))
    assert adder.execute(
        "SELECT count(*) FROM contacts_membership WHERE contact_id = %s", [contact_id]
    ).fetchone() == (0,)


def _references() -> tuple[int, int]:
    """(foreign keys on memberships, membership triggers) in this workspace."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT (SELECT count(*) FROM pg_constraint WHERE contype = 'f' "
            "AND conrelid = 'contacts_membership'::regclass), "
            "(SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "WHERE c.relnamespace = current_schema()::regnamespace "
            "AND t.tgname LIKE 'membership\\_%%' "
            "AND t.tgname NOT LIKE 'membership\\_awaiting\\_%%' "  # contacts 0015's
            "AND t.tgname NOT LIKE 'membership\\_members\\_%%')"  # and 0016's
        )
        return cursor.fetchone()


def test_the_migration_goes_back_to_foreign_keys_and_forward_again(in_tenant):
    from django.db.migrations.executor import MigrationExecutor

    def migrate(target):
        executor = MigrationExecutor(connection)
        executor.loader.build_graph()
        executor.migrate([("contacts", target)])

    membership = MembershipFactory()
    assert _references() == (0, 6)
    assert _check_source() == _body(_migration("0013_membership_check_in_id_order").CHECK)

    migrate("0012_membership_references_by_statement")  # 0013 undone: 0012's check again
    assert _check_source() == _body(_migration("0012_membership_references_by_statement").FUNCTIONS)
    migrate("0011_domain_and_attribute_indexes_with_status")
    assert _references() == (2, 0)
    migrate("0013_membership_check_in_id_order")

    assert _references() == (0, 6)
    assert _check_source() == _body(_migration("0013_membership_check_in_id_order").CHECK)
    assert Membership.objects.get().pk == membership.pk
    migrate("0015_contact_awaiting_confirmation")  # and 0015's triggers come back
    membership.status = "unconfirmed"
    membership.save()
    assert Contact.objects.get(pk=membership.contact_id).awaiting_confirmation
    migrate("0016_member_changes")  # and 0016's, which record the change
    membership.status = "subscribed"
    membership.save()
    assert MemberChange.objects.filter(group_id=membership.group_id).count() == 1


def _migration(name: str):
    return importlib.import_module(f"engagex.contacts.migrations.{name}")


def _body(functions: str) -> str:
    """The body of contacts_membership_added() as a migration's SQL writes it."""
    after = functions.split("contacts_membership_added() RETURNS trigger", 1)[1]
    return after.split("$$", 2)[1]


def _check_source() -> str:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT prosrc FROM pg_proc WHERE proname = 'contacts_membership_added' "
            "AND pronamespace = current_schema()::regnamespace"
        )
        return cursor.fetchone()[0]


@pytest.mark.parametrize("deleted", ["contact", "list"])
def test_deleting_a_contact_or_list_being_joined_waits_and_takes_the_membership(
    committed, django_db_blocker, deleted
):
    """`contact_delete_many` (erasure, the API, the console) and `group_delete_many` (the
    console's and the API's list delete) lock their rows first: a delete that meets an
    uncommitted membership waits for it, then deletes it too."""
    from django_tenants.utils import schema_context

    from engagex.contacts.services.contacts import contact_delete_many
    from engagex.contacts.services.lists import group_delete_many

    adder, _, contact_id, group_id = committed
    adder.execute("BEGIN")
    adder.execute(MEMBER, [contact_id, group_id])
    table, column, pk = (
        ("contacts_contact", "contact_id", contact_id)
        if deleted == "contact"
        else ("contacts_contactgroup", "group_id", group_id)
    )

    def delete():
        try:
            with schema_context("beta"):
                if deleted == "contact":
                    contact_delete_many(contacts=Contact.objects.filter(pk=pk))
                else:
                    group_delete_many(groups=ContactGroup.objects.filter(pk=pk))
        finally:
            connection.close()

    with django_db_blocker.unblock():
        worker, outcome = _in_thread(delete)
        assert worker.is_alive()  # waiting for the adder's lock
        adder.execute("COMMIT")
        worker.join(timeout=30)

    assert outcome == {"done": True}
    assert adder.execute(
        f"SELECT (SELECT count(*) FROM {table} WHERE id = %(id)s), "  # noqa: S608
        f"(SELECT count(*) FROM contacts_membership WHERE {column} = %(id)s)",
        {"id": pk},
    ).fetchone() == (0, 0)
