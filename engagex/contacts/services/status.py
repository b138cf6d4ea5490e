"""The one rule of a contact's status: a suppressed contact is never made subscribed again.

Unsubscribed, bounced and complained (`SUPPRESSED_STATUSES`) come from the person or their
mail provider; only the person can undo them (a sign-up form), never an import, an API call,
a console form or a webhook. Each path decides with the definitions below, in Python or in
SQL generated from the same constants, so the rule cannot drift between copies:

- console form and API update: `status_resubscribes` (the change is refused);
- API bulk upsert: `status_merge_sql` (a suppressed contact keeps its status);
- spreadsheet import: `status_raises`/`status_raises_sql` (an import only ever makes a
  status more severe, and "subscribed" is the least severe);
- SendGrid events and unsubscribe links: `status_suppressible_sql`, through
  `contacts_suppress` (only a subscribed contact changes; the first reason stands).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime

from django.db import connection
from psycopg import sql

from engagex.contacts.models import SUPPRESSED_STATUSES, Contact, ContactStatus

SUBSCRIBED = ContactStatus.SUBSCRIBED.value
# How bad each status is; an import never moves a contact down this scale.
SEVERITY = {
    ContactStatus.SUBSCRIBED.value: 0,
    ContactStatus.UNSUBSCRIBED.value: 1,
    ContactStatus.COMPLAINED.value: 2,
    ContactStatus.BOUNCED.value: 3,
}
# In the order of the choices: unsubscribed, bounced, complained.
SUPPRESSED = tuple(s for s in ContactStatus.values if s in SUPPRESSED_STATUSES)


def status_resubscribes(old: str | None, new: str | None) -> bool:
    """True when going from `old` to `new` would make a suppressed contact subscribed."""
    return old in SUPPRESSED and new == SUBSCRIBED


def status_raises(old: str | None, new: str | None) -> bool:
    """True when `new` is more severe than `old` (no status counts as subscribed)."""
    return SEVERITY.get(new or SUBSCRIBED, 0) > SEVERITY.get(old or SUBSCRIBED, 0)


def _expr(column: str) -> sql.SQL:
    # Column expressions are the callers' own constants ("c.status"), never input.
    return sql.SQL(column)


def status_suppressed_sql(column: str) -> sql.Composed:
    """SQL: the status in `column` is a suppressed one."""
    return sql.SQL("({} IN ({}))").format(
        _expr(column), sql.SQL(", ").join(sql.Literal(s) for s in SUPPRESSED)
    )


def status_resubscribes_sql(old: str, new: str) -> sql.Composed:
    """SQL for `status_resubscribes(old, new)` over two column expressions."""
    return sql.SQL("({suppressed} AND {new} = {subscribed})").format(
        suppressed=status_suppressed_sql(old), new=_expr(new), subscribed=sql.Literal(SUBSCRIBED)
    )


def status_merge_sql(old: str, new: str) -> sql.Composed:
    """SQL: the status a contact ends with when `new` is written over `old`."""
    return sql.SQL("CASE WHEN {resubscribes} THEN {old} ELSE {new} END").format(
        resubscribes=status_resubscribes_sql(old, new), old=_expr(old), new=_expr(new)
    )


def _severity_sql(column: str) -> sql.Composed:
    cases = sql.SQL(" ").join(
        sql.SQL("WHEN {} THEN {}").format(sql.Literal(status), sql.Literal(rank))
        for status, rank in SEVERITY.items()
    )
    return sql.SQL("CASE {} {} ELSE 0 END").format(_expr(column), cases)


def status_raises_sql(old: str, new: str) -> sql.Composed:
    """SQL for `status_raises(old, new)`; a NULL `new` (no status given) raises nothing."""
    return sql.SQL("({new} IS NOT NULL AND {rank_new} > {rank_old})").format(
        new=_expr(new), rank_new=_severity_sql(new), rank_old=_severity_sql(old)
    )


def status_suppressible_sql(column: str) -> sql.Composed:
    """SQL: a contact with this status may be suppressed now (it is not already)."""
    return sql.SQL("NOT {}").format(status_suppressed_sql(column))


# --- Services: the only writes of a contact's status from outside contacts' own forms ----------
@dataclass(frozen=True)
class Suppression:
    """Why and when to suppress one contact."""

    status: str
    source: str
    at: datetime


def contacts_suppress(*, suppressions: Mapping[int, Suppression]) -> int:
    """Suppress the given contacts (by id) in one statement; return how many changed.

    Only subscribed contacts change; one already suppressed keeps its status and source.
    """
    if not suppressions:
        return 0
    ids = list(suppressions)
    rows = list(suppressions.values())
    for row in rows:
        if row.status not in SUPPRESSED:
            raise ValueError(f"{row.status!r} is not a suppressed status")
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL(
                """
                UPDATE {contacts} c SET status = v.status, status_source = v.source,
                    status_changed_at = v.t, updated_at = now()
                FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::timestamptz[])
                    AS v(id, status, source, t)
                WHERE c.id = v.id AND {suppressible}
                """
            ).format(
                contacts=sql.Identifier(Contact._meta.db_table),
                suppressible=status_suppressible_sql("c.status"),
            ),
            [ids, [str(r.status) for r in rows], [r.source[:120] for r in rows],
             [r.at for r in rows]],
        )  # fmt: skip
        return cursor.rowcount


def contacts_add_soft_bounces(*, counts: Mapping[int, int]) -> dict[int, int]:
    """Add soft bounces to contacts' counts in one statement; return each one's new total."""
    if not counts:
        return {}
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL(
                """
                UPDATE {contacts} c SET soft_bounces = c.soft_bounces + v.n
                FROM unnest(%s::bigint[], %s::int[]) AS v(id, n)
                WHERE c.id = v.id
                RETURNING c.id, c.soft_bounces
                """
            ).format(contacts=sql.Identifier(Contact._meta.db_table)),
            [list(counts), list(counts.values())],
        )
        return dict(cursor.fetchall())
