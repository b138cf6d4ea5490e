"""Counts of rules made of other tables' rows (lists, campaigns, engagement) read those rows
and leave out the contacts that are not subscribed: they must equal the contacts query."""

import random
from datetime import timedelta

import pytest
from django.utils import timezone

from engagex.analytics.models import EmailEvent
from engagex.campaigns.models import Campaign, CampaignRecipient
from engagex.contacts.models import Contact, ContactStatus, Membership
from engagex.segments.registry import Context
from engagex.segments.rules import rule_members
from engagex.segments.selectors import rule_q, segment_count
from engagex.segments.services import segment_create
from tests.factories.campaigns import CampaignFactory
from tests.factories.contacts import ContactFactory, ContactGroupFactory, MembershipFactory


def rule(*conditions, match="all"):
    return {"version": 1, "match": match, "conditions": list(conditions)}


def by_rows(r) -> bool:
    return rule_members(r, context=Context(now=timezone.now())) is not None


def expected(r) -> dict:
    contacts = Contact.objects.filter(rule_q(r))
    # Who still has to confirm a sign-up: a campaign does not reach them.
    statuses: dict[int, set[str]] = {}
    for contact_id, status in Membership.objects.values_list("contact_id", "status"):
        statuses.setdefault(contact_id, set()).add(status)
    pending = [
        pk for pk, held in statuses.items() if "unconfirmed" in held and "subscribed" not in held
    ]
    return {
        "sendable": contacts.filter(status=ContactStatus.SUBSCRIBED)
        .exclude(pk__in=pending)
        .count(),
        "matching": contacts.count(),
    }


@pytest.fixture
def world(in_tenant):
    """300 contacts in every status, on 3 lists in every status, sent 2 campaigns with
    random outcomes, and clicks (several per contact, some of a deleted contact)."""
    rng = random.Random(23)
    now = timezone.now()
    lists = [ContactGroupFactory(name=f"L{i}") for i in range(3)]
    campaigns = [CampaignFactory(status=Campaign.Status.SENT) for _ in range(2)]
    statuses = [ContactStatus.SUBSCRIBED] * 5 + [
        ContactStatus.UNSUBSCRIBED,
        ContactStatus.BOUNCED,
        ContactStatus.COMPLAINED,
    ]
    for i in range(300):
        contact = Contact.objects.create(email=f"c{i}@x.example", status=rng.choice(statuses))
        for group in lists:
            if rng.random() < 0.5:
                MembershipFactory(contact=contact, group=group, status=rng.choice(
                    ["subscribed", "subscribed", "unconfirmed", "unsubscribed"]))  # fmt: skip
        for campaign in campaigns:
            if rng.random() < 0.3:
                continue
            opened = now - timedelta(days=rng.randint(0, 40)) if rng.random() < 0.4 else None
            clicked = opened + timedelta(minutes=5) if opened and rng.random() < 0.5 else None
            recipient = CampaignRecipient.objects.create(
                campaign=campaign, contact=contact, email=contact.email,
                status=rng.choice(["sent", "sent", "sent", "failed"]), opened_at=opened,
                clicked_at=clicked, bounced_at=now if rng.random() < 0.05 else None,
            )  # fmt: skip
            for n in range(rng.randint(1, 3) if clicked else 0):
                EmailEvent.objects.create(
                    event_id=f"e{recipient.pk}-{n}", type="click", campaign_id=campaign.pk,
                    recipient_id=recipient.pk, contact_id=contact.pk, occurred_at=clicked,
                    received_at=now, url=rng.choice(["https://s.example/SALE", "https://s.example/blog"]),
                )  # fmt: skip
    EmailEvent.objects.create(
        event_id="gone", type="click", campaign_id=campaigns[0].pk, recipient_id=0, contact_id=None,
        occurred_at=now, received_at=now, url="https://s.example/sale",
    )  # fmt: skip
    gone = ContactFactory()  # clicked, then deleted: its events keep its id
    CampaignRecipient.objects.create(  # … and its recipient row stays, without a contact
        campaign_id=campaigns[0].pk, contact=gone, email=gone.email, status="sent",
        bounced_at=now,
    )  # fmt: skip
    EmailEvent.objects.create(
        event_id="deleted", type="click", campaign_id=campaigns[0].pk, recipient_id=0,
        contact_id=gone.pk, occurred_at=now, received_at=now, url="https://s.example/sale",
    )  # fmt: skip
    gone.delete()
    on = lambda group, op="is_member": {"field": "list", "op": op, "value": group.pk}  # noqa: E731
    clicked = {"field": "clicked_link", "op": "contains", "value": "sale"}
    segments = {
        "two": segment_create(name="On 0, clicked", rule=rule(on(lists[0]), clicked)),
        "one": segment_create(name="Not on 1", rule=rule(on(lists[1], "is_not_member"))),
        "fields": segment_create(
            name="At x", rule=rule({"field": "email_domain", "op": "is", "value": "x.example"})
        ),
    }
    segments["nested"] = segment_create(
        name="In two",
        rule=rule({"field": "segment", "op": "is_member", "value": segments["two"].pk}),
    )
    return {
        "lists": [g.pk for g in lists],
        "campaigns": [c.pk for c in campaigns],
        "segments": {name: segment.pk for name, segment in segments.items()},
    }


def rules_by_rows(world) -> list[dict]:
    a, b, c = world["lists"]
    first, second = world["campaigns"]
    on = lambda pk, **more: {"field": "list", "op": "is_member", "value": pk, **more}  # noqa: E731
    return [
        rule(on(a)),
        rule(on(b, status="unconfirmed")),
        rule(on(c, status="any")),
        rule(on(a), {"field": "list", "op": "is_not_member", "value": b}),
        rule(on(a), {"match": "all", "conditions": [on(c)]}, match="all"),
        rule({"match": "any", "conditions": [on(b)]}),
        rule({"field": "campaign", "op": "received", "value": first}),
        rule({"field": "campaign", "op": "opened", "value": first}),
        rule({"field": "campaign", "op": "clicked", "value": second}),
        rule({"field": "campaign", "op": "not_opened", "value": second}, on(a)),
        rule({"field": "opened_any", "op": "within_last_days", "value": 20}),
        rule({"field": "clicked_any", "op": "within_last_days", "value": 30}),
        rule({"field": "opens", "op": "at_least", "value": {"count": 2, "days": 40}}),
        rule({"field": "clicked_link", "op": "contains", "value": "sale"}),
        rule({"field": "clicked_link", "op": "contains", "value": "sale"}, on(b)),
        rule({"field": "bounced", "op": "ever"}),
        rule(on(a), {"field": "bounced", "op": "never"}),
        rule(on(a), {"field": "complained", "op": "never"}),
        rule(inside(world, "two")),
        rule(inside(world, "nested"), on(c)),
        rule(on(a), inside(world, "one")),
        rule(on(c), inside(world, "one", "is_not_member")),  # on 1 after all
    ]


def inside(world, name, op="is_member"):
    return {"field": "segment", "op": op, "value": world["segments"][name]}


def test_counts_by_rows_equal_the_contacts_query_on_randomised_data(world):
    for r in rules_by_rows(world):
        assert by_rows(r), r
        counted = segment_count(rule=r, every_status=True)
        want = expected(r)

        assert {k: counted[k] for k in want} == want, r
        assert want["sendable"] > 0, r
        matching = set(Contact.objects.filter(rule_q(r)).values_list("pk", flat=True))
        sample = [row["pk"] for row in counted["sample"]]
        assert len(sample) == len(set(sample)) == min(10, len(matching)), r
        assert set(sample) <= matching, r


def test_the_sample_finds_ten_contacts_past_many_clicks_of_one(in_tenant):
    campaign = CampaignFactory(status=Campaign.Status.SENT)
    now = timezone.now()
    busy, *others = [ContactFactory() for _ in range(11)]
    for n in range(250):  # more rows of one contact than the sample's first read
        EmailEvent.objects.create(
            event_id=f"b{n}", type="click", campaign_id=campaign.pk, recipient_id=0,
            contact_id=busy.pk,
            occurred_at=now, received_at=now, url="https://s.example/sale",
        )  # fmt: skip
    for n, contact in enumerate(others):
        EmailEvent.objects.create(
            event_id=f"o{n}", type="click", campaign_id=campaign.pk, recipient_id=0,
            contact_id=contact.pk,
            occurred_at=now, received_at=now, url="https://s.example/sale",
        )  # fmt: skip

    counted = segment_count(rule=rule({"field": "clicked_link", "op": "contains", "value": "sale"}))

    assert counted["sendable"] == 11
    assert len({row["pk"] for row in counted["sample"]}) == 10


def test_rules_that_need_the_contacts_are_counted_by_the_contacts_query(world):
    a, b, _c = world["lists"]
    first, _second = world["campaigns"]
    on = {"field": "list", "op": "is_member", "value": a}
    for r in [
        rule(),  # everyone
        rule({"field": "list", "op": "is_not_member", "value": b}),  # nothing to start from
        rule(on, {"field": "list", "op": "is_member", "value": b}, match="any"),
        rule(on, {"field": "email_domain", "op": "is", "value": "x.example"}),
        rule(on, inside(world, "fields")),  # a segment of contact fields
        rule(inside(world, "one")),  # a segment that only leaves out
        rule(on, inside(world, "two", "is_not_member")),  # not (A and B)
        rule(on, inside(world, "nested", "is_not_member")),
        rule({"field": "campaign", "op": "opened", "value": first, "include_machine_opens": True}),
        rule({"field": "opens", "op": "at_least", "value": {"count": 51, "days": 40}}),
    ]:
        assert not by_rows(r), r
        counted = segment_count(rule=r, every_status=True)
        assert {k: counted[k] for k in ("sendable", "matching")} == expected(r), r


def test_counts_by_rows_never_cross_workspaces(tenant, other_tenant):
    from django_tenants.utils import schema_context

    with schema_context(tenant.schema_name):
        mine = ContactGroupFactory(name="News")
        for _n in range(3):
            MembershipFactory(contact=ContactFactory(), group=mine)
        r = rule({"field": "list", "op": "is_member", "value": mine.pk})
        assert segment_count(rule=r)["sendable"] == 3
    with schema_context(other_tenant.schema_name):
        theirs = ContactGroupFactory(name="News")
        MembershipFactory(contact=ContactFactory(), group=theirs)
        r = rule({"field": "list", "op": "is_member", "value": theirs.pk})
        counted = segment_count(rule=r)
        assert counted["sendable"] == 1
        assert [row["pk"] for row in counted["sample"]] == list(
            Contact.objects.values_list("pk", flat=True)
        )
