"""Contacts 0011: segment indexes take the status, typed attributes' indexes are rebuilt.
Contacts 0014: the status index turns ascending. Contacts 0015: they take the
awaiting-confirmation flag."""

from django.db import connection
from django.db.migrations.executor import MigrationExecutor

from engagex.contacts.models import AttributeDefinition
from tests.factories.contacts import ContactFactory


def _indexes() -> dict[str, str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE schemaname = current_schema()"
            " AND tablename = 'contacts_contact'"
        )
        return dict(cursor.fetchall())


def _migrate(target: str) -> None:
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([("contacts", target)])


def test_a_workspace_with_typed_attributes_migrates_forward_and_back(in_tenant):
    ContactFactory(attributes={"seats": 3, "plan": "pro"})
    _migrate("0010_membership_no_redundant_indexes")
    seats = AttributeDefinition.objects.create(name="seats", type="number")
    plan = AttributeDefinition.objects.create(name="plan", type="text")
    with connection.cursor() as cursor:  # the index 0010's code made for a number attribute
        cursor.execute(
            f"CREATE INDEX contact_attr_{seats.pk}_idx ON contacts_contact"
            " (((attributes ->> 'seats')::double precision))"
        )
    before = _indexes()
    assert "contact_attributes_gin_idx" in before
    assert f"contact_attr_{plan.pk}_idx" not in before

    _migrate("0011_domain_and_attribute_indexes_with_status")
    after = _indexes()
    assert "contact_attributes_gin_idx" not in after
    assert "contact_email_domain_idx" not in after
    assert after["contact_domain_status_idx"].endswith(", status)")
    assert after[f"contact_attr_{seats.pk}_idx"].endswith(", status)")
    assert "'seats'" in after[f"contact_attr_{seats.pk}_idx"]
    assert after[f"contact_attr_{plan.pk}_idx"].endswith("200), status)")

    _migrate("0010_membership_no_redundant_indexes")
    assert _indexes() == before
    _migrate("0011_domain_and_attribute_indexes_with_status")

    # Contacts 0015: the flag after the status, and back.
    _migrate("0015_contact_awaiting_confirmation")
    flagged = _indexes()
    assert flagged["contact_domain_reach_idx"].endswith(", status, awaiting_confirmation)")
    assert flagged[f"contact_attr_{seats.pk}_idx"].endswith(", status, awaiting_confirmation)")
    assert flagged[f"contact_attr_{plan.pk}_idx"].endswith("200), status, awaiting_confirmation)")
    _migrate("0014_contact_status_index_ascending")
    assert _indexes()[f"contact_attr_{plan.pk}_idx"].endswith("200), status)")
    _migrate("0015_contact_awaiting_confirmation")


def test_the_status_index_turns_ascending_and_back(in_tenant):
    """Contacts 0014: (status, id) ascending, so new contacts are appended at its end."""
    ContactFactory.create_batch(3)
    assert _indexes()["contact_status_idx"].endswith("(status, id)")

    _migrate("0013_membership_check_in_id_order")
    assert _indexes()["contact_status_idx"].endswith("(status, id DESC)")
    _migrate("0014_contact_status_index_ascending")

    assert _indexes()["contact_status_idx"].endswith("(status, id)")
