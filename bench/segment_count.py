"""Count segments at 100,000 and 1,000,000 contacts, beside the naive Django ORM filter.

Data, built set-based with generate_series: contacts with typed custom attributes (plan,
seats, renews, vip), 3 lists with memberships in mixed statuses, `--campaigns` campaigns
sent to everyone (10 at 1M contacts = 10M recipient rows) with realistic outcomes (about
22% human opens spread over 90 days, 4% clicks with a click event each, 5% machine opens,
0.5% hard bounces) and a delivered event for every message not bounced.

For each rule family (fields, attributes, lists, engagement, nested mix) it times our
`segment_count` as the builder calls it (the subscribed contacts a send would reach, plus
the 10-contact sample), the contacts query a send snapshots counted alone ("contacts q.":
what `segment_count` runs for rules it cannot count from lists' and engagement's rows), and
the obvious ORM filter (JSON key lookups, `Exists` over recipients) counting the same
reachable contacts (subscribed, not awaiting confirmation), and prints p50/p95 in ms.
Ours is timed after one count of the rule ("first": the count that reads the rule's pages
from disk into memory and makes the copies of lists' members, segments/members.py), as a
builder counts again at every edit; "changed" is the p50 of counts each right after a
member of every list changed (so every copy is made again); the contacts query and the
naive filter run after ours, warm too.

    .venv/bin/python bench/segment_count.py --contacts 100000 1000000 --campaigns 10
"""

import argparse
import statistics
import time
from datetime import timedelta

from _common import bench_database, bench_plan

MACHINE_OPEN = 5  # percent of recipients with a machine open
EXPECTED_TYPES = {"plan": "text", "seats": "number", "renews": "date", "vip": "boolean"}


def fill(contacts: int, campaigns: int) -> dict:
    from django.db import connection
    from django.utils import timezone

    from engagex.campaigns.models import Campaign
    from engagex.campaigns.services.outcomes import engagement_rebuild
    from engagex.contacts.services.attributes import attributes_infer
    from engagex.email_templates.models import EmailTemplate

    steps = []
    with connection.cursor() as cursor:

        def run(label, statement, params=()):
            start = time.perf_counter()
            cursor.execute(statement, params)
            steps.append((label, time.perf_counter() - start))

        run(
            "contacts",
            """
            INSERT INTO contacts_contact (email, first_name, last_name, phone, language, timezone,
                attributes, status, status_source, consent_source, consent_at, soft_bounces,
                created_at, updated_at)
            SELECT 'person' || i || '@example' || (i %% 50) || '.com',
                (ARRAY['Ann','Bob','Cy','Dana','Eve','Finn','Gus','Hana'])[1 + i %% 8] || i,
                'Last' || (i %% 1000), '', (ARRAY['en','de','es','fr'])[1 + i %% 4],
                (ARRAY['Europe/Berlin','America/New_York',''])[1 + i %% 3],
                jsonb_strip_nulls(jsonb_build_object(
                    'plan', (ARRAY['free','pro','team','enterprise'])[1 + (i * 7) %% 4],
                    'seats', CASE WHEN i %% 5 = 0 THEN to_jsonb(((i * 13) %% 200)::text)
                                  ELSE to_jsonb((i * 13) %% 200) END,
                    'renews', to_char(current_date + ((i * 17) %% 730 - 365), 'YYYY-MM-DD'),
                    'vip', CASE WHEN i %% 3 = 0 THEN to_jsonb(i %% 7 = 0) END)),
                CASE WHEN i %% 40 = 0 THEN 'unsubscribed' WHEN i %% 97 = 0 THEN 'bounced'
                     ELSE 'subscribed' END,
                'bench', 'bench', now() - ((i %% 700) || ' days')::interval, i %% 4,
                now() - ((i %% 730) || ' days')::interval, now()
            FROM generate_series(1, %s) AS i
            """,
            [contacts],
        )
        run("lists", """
            INSERT INTO contacts_contactgroup (name, description, opt_in, visibility, created_at)
            VALUES ('Newsletter', '', 'single', 'private', now()),
                   ('Customers', '', 'single', 'private', now()),
                   ('Events', '', 'single', 'private', now())
            """)  # fmt: skip
        cursor.execute("SELECT id FROM contacts_contactgroup ORDER BY name")
        customers, events, newsletter = [row[0] for row in cursor.fetchall()]
        run(
            "memberships",
            """
            INSERT INTO contacts_membership (contact_id, group_id, status, source, consent_text,
                consent_user_agent, confirm_user_agent)
            SELECT c.id, g.id,
                CASE WHEN (c.id / g.every) %% 10 = 0 THEN 'unsubscribed'
                     WHEN (c.id / g.every) %% 10 = 1 THEN 'unconfirmed'
                     ELSE 'subscribed' END, 'import', '', '', ''
            FROM contacts_contact c
            JOIN (VALUES (%s, 3), (%s, 10), (%s, 2)) AS g(id, every) ON c.id %% g.every = 0
            """,
            [newsletter, customers, events],
        )
        template = EmailTemplate.objects.create(name="T", subject="S", html_body="<p>x</p>")
        now = timezone.now()
        created = Campaign.objects.bulk_create(
            Campaign(
                name=f"Campaign {n}", template=template, from_name="B",
                from_email="b@bench.example", status=Campaign.Status.SENT,
                recipients_total=contacts, started_at=now - timedelta(days=9 * (campaigns - n)),
                finished_at=now,
            )
            for n in range(1, campaigns + 1)
        )  # fmt: skip
        campaign_ids = sorted(c.pk for c in created)
        # Outcomes from a cheap hash of (contact, campaign): reproducible, uncorrelated enough.
        # The engagement summary's triggers fire per opened row: off for the bulk load, then
        # the summary is built in one statement (what the triggers would have made).
        cursor.execute("ALTER TABLE campaigns_campaignrecipient DISABLE TRIGGER USER")
        run(
            "recipients",
            """
            INSERT INTO campaigns_campaignrecipient (campaign_id, contact_id, email, status,
                message_id, error, bounce_type, sent_at, delivered_at, opened_at, clicked_at,
                bounced_at)
            SELECT k.id, c.id, c.email, 'sent', '', '', CASE WHEN h < 5 THEN 'hard' ELSE '' END,
                k.started_at, k.started_at,
                CASE WHEN h BETWEEN 5 AND 224 THEN k.started_at + (h %% 72) * interval '1 hour'
                    END,
                CASE WHEN h BETWEEN 5 AND 44 THEN k.started_at + (h %% 72 + 1) * interval '1 hour'
                    END,
                CASE WHEN h < 5 THEN k.started_at END
            FROM campaigns_campaign k CROSS JOIN contacts_contact c,
                LATERAL (SELECT abs(hashint8(c.id * 1000 + k.id)) %% 1000 AS h) x
            ORDER BY k.id, c.id
            """,
        )
        run(
            "events",
            """
            INSERT INTO analytics_emailevent (event_id, type, campaign_id, recipient_id,
                contact_id, occurred_at, received_at, url, bounce_type, reason, machine_open)
            SELECT 'e' || r.id, CASE WHEN r.clicked_at IS NOT NULL THEN 'click' ELSE 'open' END,
                r.campaign_id, r.id, r.contact_id, coalesce(r.clicked_at, r.sent_at), now(),
                CASE WHEN r.clicked_at IS NOT NULL THEN
                    'https://shop.example/'
                    || (ARRAY['sale', 'news', 'pricing', 'blog'])[1 + r.id %% 4]
                    ELSE '' END,
                '', '', r.clicked_at IS NULL
            FROM campaigns_campaignrecipient r
            WHERE r.clicked_at IS NOT NULL OR (r.opened_at IS NULL AND r.id %% 100 < %s)
            """,
            [MACHINE_OPEN],
        )
        # What SendGrid posts for every message besides: its delivery. Most of the events a
        # workspace stores are these, and "clicked a link" must not read them.
        run(
            "delivered events",
            """
            INSERT INTO analytics_emailevent (event_id, type, campaign_id, recipient_id,
                contact_id, occurred_at, received_at, url, bounce_type, reason, machine_open)
            SELECT 'd' || r.id, 'delivered', r.campaign_id, r.id, r.contact_id, r.delivered_at,
                now(), '', '', '', false
            FROM campaigns_campaignrecipient r
            WHERE r.bounced_at IS NULL
            """,
        )
        cursor.execute("ALTER TABLE campaigns_campaignrecipient ENABLE TRIGGER USER")
        start = time.perf_counter()
        engagement_rebuild()
        steps.append(("engagement summary", time.perf_counter() - start))
        start = time.perf_counter()
        inferred = {item.name: item.type for item in attributes_infer()}
        steps.append(("infer types (+ indexes)", time.perf_counter() - start))
        assert inferred == EXPECTED_TYPES, inferred
        run("vacuum analyze", "VACUUM ANALYZE")
    return {
        "steps": steps,
        "lists": {"newsletter": newsletter, "customers": customers, "events": events},
        "campaigns": campaign_ids,
    }


def built() -> dict:
    """What `fill` returned, read back from the data a --keep run left."""
    from engagex.campaigns.models import Campaign
    from engagex.contacts.models import ContactGroup

    lists = dict(ContactGroup.objects.values_list("name", "pk"))
    return {
        "steps": [],
        "lists": {name.lower(): pk for name, pk in lists.items()},
        "campaigns": sorted(Campaign.objects.values_list("pk", flat=True)),
    }


def rules(data: dict) -> dict[str, list[tuple[str, dict, object]]]:
    """Per family: (label, our rule, the naive ORM queryset counting the same contacts)."""
    from django.db.models import Count, Exists, IntegerField, OuterRef, Q, Subquery
    from django.db.models.functions import Coalesce
    from django.utils import timezone

    from engagex.analytics.models import EmailEvent
    from engagex.campaigns.models import CampaignRecipient as R
    from engagex.contacts.models import Contact, Membership

    def r(*conditions, match="all"):
        return {"version": 1, "match": match, "conditions": list(conditions)}

    lists, campaigns = data["lists"], data["campaigns"]
    last = campaigns[-1]
    now = timezone.now()
    since30 = now - timedelta(days=30)
    today = timezone.localdate()
    member = Membership.objects.filter(contact_id=OuterRef("pk"))
    mine = R.objects.filter(contact_id=OuterRef("pk"))
    opens30 = Subquery(
        mine.filter(opened_at__gte=since30).order_by().values("contact_id")
        .annotate(n=Count("pk")).values("n"), output_field=IntegerField(),
    )  # fmt: skip
    return {
        "fields": [
            (
                "email domain is example7.com",
                r({"field": "email_domain", "op": "is", "value": "example7.com"}),
                Contact.objects.filter(email__iendswith="@example7.com"),
            ),
            (
                "first name starts with 'ann1'",
                r({"field": "first_name", "op": "starts_with", "value": "ann1"}),
                Contact.objects.filter(first_name__istartswith="ann1"),
            ),
            (
                "language de, created in the last 30 days",
                r(
                    {"field": "language", "op": "is", "value": "de"},
                    {"field": "created_at", "op": "within_last_days", "value": 30},
                ),
                Contact.objects.filter(language__iexact="de", created_at__gte=since30),
            ),
        ],
        "attributes": [
            (
                "plan is pro",
                r({"field": "attribute", "name": "plan", "op": "is", "value": "pro"}),
                Contact.objects.filter(attributes__plan="pro"),
            ),
            (
                "seats between 10 and 20",
                r({"field": "attribute", "name": "seats", "op": "between", "value": [10, 20]}),
                Contact.objects.filter(attributes__seats__gte=10, attributes__seats__lte=20),
            ),
            (
                "renews within the next 30 days",
                r({"field": "attribute", "name": "renews", "op": "within_next_days", "value": 30}),
                Contact.objects.filter(
                    attributes__renews__gte=today.isoformat(),
                    attributes__renews__lte=(today + timedelta(days=30)).isoformat(),
                ),
            ),
        ],
        "lists": [
            (
                "subscribed on Customers",
                r({"field": "list", "op": "is_member", "value": lists["customers"]}),
                Contact.objects.filter(
                    Exists(member.filter(group_id=lists["customers"], status="subscribed"))
                ),
            ),
            (
                "on Newsletter, not on Events",
                r(
                    {"field": "list", "op": "is_member", "value": lists["newsletter"]},
                    {"field": "list", "op": "is_not_member", "value": lists["events"]},
                ),
                Contact.objects.filter(
                    Exists(member.filter(group_id=lists["newsletter"], status="subscribed"))
                ).exclude(Exists(member.filter(group_id=lists["events"], status="subscribed"))),
            ),
        ],
        "engagement": [
            (
                "opened the last campaign",
                r({"field": "campaign", "op": "opened", "value": last}),
                Contact.objects.filter(
                    Exists(mine.filter(campaign_id=last, opened_at__isnull=False))
                ),
            ),
            (
                "received but did not open the last campaign",
                r({"field": "campaign", "op": "not_opened", "value": last}),
                Contact.objects.filter(
                    Exists(mine.filter(campaign_id=last, status="sent"))
                ).exclude(Exists(mine.filter(campaign_id=last, opened_at__isnull=False))),
            ),
            (
                "opened any campaign in the last 30 days",
                r({"field": "opened_any", "op": "within_last_days", "value": 30}),
                Contact.objects.filter(Exists(mine.filter(opened_at__gte=since30))),
            ),
            (
                "at least 3 opens in the last 30 days",
                r({"field": "opens", "op": "at_least", "value": {"count": 3, "days": 30}}),
                Contact.objects.annotate(n=Coalesce(opens30, 0)).filter(n__gte=3),
            ),
            (
                "clicked a link containing 'pricing'",
                r({"field": "clicked_link", "op": "contains", "value": "pricing"}),
                Contact.objects.filter(
                    Exists(
                        EmailEvent.objects.filter(
                            contact_id=OuterRef("pk"), type="click", url__icontains="pricing"
                        )
                    )
                ),
            ),
        ],
        "nested mix": [
            (
                "pro or team, on Newsletter, and (opened in 30 days or clicked 'sale')",
                r(
                    {
                        "match": "any",
                        "conditions": [
                            {"field": "attribute", "name": "plan", "op": "is", "value": "pro"},
                            {"field": "attribute", "name": "plan", "op": "is", "value": "team"},
                        ],
                    },
                    {"field": "list", "op": "is_member", "value": lists["newsletter"]},
                    {
                        "match": "any",
                        "conditions": [
                            {"field": "opened_any", "op": "within_last_days", "value": 30},
                            {"field": "clicked_link", "op": "contains", "value": "sale"},
                        ],
                    },
                ),
                Contact.objects.filter(
                    Q(attributes__plan="pro") | Q(attributes__plan="team"),
                    Exists(member.filter(group_id=lists["newsletter"], status="subscribed")),
                ).filter(
                    Q(Exists(mine.filter(opened_at__gte=since30)))
                    | Q(
                        Exists(
                            EmailEvent.objects.filter(
                                contact_id=OuterRef("pk"), type="click", url__icontains="sale"
                            )
                        )
                    )
                ),
            ),
        ],
    }


CHANGED_ROUNDS = 6  # even: each change is undone by the next


def _touchable(data: dict) -> list[int]:
    """One subscribed member of each list, whose status `_touch` changes and changes back."""
    from engagex.contacts.models import Membership

    return [
        Membership.objects.filter(group_id=pk, status="subscribed", contact__status="subscribed")
        .order_by("pk")
        .values_list("pk", flat=True)[0]
        for pk in data["lists"].values()
    ]


def _touch(ids: list[int], *, subscribed: bool) -> None:
    from engagex.contacts.models import Membership

    status = "subscribed" if subscribed else "unsubscribed"
    Membership.objects.filter(pk__in=ids).update(status=status)


def percentile(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))]


def _explain(rule) -> None:
    from django.db import connection

    from engagex.segments.selectors import reachable, segment_contacts

    sendable = reachable(segment_contacts(rule=rule)).order_by().values("pk")
    sql, params = sendable.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"EXPLAIN (ANALYZE, BUFFERS) SELECT count(*) FROM ({sql}) s", params)
        print("\n".join("    " + row[0] for row in cursor.fetchall()))


def measure(
    contacts: int,
    campaigns: int,
    repeat: int,
    naive_repeat: int,
    explain: bool = False,
    reuse: bool = False,
    only: str | None = None,
) -> None:
    from django_tenants.utils import schema_context

    from engagex.platform.provisioning import tenant_create
    from engagex.segments import members
    from engagex.segments.selectors import reachable, segment_contacts, segment_count
    from tenants.models import Tenant

    if reuse:
        tenant = Tenant.objects.get(slug=f"bench{contacts}")
    else:
        tenant = tenant_create(
            name="Bench", slug=f"bench{contacts}", owner_email="o@bench.example",
            send_invitation=False,
        ).tenant  # fmt: skip
        bench_plan(tenant, contacts=contacts * 2)
    with schema_context(tenant.schema_name):
        data = built() if reuse else fill(contacts, campaigns)
        total = sum(seconds for _label, seconds in data["steps"])
        print(f"\n## {contacts:,} contacts, {contacts * campaigns:,} recipient rows")
        if reuse:
            print("(the data a --keep run built)")
        else:
            print("built in " + ", ".join(f"{label} {s:.1f} s" for label, s in data["steps"]))
            print(f"(total {total:.0f} s)")
        print(
            f"{'family':<11} {'rule':<72} {'first':>6} {'ours p50/p95 ms':>16} "
            f"{'changed':>8} {'contacts q.':>11} {'naive p50/p95 ms':>17} count"
        )
        touched = _touchable(data)
        for family, items in rules(data).items():
            for label, rule, naive in items:
                if only and only not in label:
                    continue
                # The first count after the build reads pages from disk and makes the
                # copies of lists' members (none kept yet); a builder counts again and again
                # as the marketer edits, so that one is shown on its own.
                members.forget()
                start = time.perf_counter()
                segment_count(rule=rule)
                first = (time.perf_counter() - start) * 1000
                ours = []
                for _ in range(repeat):
                    start = time.perf_counter()
                    result = segment_count(rule=rule)
                    ours.append((time.perf_counter() - start) * 1000)
                # A member of every list changed before each count (a sign-up between two
                # edits): every copy of a list is made again. Changed and back, so the data
                # ends as it was.
                changed = []
                for turn in range(CHANGED_ROUNDS):
                    _touch(touched, subscribed=turn % 2 == 1)
                    start = time.perf_counter()
                    again = segment_count(rule=rule)
                    changed.append((time.perf_counter() - start) * 1000)
                assert again["sendable"] == result["sendable"], (label, again, result)
                bare = []
                for _ in range(naive_repeat):
                    start = time.perf_counter()
                    snapshot = reachable(segment_contacts(rule=rule)).count()
                    bare.append((time.perf_counter() - start) * 1000)
                # The count shown must be what a send snapshots, exactly.
                assert snapshot == result["sendable"], (label, snapshot, result["sendable"])
                slow = []
                for _ in range(naive_repeat):
                    start = time.perf_counter()
                    naive_count = reachable(naive).count()
                    slow.append((time.perf_counter() - start) * 1000)
                if explain:
                    _explain(rule)
                agree = "" if naive_count == result["sendable"] else f" (naive {naive_count:,})"
                print(
                    f"{family:<11} {label:<72} {first:>6.0f} "
                    f"{statistics.median(ours):>7.0f}/{percentile(ours, 95):<7.0f} "
                    f"{statistics.median(changed):>7.0f} "
                    f"{statistics.median(bare):>6.0f}/{percentile(bare, 95):<5.0f} "
                    f"{statistics.median(slow):>8.0f}/{percentile(slow, 95):<7.0f}  "
                    f"{result['sendable']:,}{agree}"
                )


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--contacts", type=int, nargs="+", default=[100_000])
    parser.add_argument("--campaigns", type=int, default=10)
    parser.add_argument("--repeat", type=int, default=20)
    parser.add_argument("--naive-repeat", type=int, default=5)
    parser.add_argument("--explain", action="store_true", help="print our count's query plans")
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", action="store_true", help="measure on a kept database")
    parser.add_argument("--only", help="only the rules whose label contains this")
    args = parser.parse_args()
    with bench_database("engagex_bench_segments", keep=args.keep, reuse=args.reuse):
        for contacts in args.contacts:
            measure(
                contacts, args.campaigns, args.repeat, args.naive_repeat, args.explain,
                reuse=args.reuse, only=args.only,
            )  # fmt: skip


if __name__ == "__main__":
    main()
