"""The PostgreSQL table of the shared cache (config/settings/cache.py), in the public schema.

Created whatever the running settings' cache is (Redis, or the tests' memory cache), so every
database a server may later use with the database cache has it.
"""

from django.db import migrations

CACHE_TABLE = "engagex_cache"  # config.settings.cache.CACHE_TABLE


def create_cache_table(apps, schema_editor):
    from django.core.management.commands.createcachetable import Command

    command = Command()
    command.verbosity = 0
    command.create_table(schema_editor.connection.alias, CACHE_TABLE, dry_run=False)


def drop_cache_table(apps, schema_editor):
    schema_editor.execute(f'DROP TABLE IF EXISTS "{CACHE_TABLE}"')


class Migration(migrations.Migration):
    dependencies = []

    operations = [migrations.RunPython(create_cache_table, drop_cache_table)]
