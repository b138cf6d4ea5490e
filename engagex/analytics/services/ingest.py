"""Store SendGrid events in batches and apply what they mean, in one transaction per batch.

Events are routed by the metadata every message carries (workspace schema, campaign,
recipient). A batch is inserted with one statement per workspace; SendGrid's event id makes
redelivered events no-ops. Only newly stored events move counters, outcomes and suppression,
so duplicates and out-of-order deliveries end in the same numbers.
"""

import hashlib
import json
import logging
from collections import Counter, defaultdict
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime

from django.conf import settings
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import get_tenant_model, schema_context
from psycopg import sql

from engagex.analytics.models import CampaignActivity, CampaignLink, CampaignStats, EmailEvent
from engagex.campaigns.models import CampaignRecipient
from engagex.campaigns.services.outcomes import (
    recipients_mark_hard_bounced,
    recipients_set_outcome,
)
from engagex.contacts.services.status import (
    Suppression,
    contacts_add_soft_bounces,
    contacts_suppress,
)
from engagex.core.tenancy import current_schema

logger = logging.getLogger(__name__)
TYPES = {t.value for t in EmailEvent.Type}
# A click's URL is kept to 2,000 bytes: the index of clicks by contact holds it, and an
# index entry must fit in a third of a page (2,704 bytes).
URL_BYTES = 2000


@dataclass
class IngestResult:
    received: int = 0
    stored: int = 0
    duplicates: int = 0
    skipped_no_metadata: int = 0
    skipped_unknown_type: int = 0
    skipped_unknown_target: int = 0
    skipped_malformed: int = 0

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class _Event:
    event_id: str
    type: str
    schema: str
    campaign_id: int
    recipient_id: int
    occurred_at: datetime
    url: str = ""
    bounce_type: str = ""
    reason: str = ""
    machine_open: bool = False
    contact_id: int | None = field(default=None)


def events_ingest(raw_events: list) -> IngestResult:
    """Ingest SendGrid event dicts (already authenticated); never stores half a batch."""
    result = IngestResult(received=len(raw_events))
    by_schema: dict[str, list[_Event]] = defaultdict(list)
    for raw in raw_events:
        event = _normalise(raw, result)
        if event is not None:
            by_schema[event.schema].append(event)
    known = set(
        get_tenant_model()
        .objects.filter(schema_name__in=list(by_schema))
        .values_list("schema_name", flat=True)
    )
    with transaction.atomic():
        # One order for every batch: two posts never wait on each other's workspace locks.
        for schema, events in sorted(by_schema.items()):
            if schema not in known or schema == "public":
                result.skipped_unknown_target += len(events)
                continue
            with schema_context(schema):
                _ingest_workspace(events, result)
    return result


def _normalise(raw, result: IngestResult) -> _Event | None:
    if not isinstance(raw, dict) or not isinstance(raw.get("event"), str):
        result.skipped_malformed += 1
        return None
    kind = raw["event"]
    if kind not in TYPES:
        result.skipped_unknown_type += 1
        return None
    try:
        schema = _clean(raw["schema"])
        campaign_id = int(raw["campaign"])
        recipient_id = int(raw["recipient"])
    except (KeyError, TypeError, ValueError, OverflowError):
        result.skipped_no_metadata += 1
        return None
    if not (0 < campaign_id < 2**63 and 0 < recipient_id < 2**63):
        result.skipped_malformed += 1
        return None
    try:
        occurred = datetime.fromtimestamp(int(raw["timestamp"]), tz=UTC)
    except (KeyError, TypeError, ValueError, OverflowError, OSError):
        occurred = timezone.now()
    event_id = _clean(raw.get("sg_event_id") or "")[:100] or _fallback_id(raw)
    bounce_type = ""
    if kind == "bounce":
        bounce_type = "soft" if str(raw.get("type", "")).lower() == "blocked" else "hard"
    return _Event(
        event_id=event_id,
        type=kind,
        schema=str(schema),
        campaign_id=campaign_id,
        recipient_id=recipient_id,
        occurred_at=occurred,
        url=_cut(_clean(raw.get("url") or ""), URL_BYTES) if kind == "click" else "",
        bounce_type=bounce_type,
        reason=_clean(raw.get("reason") or raw.get("response") or "")[:500],
        machine_open=bool(raw.get("sg_machine_open")) if kind == "open" else False,
    )


def _clean(value) -> str:
    """Text PostgreSQL can store (no NUL characters)."""
    return str(value).replace("\x00", "")


def _cut(text: str, size: int) -> str:
    """At most `size` bytes of UTF-8, whole characters only."""
    return text.encode()[:size].decode(errors="ignore")


def _fallback_id(raw: dict) -> str:
    data = json.dumps(raw, sort_keys=True, default=str).encode()
    return "sha1:" + hashlib.sha1(data).hexdigest()  # noqa: S324


def _ingest_workspace(events: list[_Event], result: IngestResult) -> None:
    with connection.cursor() as cursor:
        # Batches for one workspace touch the same counters and recipients; taking them one
        # at a time (per workspace, until commit) rules out deadlocks between concurrent posts.
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"ingest:{current_schema()}"])
    recipients = _known_recipients(events)
    routable = []
    for event in events:
        known = recipients.get(event.recipient_id)
        if known is None or known[0] != event.campaign_id:
            result.skipped_unknown_target += 1
            continue
        event.contact_id = known[1]
        routable.append(event)
    new_ids = _insert(routable)
    fresh = [e for e in routable if e.event_id in new_ids]
    # Two copies of one event inside a batch: only the first counts.
    seen, unique = set(), []
    for event in fresh:
        if event.event_id not in seen:
            seen.add(event.event_id)
            unique.append(event)
    result.stored += len(unique)
    result.duplicates += len(routable) - len(unique)
    if unique:
        _apply(unique)


def _known_recipients(events: list[_Event]) -> dict[int, tuple[int, int | None]]:
    ids = {e.recipient_id for e in events}
    rows = CampaignRecipient.objects.filter(pk__in=ids).values_list(
        "pk", "campaign_id", "contact_id"
    )
    return {rid: (cid, contact) for rid, cid, contact in rows}


def _insert(events: list[_Event]) -> set[str]:
    if not events:
        return set()
    rows = [
        (e.event_id, e.type, e.campaign_id, e.recipient_id, e.contact_id, e.occurred_at, e.url,
         e.bounce_type, e.reason, e.machine_open)
        for e in events
    ]  # fmt: skip
    columns = list(zip(*rows, strict=True))
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("""
            INSERT INTO {events} (event_id, type, campaign_id, recipient_id,
                contact_id, occurred_at, received_at, url, bounce_type, reason, machine_open)
            SELECT u.event_id, u.type, u.campaign_id, u.recipient_id, u.contact_id,
                u.occurred_at, now(), u.url, u.bounce_type, u.reason, u.machine_open
            FROM unnest(%s::text[], %s::text[], %s::bigint[], %s::bigint[], %s::bigint[],
                        %s::timestamptz[], %s::text[], %s::text[], %s::text[], %s::boolean[])
                AS u(event_id, type, campaign_id, recipient_id, contact_id, occurred_at, url,
                     bounce_type, reason, machine_open)
            ON CONFLICT (event_id) DO NOTHING
            RETURNING event_id
            """).format(events=sql.Identifier(EmailEvent._meta.db_table)),
            [list(c) for c in columns],
        )
        return {row[0] for row in cursor.fetchall()}


# --- effects -------------------------------------------------------------------------------
FIRST_FIELDS = {
    "delivered": "delivered_at",
    "open": "opened_at",
    "click": "clicked_at",
    "bounce": "bounced_at",
    "spamreport": "complained_at",
    "unsubscribe": "unsubscribed_at",
    "dropped": "dropped_at",
}


def _apply(events: list[_Event]) -> None:
    totals: dict[int, Counter] = defaultdict(Counter)
    firsts: dict[str, dict[int, datetime]] = defaultdict(dict)
    activity: Counter = Counter()
    for e in events:
        stats = totals[e.campaign_id]
        human_open = e.type == "open" and not e.machine_open
        if e.type == "open" and e.machine_open:
            stats["machine_opens"] += 1
        elif e.type == "open":
            stats["opens_total"] += 1
        elif e.type == "click":
            stats["clicks_total"] += 1
        elif e.type == "deferred":
            stats["deferred"] += 1
        elif e.type == "bounce":
            stats["bounces_hard" if e.bounce_type == "hard" else "bounces_soft"] += 1
        elif e.type == "dropped":
            stats["dropped"] += 1
        if e.type in FIRST_FIELDS and (e.type != "open" or human_open):
            if e.type != "bounce" or e.bounce_type == "hard":
                current = firsts[e.type].get(e.recipient_id)
                if current is None or e.occurred_at < current:
                    firsts[e.type][e.recipient_id] = e.occurred_at
        if human_open or e.type == "click":
            hour = e.occurred_at.replace(minute=0, second=0, microsecond=0)
            activity[(e.campaign_id, hour, e.type)] += 1
    unique_counter = {
        "delivered": "delivered",
        "open": "opens_unique",
        "click": "clicks_unique",
        "spamreport": "complaints",
        "unsubscribe": "unsubscribes",
    }
    for kind, times in firsts.items():
        newly = recipients_set_outcome(field=FIRST_FIELDS[kind], times=times)
        if kind == "bounce":
            recipients_mark_hard_bounced(ids=list(times))
        if kind in unique_counter:
            for campaign_id, count in newly.items():
                totals[campaign_id][unique_counter[kind]] += count
    _suppress(events)
    _add_stats(totals)
    _add_activity(activity)
    _add_links([e for e in events if e.type == "click" and e.url])


SUPPRESSING = {
    "spamreport": ("complained", "SendGrid: spam report"),
    "unsubscribe": ("unsubscribed", "SendGrid: unsubscribe"),
}


def _suppress(events: list[_Event]) -> None:
    """Hard bounces, complaints and ESP unsubscribes stop all later campaigns to the contact."""
    targets: dict[int, Suppression] = {}
    soft: Counter = Counter()
    for e in events:
        if e.contact_id is None:
            continue
        if e.type == "bounce" and e.bounce_type == "hard":
            targets.setdefault(
                e.contact_id, Suppression("bounced", "SendGrid: hard bounce", e.occurred_at)
            )
        elif e.type in SUPPRESSING:
            targets[e.contact_id] = Suppression(*SUPPRESSING[e.type], at=e.occurred_at)
        elif e.type == "bounce":
            soft[e.contact_id] += 1
    now = timezone.now()
    for contact_id, count in contacts_add_soft_bounces(counts=soft).items():
        if count >= settings.SOFT_BOUNCE_THRESHOLD and contact_id not in targets:
            targets[contact_id] = Suppression("bounced", f"SendGrid: {count} soft bounces", now)
    contacts_suppress(suppressions=targets)


STAT_FIELDS = [
    "delivered", "opens_total", "opens_unique", "machine_opens", "clicks_total", "clicks_unique",
    "bounces_hard", "bounces_soft", "complaints", "unsubscribes", "dropped", "deferred",
]  # fmt: skip


def _add_stats(totals: dict[int, Counter]) -> None:
    if not totals:
        return
    campaigns = list(totals)
    arrays = [[totals[c].get(name, 0) for c in campaigns] for name in STAT_FIELDS]
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("""
            INSERT INTO {stats} AS s (campaign_id, {columns})
            SELECT * FROM unnest(%s::bigint[], {casts})
            ON CONFLICT (campaign_id) DO UPDATE SET {updates}
            """).format(
                stats=sql.Identifier(CampaignStats._meta.db_table),
                columns=sql.SQL(", ").join(map(sql.Identifier, STAT_FIELDS)),
                casts=sql.SQL(", ").join([sql.SQL("%s::int[]")] * len(STAT_FIELDS)),
                updates=sql.SQL(", ").join(
                    sql.SQL("{0} = s.{0} + EXCLUDED.{0}").format(sql.Identifier(n))
                    for n in STAT_FIELDS
                ),
            ),
            [campaigns, *arrays],
        )


def _add_activity(activity: Counter) -> None:
    if not activity:
        return
    # (campaign, hour): [opens, clicks]
    rows: defaultdict[tuple[int, datetime], list[int]] = defaultdict(lambda: [0, 0])
    for (campaign_id, hour, kind), count in activity.items():
        rows[(campaign_id, hour)][0 if kind == "open" else 1] += count
    keys = list(rows)
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("""
            INSERT INTO {activity} AS a (campaign_id, hour, opens, clicks)
            SELECT * FROM unnest(%s::bigint[], %s::timestamptz[], %s::int[], %s::int[])
            ON CONFLICT (campaign_id, hour)
            DO UPDATE SET opens = a.opens + EXCLUDED.opens, clicks = a.clicks + EXCLUDED.clicks
            """).format(activity=sql.Identifier(CampaignActivity._meta.db_table)),
            [[k[0] for k in keys], [k[1] for k in keys], [rows[k][0] for k in keys],
             [rows[k][1] for k in keys]],
        )  # fmt: skip


def _add_links(clicks: list[_Event]) -> None:
    if not clicks:
        return
    new_ids = [e.event_id for e in clicks]
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("""
            SELECT DISTINCT recipient_id, url FROM {events}
            WHERE type = 'click' AND recipient_id = ANY(%s) AND NOT (event_id = ANY(%s))
            """).format(events=sql.Identifier(EmailEvent._meta.db_table)),
            [list({e.recipient_id for e in clicks}), new_ids],
        )
        before = set(cursor.fetchall())
    totals: Counter = Counter()
    unique: Counter = Counter()
    urls = {}
    counted = set()
    for e in clicks:
        key = (e.campaign_id, hashlib.md5(e.url.encode()).hexdigest())  # noqa: S324
        urls[key] = e.url
        totals[key] += 1
        pair = (e.recipient_id, e.url)
        if pair not in before and pair not in counted:
            counted.add(pair)
            unique[key] += 1
    keys = list(totals)
    with connection.cursor() as cursor:
        cursor.execute(
            sql.SQL("""
            INSERT INTO {links} AS l (campaign_id, url_hash, url, clicks_total,
                clicks_unique)
            SELECT * FROM unnest(%s::bigint[], %s::text[], %s::text[], %s::int[], %s::int[])
            ON CONFLICT (campaign_id, url_hash) DO UPDATE SET
                clicks_total = l.clicks_total + EXCLUDED.clicks_total,
                clicks_unique = l.clicks_unique + EXCLUDED.clicks_unique
            """).format(links=sql.Identifier(CampaignLink._meta.db_table)),
            [[k[0] for k in keys], [k[1] for k in keys], [urls[k] for k in keys],
             [totals[k] for k in keys], [unique[k] for k in keys]],
        )  # fmt: skip
