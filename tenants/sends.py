"""Emails each workspace sent per day, for the platform dashboard (the tenants app's table).

Kept apart from `tenants.services` (provisioning, which sits at the top of the stack) so
that the sending pipeline, lower down, can record its sends here.
"""

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
