"""Exporting contacts becomes a permission of its own, given to Owners, Admins and Marketers.

Workspaces that exist already get it here, so a plain `migrate_schemas` is enough; new
schemas have no role groups yet (roles_sync creates them with the permission afterwards).
"""

from django.db import migrations

# Frozen copy of what engagex.accounts.roles.role_grants decides for "export".
EXPORTING_ROLES = ["Owner", "Admin", "Marketer"]


def grant_export_permission(apps, schema_editor):
    ContentType = apps.get_model("contenttypes", "ContentType")
    Permission = apps.get_model("auth", "Permission")
    Group = apps.get_model("auth", "Group")
    groups = list(Group.objects.filter(name__in=EXPORTING_ROLES))
    if not groups:
        return
    content_type, _ = ContentType.objects.get_or_create(app_label="contacts", model="contact")
    permission, _ = Permission.objects.get_or_create(
        content_type=content_type,
        codename="export_contact",
        defaults={"name": "Can export contacts"},
    )
    for group in groups:
        group.permissions.add(permission)


class Migration(migrations.Migration):
    dependencies = [
        ("contacts", "0002_contact_soft_bounces_contact_contact_created_idx"),
        ("auth", "0012_alter_user_first_name_max_length"),
        ("contenttypes", "0002_remove_content_type_name"),
    ]

    operations = [
        migrations.AlterModelOptions(
            name="contact",
            options={
                "ordering": ["-id"],
                "permissions": [("export_contact", "Can export contacts")],
                "verbose_name": "contact",
                "verbose_name_plural": "contacts",
            },
        ),
        migrations.RunPython(grant_export_permission, migrations.RunPython.noop),
    ]
