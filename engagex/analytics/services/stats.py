from django.db import connection
from psycopg import sql

from engagex.analytics.models import CampaignStats


def stats_count_unsubscribe(*, campaign_id: int) -> None:
    """Count an unsubscribe that came through our own link (SendGrid's are counted at ingest)."""
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL(
                """
                INSERT INTO {stats} AS s (campaign_id, delivered, opens_total,
                    opens_unique, machine_opens, clicks_total, clicks_unique, bounces_hard,
                    bounces_soft, complaints, unsubscribes, dropped, deferred)
                VALUES (%s, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0, 0)
                ON CONFLICT (campaign_id) DO UPDATE SET unsubscribes = s.unsubscribes + 1
                """
            ).format(stats=sql.Identifier(CampaignStats._meta.db_table)),
            [campaign_id],
        )
