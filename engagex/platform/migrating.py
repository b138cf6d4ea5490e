"""Keep the public schema, the workspace template and every workspace migrated.

`migrate_schemas` loads Django's migration executor once per schema even when nothing is
pending, which takes minutes over hundreds of workspaces. We compare each schema's
`django_migrations` rows with the migrations on disk first and migrate only what is behind.

Apps that live only in `public` (dj-stripe above all) change nothing in a workspace schema,
yet Django replays their migrations' model state there: dj-stripe's alone cost a minute per
schema. They are recorded as applied in workspace schemas up front instead (`_skip_shared_only`).
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


def _shared_only_migrations() -> list[tuple[str, str]]:
    """Migrations of public-only apps whose every dependency is public-only too, in order."""
    shared_only = _app_labels(settings.SHARED_APPS) - _app_labels(settings.TENANT_APPS)
    loader = MigrationLoader(None, ignore_no_migrations=True, load=True)
    graph = loader.graph
    keys = []
    for key in graph.leaf_nodes():
        if key[0] in shared_only:
            keys.extend(graph.forwards_plan(key))
    ordered = list(dict.fromkeys(keys))
    if any(app not in shared_only for app, _ in ordered):
        ordered = [
            key for key in ordered if all(app in shared_only for app, _ in graph.forwards_plan(key))
        ]
    return ordered


def _skip_shared_only(schema: str) -> None:
    """Record public-only apps' migrations as applied in a workspace schema (no tables there)."""
    missing = [key for key in _shared_only_migrations() if key not in _applied(schema)]
    if not missing:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            f'CREATE TABLE IF NOT EXISTS "{schema}".django_migrations ('
            "id bigserial PRIMARY KEY, app varchar(255) NOT NULL, name varchar(255) NOT NULL, "
            "applied timestamptz NOT NULL)"
        )
        cursor.executemany(
            f'INSERT INTO "{schema}".django_migrations (app, name, applied) '  # noqa: S608
            "VALUES (%s, %s, now())",
            missing,
        )


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
        _skip_shared_only(template)
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
    for schema in behind:
        _skip_shared_only(schema)
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
