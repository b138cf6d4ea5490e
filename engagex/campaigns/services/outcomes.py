"""What happened to recipients after sending (delivered, opened, bounced…), set in bulk.

The analytics app, above campaigns in the stack, learns these from SendGrid's events and
records them here: one statement per outcome for a whole batch of events. Campaigns also
lets go of contacts being deleted (a hook it registers with contacts, below it).
"""

from collections import Counter
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet
from psycopg import sql

from engagex.campaigns.models import OPEN_TIMES_KEPT, CampaignRecipient, ContactEngagement
from engagex.contacts.models import Contact

# Recipients' first-time outcome columns: each keeps the earliest time reported.
OUTCOME_FIELDS = frozenset(
    {"delivered_at", "opened_at", "clicked_at", "bounced_at", "complained_at",
     "unsubscribed_at", "dropped_at"}
)  # fmt: skip


def recipients_set_outcome(*, field: str, times: Mapping[int, datetime]) -> Counter:
    """Record each recipient's (by id) earliest time of an outcome; return, per campaign,
    how many recipients had none before.

    An earlier time that arrives late moves the recorded one back.
    """
    if field not in OUTCOME_FIELDS:
        raise ValueError(f"{field!r} is not a recipient outcome")
    if not times:
        return Counter()
    names = {
        "table": sql.Identifier(CampaignRecipient._meta.db_table),
        "column": sql.Identifier(field),
    }
    params: list[list[Any]] = [list(times), list(times.values())]
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL(
                """
                UPDATE {table} r SET {column} = v.t
                FROM unnest(%s::bigint[], %s::timestamptz[]) AS v(id, t)
                WHERE r.id = v.id AND r.{column} IS NULL
                RETURNING r.campaign_id
                """
            ).format(**names),
            params,
        )
        newly = Counter(row[0] for row in cursor.fetchall())
        cursor.execute(
            sql.SQL(
                """
                UPDATE {table} r SET {column} = v.t
                FROM unnest(%s::bigint[], %s::timestamptz[]) AS v(id, t)
                WHERE r.id = v.id AND r.{column} > v.t
                """
            ).format(**names),
            params,
        )
    return newly


def recipients_mark_hard_bounced(*, ids: list[int]) -> int:
    """Mark recipients' bounces as hard; return how many rows were updated."""
    return CampaignRecipient.objects.filter(pk__in=ids).update(bounce_type="hard")


@transaction.atomic
def recipients_detach_contacts(*, contacts: QuerySet[Contact]) -> int:
    """Unlink recipients from contacts about to be deleted, in one statement.

    The campaign's copy keeps its email address and outcome; only the link goes. The
    contacts' engagement summaries go with them in one statement (`engagex.detaching` tells
    the recipients' trigger not to recompute them one recipient at a time).
    """
    ids = contacts.values("pk")
    with connection.cursor() as cursor:  # for this transaction only, and only this update
        cursor.execute("SELECT set_config('engagex.detaching', 'on', true)")
        detached = CampaignRecipient.objects.filter(contact__in=ids).update(contact=None)
        cursor.execute("SELECT set_config('engagex.detaching', 'off', true)")
    ContactEngagement.objects.filter(contact__in=ids).delete()
    return detached


def recipients_forget_contacts(*, contacts: QuerySet[Contact]) -> int:
    """Blank the address (and failure texts, which may quote it) on the campaign copies of
    contacts being erased at their request; the outcomes stay for the campaign's counts."""
    return CampaignRecipient.objects.filter(contact__in=contacts.values("pk")).update(
        email="", error=""
    )


@transaction.atomic
def engagement_rebuild() -> int:
    """Rebuild every contact's engagement summary from the recipients, in one statement, and
    return how many contacts have one. The triggers keep it exact; this is for a bulk load
    made with them disabled (the benchmark's data) or a repair. Outcomes recorded meanwhile
    wait for it (the table is locked against writes); counts read the old rows until then."""
    names = {
        "summary": sql.Identifier(ContactEngagement._meta.db_table),
        "recipients": sql.Identifier(CampaignRecipient._meta.db_table),
        "kept": sql.Literal(OPEN_TIMES_KEPT),
    }
    with connection.cursor() as cursor:
        cursor.execute(sql.SQL("LOCK TABLE {summary} IN SHARE ROW EXCLUSIVE MODE").format(**names))
        cursor.execute(sql.SQL("DELETE FROM {summary}").format(**names))
        cursor.execute(
            sql.SQL("""
            INSERT INTO {summary} (contact_id, last_click_at, open_times, open_campaigns)
            SELECT r.contact_id, max(r.clicked_at),
                coalesce((array_agg(r.opened_at ORDER BY r.opened_at DESC, r.campaign_id DESC)
                    FILTER (WHERE r.opened_at IS NOT NULL))[1:{kept}], '{{}}'),
                coalesce((array_agg(r.campaign_id ORDER BY r.opened_at DESC, r.campaign_id DESC)
                    FILTER (WHERE r.opened_at IS NOT NULL))[1:{kept}], '{{}}')
            FROM {recipients} r
            WHERE r.contact_id IS NOT NULL AND (r.opened_at IS NOT NULL OR r.clicked_at IS NOT NULL)
            GROUP BY r.contact_id
            """).format(**names)
        )
        return cursor.rowcount
