"""The one status rule (engagex/contacts/services/status.py): its SQL decides as its Python."""

import itertools

import pytest
from django.db import connection
from django.utils import timezone
from psycopg import sql

from engagex.contacts.models import Contact, ContactStatus
from engagex.contacts.services.status import (
    Suppression,
    contacts_suppress,
    status_merge_sql,
    status_raises,
    status_raises_sql,
    status_resubscribes,
    status_suppressible_sql,
)
from tests.factories.contacts import ContactFactory

PAIRS = list(itertools.product(ContactStatus.values, repeat=2))


def test_only_making_a_suppressed_contact_subscribed_is_a_resubscription():
    resubscribing = {pair for pair in PAIRS if status_resubscribes(*pair)}

    assert resubscribing == {
        ("unsubscribed", "subscribed"),
        ("bounced", "subscribed"),
        ("complained", "subscribed"),
    }


def test_the_sql_rules_decide_as_the_python_ones(in_tenant):
    rows = sql.SQL(", ").join(
        sql.SQL("({}, {})").format(sql.Literal(old), sql.Literal(new)) for old, new in PAIRS
    )
    query = sql.SQL(
        "SELECT v.old, v.new, {merge}, {raises}, {suppressible} FROM (VALUES {rows}) AS v(old, new)"
    ).format(
        merge=status_merge_sql("v.old", "v.new"),
        raises=status_raises_sql("v.old", "v.new"),
        suppressible=status_suppressible_sql("v.old"),
        rows=rows,
    )
    with connection.cursor() as cursor:
        cursor.execute(query)
        found = {(old, new): rest for old, new, *rest in cursor.fetchall()}

    assert found == {
        (old, new): [
            old if status_resubscribes(old, new) else new,
            status_raises(old, new),
            old == ContactStatus.SUBSCRIBED,
        ]
        for old, new in PAIRS
    }


def test_suppressing_refuses_a_status_that_does_not_suppress(in_tenant):
    contact = ContactFactory(status=ContactStatus.UNSUBSCRIBED)

    with pytest.raises(ValueError, match="not a suppressed status"):
        contacts_suppress(
            suppressions={contact.pk: Suppression("subscribed", "a mistake", timezone.now())}
        )

    assert Contact.objects.get().status == ContactStatus.UNSUBSCRIBED
