"""Writes to the tenants app's own tables that apps above it need (provisioning, which
creates and deletes workspaces, is `engagex.platform.provisioning`, at the top)."""

import datetime

from django.db import connection
from django_tenants.utils import get_public_schema_name
from psycopg import sql

from tenants.models import DailySends


def daily_sends_add(*, tenant_id: int, sends: int, day: datetime.date | None = None) -> None:
    """Add `sends` to the workspace's count for `day` (today in the database by default).

    One statement, safe under concurrent batches; callable from inside any workspace's
    schema (the table lives in the public schema).
    """
    table = sql.Identifier(get_public_schema_name(), DailySends._meta.db_table)
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL(
                """
                INSERT INTO {table} AS d (tenant_id, day, sends)
                VALUES (%s, coalesce(%s, current_date), %s)
                ON CONFLICT (tenant_id, day) DO UPDATE SET sends = d.sends + EXCLUDED.sends
                """
            ).format(table=table),
            [tenant_id, day, sends],
        )
