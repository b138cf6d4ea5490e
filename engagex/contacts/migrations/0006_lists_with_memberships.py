"""Groups become lists with a status per member.

The automatic many-to-many table keeps its rows in place (renamed, not copied: a million
memberships move in milliseconds); every existing member becomes a subscribed member, with
`migration` as its consent source, of a private single-opt-in list. This is Django's recipe
for giving a ManyToManyField a `through` model (SeparateDatabaseAndState).
"""

import django.db.models.deletion
from django.db import migrations, models

OLD_TABLE = "contacts_contact_groups"


def rename_unique_constraint(apps, schema_editor):
    """The automatic table's unique (contact, group) constraint gets the model's name."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            """
            SELECT con.conname FROM pg_constraint con
            JOIN pg_class rel ON rel.oid = con.conrelid
            JOIN pg_namespace ns ON ns.oid = rel.relnamespace
            WHERE rel.relname = 'contacts_membership' AND ns.nspname = current_schema()
              AND con.contype = 'u'
            """
        )
        for (name,) in cursor.fetchall():
            if name != "contacts_membership_unique":
                cursor.execute(
                    f'ALTER TABLE contacts_membership RENAME CONSTRAINT "{name}" '
                    "TO contacts_membership_unique"
                )


def keep_consent_dates(apps, schema_editor):
    """A migrated member's consent is the contact's own, where one was recorded."""
    with schema_editor.connection.cursor() as cursor:
        cursor.execute(
            """
            UPDATE contacts_membership m SET consent_at = c.consent_at
            FROM contacts_contact c
            WHERE c.id = m.contact_id AND c.consent_at IS NOT NULL
            """
        )


class Migration(migrations.Migration):
    dependencies = [("contacts", "0005_translated_labels")]

    operations = [
        migrations.SeparateDatabaseAndState(
            database_operations=[
                migrations.RunSQL(
                    f"ALTER TABLE {OLD_TABLE} RENAME TO contacts_membership;"
                    "ALTER TABLE contacts_membership RENAME COLUMN contactgroup_id TO group_id;",
                    "ALTER TABLE contacts_membership RENAME COLUMN group_id TO contactgroup_id;"
                    f"ALTER TABLE contacts_membership RENAME TO {OLD_TABLE};",
                ),
                migrations.RunPython(rename_unique_constraint, migrations.RunPython.noop),
            ],
            state_operations=[
                migrations.CreateModel(
                    name="Membership",
                    fields=[
                        (
                            "id",
                            models.BigAutoField(
                                auto_created=True,
                                primary_key=True,
                                serialize=False,
                                verbose_name="ID",
                            ),
                        ),
                        (
                            "contact",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="memberships",
                                to="contacts.contact",
                                verbose_name="contact",
                            ),
                        ),
                        (
                            "group",
                            models.ForeignKey(
                                on_delete=django.db.models.deletion.CASCADE,
                                related_name="memberships",
                                to="contacts.contactgroup",
                                verbose_name="list",
                            ),
                        ),
                    ],
                    options={
                        "verbose_name": "list membership",
                        "verbose_name_plural": "list memberships",
                        "db_table": "contacts_membership",
                        "constraints": [
                            models.UniqueConstraint(
                                fields=("contact", "group"), name="contacts_membership_unique"
                            )
                        ],
                    },
                ),
                migrations.AlterField(
                    model_name="contact",
                    name="groups",
                    field=models.ManyToManyField(
                        blank=True,
                        related_name="contacts",
                        through="contacts.Membership",
                        to="contacts.contactgroup",
                        verbose_name="lists",
                    ),
                ),
            ],
        ),
        migrations.AddField(
            model_name="membership",
            name="status",
            field=models.CharField(
                choices=[
                    ("unconfirmed", "Unconfirmed"),
                    ("subscribed", "Subscribed"),
                    ("unsubscribed", "Unsubscribed"),
                ],
                db_default="subscribed",
                default="subscribed",
                max_length=20,
                verbose_name="status",
            ),
        ),
        migrations.AddField(
            model_name="membership",
            name="status_changed_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="status changed"),
        ),
        migrations.AddField(
            model_name="membership",
            name="source",
            field=models.CharField(
                choices=[
                    ("form", "Sign-up form"),
                    ("import", "Import"),
                    ("api", "API"),
                    ("console", "Console"),
                    ("automation", "Automation"),
                    ("preferences", "Preference centre"),
                    ("migration", "Group before lists had statuses"),
                ],
                db_default="migration",
                default="console",
                max_length=20,
                verbose_name="consent source",
            ),
        ),
        migrations.AddField(
            model_name="membership",
            name="consent_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="consent given"),
        ),
        migrations.AddField(
            model_name="membership",
            name="consent_text",
            field=models.TextField(
                blank=True,
                db_default="",
                help_text="What the person agreed to.",
                verbose_name="consent text",
            ),
        ),
        migrations.AddField(
            model_name="membership",
            name="consent_ip",
            field=models.GenericIPAddressField(
                blank=True, null=True, verbose_name="consent IP address"
            ),
        ),
        migrations.AddField(
            model_name="membership",
            name="consent_user_agent",
            field=models.CharField(
                blank=True, db_default="", max_length=400, verbose_name="consent user agent"
            ),
        ),
        migrations.AddField(
            model_name="membership",
            name="confirmed_at",
            field=models.DateTimeField(blank=True, null=True, verbose_name="confirmed"),
        ),
        migrations.AddField(
            model_name="membership",
            name="confirm_ip",
            field=models.GenericIPAddressField(
                blank=True, null=True, verbose_name="confirmation IP address"
            ),
        ),
        migrations.AddField(
            model_name="membership",
            name="confirm_user_agent",
            field=models.CharField(
                blank=True, db_default="", max_length=400, verbose_name="confirmation user agent"
            ),
        ),
        migrations.AddIndex(
            model_name="membership",
            index=models.Index(
                fields=["group", "status", "contact"], name="membership_group_status_idx"
            ),
        ),
        migrations.AddField(
            model_name="contactgroup",
            name="opt_in",
            field=models.CharField(
                choices=[
                    ("single", "Single opt-in: subscribed on sign-up"),
                    ("double", "Double opt-in: subscribed once they confirm by email"),
                ],
                default="single",
                max_length=10,
                verbose_name="opt-in",
            ),
        ),
        migrations.AddField(
            model_name="contactgroup",
            name="visibility",
            field=models.CharField(
                choices=[
                    ("private", "Private: only your team adds people"),
                    ("public", "Public: offered on sign-up forms and in the preference centre"),
                ],
                default="private",
                max_length=10,
                verbose_name="visibility",
            ),
        ),
        migrations.AlterField(
            model_name="contactgroup",
            name="description",
            field=models.CharField(
                blank=True,
                help_text="What subscribers get; shown on forms and in the preference centre.",
                max_length=255,
                verbose_name="public description",
            ),
        ),
        migrations.AlterModelOptions(
            name="contactgroup",
            options={"ordering": ["name"], "verbose_name": "list", "verbose_name_plural": "lists"},
        ),
        migrations.RunPython(keep_consent_dates, migrations.RunPython.noop),
    ]
