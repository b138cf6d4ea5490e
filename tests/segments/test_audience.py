"""Segments as campaign audiences: the count a segment shows is what a send snapshots."""

import random
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from engagex.campaigns.models import Campaign, CampaignRecipient
from engagex.campaigns.services.campaigns import campaign_audience, campaign_start
from engagex.contacts.models import AttributeDefinition, Contact, ContactStatus
from engagex.segments.models import CampaignSegment
from engagex.segments.selectors import segment_count
from engagex.segments.services import campaign_segments_set, segment_create
from tests.factories.campaigns import CampaignFactory
from tests.factories.contacts import ContactGroupFactory, MembershipFactory


def rule(*conditions, match="all"):
    return {"version": 1, "match": match, "conditions": list(conditions)}


def test_segment_count_equals_the_snapshot_on_randomised_data(in_tenant):
    rng = random.Random(17)
    AttributeDefinition.objects.create(name="plan", type="text")
    AttributeDefinition.objects.create(name="score", type="number")
    AttributeDefinition.objects.create(name="vip", type="boolean")
    lists = [ContactGroupFactory(name=f"L{i}") for i in range(3)]
    earlier = CampaignFactory(status=Campaign.Status.SENT)
    now = timezone.now()
    statuses = [ContactStatus.SUBSCRIBED] * 6 + [ContactStatus.UNSUBSCRIBED, ContactStatus.BOUNCED]
    for i in range(300):
        attributes = {}
        if rng.random() < 0.8:
            attributes["plan"] = rng.choice(["free", "pro", "team"])
        if rng.random() < 0.7:
            attributes["score"] = rng.choice([rng.randint(0, 100), str(rng.randint(0, 100))])
        if rng.random() < 0.5:
            attributes["vip"] = rng.random() < 0.3
        contact = Contact.objects.create(
            email=f"c{i}@{rng.choice(['a', 'b', 'c'])}.example",
            language=rng.choice(["en", "de", ""]),
            status=rng.choice(statuses),
            attributes=attributes,
        )
        for group in lists:
            if rng.random() < 0.4:
                MembershipFactory(contact=contact, group=group, status=rng.choice(
                    ["subscribed", "subscribed", "unconfirmed", "unsubscribed"]))  # fmt: skip
        if rng.random() < 0.6:
            opened = now - timedelta(days=rng.randint(0, 60)) if rng.random() < 0.4 else None
            CampaignRecipient.objects.create(
                campaign=earlier, contact=contact, email=contact.email, status="sent",
                opened_at=opened,
            )  # fmt: skip
    rules = [
        rule(
            {"field": "attribute", "name": "plan", "op": "is", "value": "pro"},
            {"field": "email_domain", "op": "is_not", "value": "c.example"},
        ),
        rule(
            {"field": "attribute", "name": "score", "op": "between", "value": [20, 70]},
            {
                "match": "any",
                "conditions": [
                    {"field": "list", "op": "is_member", "value": lists[0].pk},
                    {"field": "attribute", "name": "vip", "op": "is", "value": True},
                    {"field": "opened_any", "op": "within_last_days", "value": 30},
                ],
            },
        ),
        rule(
            {"field": "campaign", "op": "not_opened", "value": earlier.pk},
            {"field": "language", "op": "is_not", "value": "de"},
            match="any",
        ),
        # Counted by the lists' and recipients' rows alone (rule_members), not the contacts.
        rule(
            {"field": "list", "op": "is_member", "value": lists[0].pk},
            {"field": "list", "op": "is_not_member", "value": lists[1].pk},
        ),
        rule({"field": "campaign", "op": "not_opened", "value": earlier.pk}),
    ]
    for index, r in enumerate(rules):
        segment = segment_create(name=f"S{index}", rule=r)
        campaign = CampaignFactory()
        campaign_segments_set(campaign=campaign, include=[segment])

        shown = segment_count(segment=segment)["sendable"]
        campaign_start(campaign_id=campaign.pk)

        assert shown > 0
        assert CampaignRecipient.objects.filter(campaign=campaign).count() == shown


def test_lists_and_segments_add_up_and_excluded_segments_leave_out(in_tenant):
    news = ContactGroupFactory()
    a = MembershipFactory(group=news, contact=Contact.objects.create(email="a@x.example")).contact
    b = Contact.objects.create(email="b@shop.example")
    c = Contact.objects.create(email="c@shop.example", first_name="Cy")
    Contact.objects.create(email="d@else.example")
    shop = segment_create(
        name="Shop", rule=rule({"field": "email_domain", "op": "is", "value": "shop.example"})
    )
    cys = segment_create(name="Cys", rule=rule({"field": "first_name", "op": "is", "value": "cy"}))
    campaign = CampaignFactory()
    campaign.include_groups.set([news])
    campaign_segments_set(campaign=campaign, include=[shop], exclude=[cys])

    assert set(campaign_audience(campaign)) == {a, b}
    assert c.pk not in set(campaign_audience(campaign).values_list("pk", flat=True))


def test_a_segment_never_reaches_someone_still_to_confirm_a_sign_up(in_tenant):
    news, events = ContactGroupFactory(name="News"), ContactGroupFactory(name="Events")
    pending = Contact.objects.create(email="pending@shop.example")  # a double-opt-in sign-up
    MembershipFactory(contact=pending, group=news, status="unconfirmed")
    both = Contact.objects.create(email="both@shop.example")  # confirmed elsewhere
    MembershipFactory(contact=both, group=news, status="unconfirmed")
    MembershipFactory(contact=both, group=events, status="subscribed")
    plain = Contact.objects.create(email="plain@shop.example")  # imported with consent, no list
    shop = rule({"field": "email_domain", "op": "is", "value": "shop.example"})
    unconfirmed = rule(
        {"field": "list", "op": "is_member", "value": news.pk, "status": "unconfirmed"}
    )
    campaign = CampaignFactory()
    campaign_segments_set(campaign=campaign, include=[segment_create(name="Shop", rule=shop)])

    assert set(campaign_audience(campaign)) == {both, plain}
    assert segment_count(rule=shop)["sendable"] == 2
    assert segment_count(rule=unconfirmed)["sendable"] == 1  # counted from the rows
    # Shown, not counted: the sample is of whom the rule matches.
    assert pending.pk in {row["pk"] for row in segment_count(rule=shop)["sample"]}

    pending.memberships.update(status="subscribed")  # they confirmed

    assert set(campaign_audience(campaign)) == {pending, both, plain}
    assert segment_count(rule=shop)["sendable"] == 3


def test_a_campaign_whose_segment_became_empty_is_refused_with_the_reason(in_tenant):
    Contact.objects.create(email="a@shop.example")
    shop = segment_create(
        name="Shop", rule=rule({"field": "email_domain", "op": "is", "value": "shop.example"})
    )
    campaign = CampaignFactory()
    campaign_segments_set(campaign=campaign, include=[shop])
    Contact.objects.filter(email="a@shop.example").update(status=ContactStatus.UNSUBSCRIBED)

    with pytest.raises(ValidationError) as error:
        campaign_start(campaign_id=campaign.pk)

    assert error.value.messages == [
        "This campaign has no recipients: its segment(s) “Shop” match no subscribed contacts "
        "(and its lists add none)."
    ]
    campaign.refresh_from_db()
    assert (campaign.status, CampaignRecipient.objects.count()) == (Campaign.Status.DRAFT, 0)


def test_a_campaign_whose_segment_names_a_deleted_list_is_refused(in_tenant):
    news = ContactGroupFactory(name="News")
    Contact.objects.create(email="a@x.example")
    readers = segment_create(
        name="Readers", rule=rule({"field": "list", "op": "is_not_member", "value": news.pk})
    )
    campaign = CampaignFactory()
    campaign_segments_set(campaign=campaign, exclude=[readers])
    news.delete()

    with pytest.raises(ValidationError) as error:
        campaign_start(campaign_id=campaign.pk)

    assert error.value.messages[0].startswith(
        "The segment “Readers” cannot be used as it stands: conditions[0].value: The list with id"
    )
    assert CampaignRecipient.objects.count() == 0


def test_a_duplicate_keeps_the_segments_and_a_resend_does_not(in_tenant):
    """A copy without its segments would go to every subscribed contact."""
    from engagex.campaigns.services.campaigns import campaign_duplicate
    from engagex.segments.resend import campaign_resend_non_openers
    from engagex.segments.selectors import campaign_segments
    from tests.factories.campaigns import CampaignRecipientFactory

    shop = segment_create(
        name="Shop", rule=rule({"field": "email_domain", "op": "is", "value": "shop.example"})
    )
    cys = segment_create(name="Cys", rule=rule({"field": "first_name", "op": "is", "value": "cy"}))
    campaign = CampaignFactory()
    campaign_segments_set(campaign=campaign, include=[shop], exclude=[cys])
    sent = CampaignFactory(status=Campaign.Status.SENT, started_at=timezone.now() - timedelta(2))
    CampaignSegment.objects.create(campaign=sent, segment=shop)
    CampaignRecipientFactory(campaign=sent)

    copy = campaign_duplicate(campaign=campaign)
    resend = campaign_resend_non_openers(campaign=sent, after_hours=24)

    assert [s.name for s in campaign_segments(copy.pk, exclude=False)] == ["Shop"]
    assert [s.name for s in campaign_segments(copy.pk, exclude=True)] == ["Cys"]
    assert campaign_segments(resend.pk, exclude=False) == []
