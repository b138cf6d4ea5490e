"""What happened to recipients after sending (delivered, opened, bounced…), set in bulk.

The analytics app, above campaigns in the stack, learns these from SendGrid's events and
records them here: one statement per outcome for a whole batch of events. Campaigns also
lets go of contacts being deleted (a hook it registers with contacts, below it).
"""

from collections import Counter
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
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


@transaction.atomic
def recipients_set_outcome(*, field: str, times: Mapping[int, datetime]) -> Counter:
    """Record each recipient's (by id) earliest time of an outcome; return, per campaign,
    how many recipients had none before.

    An earlier time that arrives late moves the recorded one back. First opens and clicks
    also go into their contacts' engagement summaries, a batch in one statement.
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
    first = sql.SQL(
        """
        UPDATE {table} r SET {column} = v.t
        FROM unnest(%s::bigint[], %s::timestamptz[]) AS v(id, t)
        WHERE r.id = v.id AND r.{column} IS NULL
        RETURNING r.campaign_id, r.contact_id, v.t
        """
    ).format(**names)
    earlier = sql.SQL(
        """
        UPDATE {table} r SET {column} = v.t
        FROM unnest(%s::bigint[], %s::timestamptz[]) AS v(id, t)
        WHERE r.id = v.id AND r.{column} > v.t
        """
    ).format(**names)
    with connection.cursor() as cursor:
        if field in ("opened_at", "clicked_at"):
            # First opens and clicks are merged in at once. One that moved earlier goes
            # through the trigger, which recomputes the contact: an open moved back past the
            # newest OPEN_TIMES_KEPT lets an older one in that the summary no longer holds,
            # and a click moved back may have been the last.
            with _summary_by_caller(cursor):
                cursor.execute(first, params)
                firsts = cursor.fetchall()
                if field == "opened_at":
                    _engagement_merge_opens(cursor, firsts)
                else:
                    _engagement_add_clicks(cursor, firsts)
        else:
            cursor.execute(first, params)
            firsts = cursor.fetchall()
        cursor.execute(earlier, params)
    return Counter(campaign for campaign, _, _ in firsts)


@contextmanager
def _summary_by_caller(cursor) -> Iterator[None]:
    """The recipients' trigger leaves the engagement summary to the caller for these
    statements (migration 0009). Inside a transaction: the setting ends with it at most."""
    cursor.execute("SELECT set_config('engagex.summary_by_caller', 'on', true)")
    yield
    cursor.execute("SELECT set_config('engagex.summary_by_caller', 'off', true)")


def _engagement_merge_opens(cursor, opens: list[tuple[int, int | None, datetime]]) -> None:
    """Merge campaigns' first open times (campaign, contact, time) into the contacts'
    summaries: newest first, a campaign once, the newest OPEN_TIMES_KEPT; what a rebuild from
    the recipients would give."""
    opens = [row for row in opens if row[1] is not None]
    if not opens:
        return
    campaigns, contacts, times = (list(column) for column in zip(*opens, strict=True))
    # Usually the opens are newer than any before and go in front; otherwise (a late report
    # of an old campaign) the two lists are merged and cut. Adding opens only pushes older
    # ones out, so the newest OPEN_TIMES_KEPT of both are those of all the contact's opens.
    front = sql.SQL(
        "e.open_times = '{}' OR (EXCLUDED.open_times[cardinality(EXCLUDED.open_times)]"
        " > e.open_times[1] AND NOT e.open_campaigns && EXCLUDED.open_campaigns)"
    )
    cursor.execute(
        sql.SQL(
            """
            INSERT INTO {summary} AS e (contact_id, last_click_at, open_times, open_campaigns)
            SELECT v.contact, NULL,
                (array_agg(v.t ORDER BY v.t DESC, v.campaign DESC))[1:{kept}],
                (array_agg(v.campaign ORDER BY v.t DESC, v.campaign DESC))[1:{kept}]
            FROM unnest(%s::bigint[], %s::bigint[], %s::timestamptz[]) AS v(campaign, contact, t)
            GROUP BY v.contact
            ORDER BY v.contact
            ON CONFLICT (contact_id) DO UPDATE SET
                open_times = CASE WHEN {front}
                    THEN (EXCLUDED.open_times || e.open_times)[1:{kept}]
                    ELSE {merged_times} END,
                open_campaigns = CASE WHEN {front}
                    THEN (EXCLUDED.open_campaigns || e.open_campaigns)[1:{kept}]
                    ELSE {merged_campaigns} END
            """
        ).format(
            summary=sql.Identifier(ContactEngagement._meta.db_table),
            kept=sql.Literal(OPEN_TIMES_KEPT),
            front=front,
            merged_times=_merged_opens("t"),
            merged_campaigns=_merged_opens("c"),
        ),
        [campaigns, contacts, times],
    )


def _merged_opens(column: str) -> sql.Composed:
    """A summary's opens merged with EXCLUDED's (whose campaigns replace theirs), newest
    first and cut: the times (`t`) or the campaigns (`c`)."""
    return sql.SQL(
        """ARRAY(SELECT u.{column} FROM (
            SELECT k.t, k.c FROM unnest(e.open_times, e.open_campaigns) AS k(t, c)
            WHERE NOT k.c = ANY(EXCLUDED.open_campaigns)
            UNION ALL
            SELECT n.t, n.c FROM unnest(EXCLUDED.open_times, EXCLUDED.open_campaigns) AS n(t, c)
        ) u ORDER BY u.t DESC, u.c DESC LIMIT {kept})"""
    ).format(column=sql.Identifier(column), kept=sql.Literal(OPEN_TIMES_KEPT))


def _engagement_add_clicks(cursor, clicks: list[tuple[int, int | None, datetime]]) -> None:
    """Move the contacts' last click to their first clicks (campaign, contact, time) where
    those are later."""
    clicks = [row for row in clicks if row[1] is not None]
    if not clicks:
        return
    cursor.execute(
        sql.SQL(
            """
            INSERT INTO {summary} AS e (contact_id, last_click_at, open_times, open_campaigns)
            SELECT v.contact, max(v.t), '{{}}', '{{}}'
            FROM unnest(%s::bigint[], %s::timestamptz[]) AS v(contact, t)
            GROUP BY v.contact
            ORDER BY v.contact
            ON CONFLICT (contact_id) DO UPDATE SET
                last_click_at = greatest(e.last_click_at, EXCLUDED.last_click_at)
            """
        ).format(summary=sql.Identifier(ContactEngagement._meta.db_table)),
        [[row[1] for row in clicks], [row[2] for row in clicks]],
    )


def recipients_mark_hard_bounced(*, ids: list[int]) -> int:
    """Mark recipients' bounces as hard; return how many rows were updated."""
    return CampaignRecipient.objects.filter(pk__in=ids).update(bounce_type="hard")


@transaction.atomic
def recipients_detach_contacts(*, contacts: QuerySet[Contact]) -> int:
    """Unlink recipients from contacts about to be deleted, in one statement.

    The campaign's copy keeps its email address and outcome; only the link goes. The
    contacts' engagement summaries go with them in one statement (the recipients' trigger
    does not recompute them one recipient at a time).
    """
    ids = contacts.values("pk")
    with connection.cursor() as cursor, _summary_by_caller(cursor):
        detached = CampaignRecipient.objects.filter(contact__in=ids).update(contact=None)
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
