"""Keep the public schema, the workspace template and every workspace migrated.

`migrate_schemas` loads Django's migration executor once per schema even when nothing is
pending, which takes minutes over hundreds of workspaces. We compare each schema's
`django_migrations` rows with the migrations on disk first and migrate only what is behind.
"""

from django.apps import apps
from django.conf import settings
from django.core.management import call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django_tenants.utils import get_public_schema_name, schema_exists

from engagex.accounts.services import roles_sync
from tenants.selectors import workspace_list


def _app_labels(entries: list[str]) -> set[str]:
    """Map INSTALLED_APPS-style entries (module or AppConfig paths) to app labels."""
    return {
        config.label
        for config in apps.get_app_configs()
        if config.name in entries or f"{type(config).__module__}.{type(config).__name__}" in entries
    }


def _disk_migrations(app_names: list[str]) -> set[tuple[str, str]]:
    loader = MigrationLoader(None, ignore_no_migrations=True, load=True)
    labels = _app_labels(app_names)
    return {key for key in loader.disk_migrations if key[0] in labels}


def _applied(schema: str) -> set[tuple[str, str]]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass(%s)", [f'"{schema}".django_migrations'])
        if cursor.fetchone()[0] is None:
            return set()
        cursor.execute(f'SELECT app, name FROM "{schema}".django_migrations')  # noqa: S608
        return set(cursor.fetchall())


def pending_schemas(schemas: list[str], app_names: list[str]) -> list[str]:
    """Return the schemas missing at least one migration of `app_names`."""
    wanted = _disk_migrations(app_names)
    return [schema for schema in schemas if wanted - _applied(schema)]


def platform_migrate(
    *, executor: str = "standard", verbosity: int = 1, sync_roles: bool = False
) -> dict:
    """Migrate public, create/migrate the template schema, migrate workspaces; report counts."""
    public = get_public_schema_name()
    template = settings.TENANT_BASE_SCHEMA
    report = {"public": False, "template": False, "workspaces": 0}

    if pending_schemas([public], settings.SHARED_APPS):
        call_command("migrate_schemas", shared=True, interactive=False, verbosity=verbosity)
        report["public"] = True

    created = not schema_exists(template)
    if created:
        with connection.cursor() as cursor:
            cursor.execute(f'CREATE SCHEMA "{template}"')
    if created or pending_schemas([template], settings.TENANT_APPS):
        call_command(
            "migrate_schemas",
            tenant=True,
            schema_name=template,
            interactive=False,
            verbosity=verbosity,
        )
        report["template"] = True

    workspaces = list(workspace_list().values_list("schema_name", flat=True))
    behind = pending_schemas(workspaces, settings.TENANT_APPS)
    if len(behind) == 1:
        call_command(
            "migrate_schemas",
            tenant=True,
            schema_name=behind[0],
            interactive=False,
            verbosity=verbosity,
        )
    elif behind:
        call_command(
            "migrate_schemas",
            tenant=True,
            executor=executor,
            interactive=False,
            verbosity=verbosity,
        )
    report["workspaces"] = len(behind)

    if sync_roles or report["template"] or behind:
        _sync_roles([template] if report["template"] or sync_roles else [])
        _sync_roles(workspaces if sync_roles else behind)
    return report


def _sync_roles(schemas: list[str]) -> None:
    from django_tenants.utils import schema_context

    for schema in schemas:
        with schema_context(schema):
            roles_sync()
