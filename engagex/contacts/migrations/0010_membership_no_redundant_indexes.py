"""Memberships lose the foreign keys' single-column indexes (from the days of the automatic
many-to-many table): `(contact, group)` and `(group, status, contact)` start with the same
columns and serve every lookup and both cascades.

Only the indexes are dropped. Django's AlterField for `db_index=False` would also drop and
re-add both foreign keys, which re-checks every membership under a lock, per workspace.
"""

import django.db.models.deletion
from django.db import migrations, models


def drop_single_column_indexes(apps, schema_editor):
    """Drop the plain (non-unique, non-constraint) btree indexes on exactly contact_id or
    exactly group_id, whatever they were named."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT i.relname FROM pg_index x
            JOIN pg_class t ON t.oid = x.indrelid
            JOIN pg_class i ON i.oid = x.indexrelid
            JOIN pg_namespace n ON n.oid = t.relnamespace
            JOIN pg_attribute a ON a.attrelid = t.oid AND a.attnum = x.indkey[0]
            WHERE t.relname = 'contacts_membership' AND n.nspname = current_schema()
              AND x.indnatts = 1 AND NOT x.indisunique AND NOT x.indisprimary
              AND x.indexprs IS NULL AND x.indpred IS NULL
              AND a.attname IN ('contact_id', 'group_id')
              AND NOT EXISTS (SELECT 1 FROM pg_constraint c WHERE c.conindid = x.indexrelid)
            """
        )
        for (name,) in cursor.fetchall():
            cursor.execute(f'DROP INDEX "{name}"')


def add_single_column_indexes(apps, schema_editor):
    with schema_editor.connection.cursor() as cursor:
        cursor.execute("CREATE INDEX ON contacts_membership (contact_id)")
        cursor.execute("CREATE INDEX ON contacts_membership (group_id)")


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0009_attribute_definitions_segment_indexes"),
    ]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunPython(drop_single_column_indexes, add_single_column_indexes),
            ],
            state_operations=[
                migrations.AlterField(
                    model_name="membership",
                    name="contact",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="memberships",
                        to="contacts.contact",
                        verbose_name="contact",
                    ),
                ),
                migrations.AlterField(
                    model_name="membership",
                    name="group",
                    field=models.ForeignKey(
                        db_index=False,
                        on_delete=django.db.models.deletion.CASCADE,
                        related_name="memberships",
                        to="contacts.contactgroup",
                        verbose_name="list",
                    ),
                ),
            ],
        ),
    ]
