"""Segment rules: what they match, and every kind of bad rule refused with its path."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from engagex.analytics.models import EmailEvent
from engagex.contacts.models import AttributeDefinition, ContactStatus, MembershipStatus
from engagex.segments.models import Segment
from engagex.segments.selectors import segment_contacts, segment_count
from engagex.segments.services import segment_create, segment_delete, segment_update
from tests.factories.campaigns import CampaignFactory, CampaignRecipientFactory
from tests.factories.contacts import ContactFactory, ContactGroupFactory, MembershipFactory


def rule(*conditions, match="all"):
    return {"version": 1, "match": match, "conditions": list(conditions)}


def emails(r):
    return sorted(segment_contacts(rule=r).values_list("email", flat=True))


def refusal(r, **kwargs) -> dict:
    with pytest.raises(ValidationError) as error:
        segment_create(name="Bad", rule=r, **kwargs)
    assert Segment.objects.filter(name="Bad").count() == 0
    return error.value.message_dict


def test_contact_fields_with_nested_any_group(in_tenant):
    ContactFactory(email="ann@shop.example", first_name="Ann", language="de", soft_bounces=2)
    ContactFactory(email="bob@shop.example", first_name="Bob", language="en")
    ContactFactory(email="cy@other.example", first_name="Cy", language="de")

    r = rule(
        {"field": "email_domain", "op": "is", "value": "SHOP.example"},
        {
            "match": "any",
            "conditions": [
                {"field": "language", "op": "is", "value": "de"},
                {"field": "first_name", "op": "starts_with", "value": "bo"},
            ],
        },
    )

    assert emails(r) == ["ann@shop.example", "bob@shop.example"]
    assert emails(rule({"field": "soft_bounces", "op": "gt", "value": 1})) == ["ann@shop.example"]
    assert emails(rule({"field": "email_domain", "op": "is_not", "value": "shop.example"})) == [
        "cy@other.example"
    ]


def test_created_within_last_days_is_relative_to_when_the_rule_is_used(in_tenant):
    from engagex.contacts.models import Contact

    old, new = ContactFactory(email="old@x.example"), ContactFactory(email="new@x.example")
    Contact.objects.filter(pk=old.pk).update(created_at=timezone.now() - timedelta(days=40))

    r = rule({"field": "created_at", "op": "within_last_days", "value": 30})

    assert emails(r) == [new.email]
    Contact.objects.filter(pk=new.pk).update(created_at=timezone.now() - timedelta(days=31))
    assert emails(r) == []


def test_typed_attribute_operators(in_tenant):
    AttributeDefinition.objects.create(name="plan", type="text")
    AttributeDefinition.objects.create(name="seats", type="number")
    AttributeDefinition.objects.create(name="renews", type="date")
    AttributeDefinition.objects.create(name="vip", type="boolean")
    soon = (timezone.localdate() + timedelta(days=5)).isoformat()
    ContactFactory(email="a@x.example", attributes={"plan": "pro", "seats": 12, "renews": soon})
    ContactFactory(email="b@x.example", attributes={"plan": "free", "seats": "3", "vip": True})
    ContactFactory(email="c@x.example", attributes={"renews": "2020-01-01", "vip": "false"})

    def attr(name, op, value=None):
        return emails(rule({"field": "attribute", "name": name, "op": op, "value": value}))

    assert attr("plan", "is", "pro") == ["a@x.example"]
    assert attr("plan", "is_not", "pro") == ["b@x.example", "c@x.example"]
    assert attr("plan", "is_empty") == ["c@x.example"]
    assert attr("seats", "between", [3, 12]) == ["a@x.example", "b@x.example"]
    assert attr("seats", "lt", 5) == ["b@x.example"]
    assert attr("seats", "ne", 12) == ["b@x.example", "c@x.example"]
    assert attr("renews", "within_next_days", 7) == ["a@x.example"]
    assert attr("renews", "before", "2021-01-01") == ["c@x.example"]
    assert attr("renews", "anniversary_within_days", 7) == ["a@x.example"]
    assert attr("vip", "is", True) == ["b@x.example"]
    assert attr("vip", "is", False) == ["c@x.example"]


def test_text_is_compares_the_whole_value_and_is_not_takes_in_the_rest(in_tenant):
    """A text attribute's index keeps its first 200 characters: values alike that far still
    differ; a number stored before the attribute was typed matches as its text."""
    AttributeDefinition.objects.create(name="note", type="text")
    long = "x" * 250
    ContactFactory(email="a@x.example", attributes={"note": long})
    ContactFactory(email="b@x.example", attributes={"note": long + "y"})
    ContactFactory(email="c@x.example", attributes={"note": 5})
    ContactFactory(email="d@x.example", attributes={"note": None})
    ContactFactory(email="e@x.example")

    def attr(op, value):
        return emails(rule({"field": "attribute", "name": "note", "op": op, "value": value}))

    assert attr("is", long) == ["a@x.example"]
    assert attr("is", long[:200]) == []
    assert attr("is", "5") == ["c@x.example"]
    assert attr("is_not", long) == ["b@x.example", "c@x.example", "d@x.example", "e@x.example"]
    assert attr("is_not", "5") == ["a@x.example", "b@x.example", "d@x.example", "e@x.example"]


def test_an_attribute_named_like_a_number_is_a_key(in_tenant):
    """A column headed "2024" is the key "2024", not an array position."""
    AttributeDefinition.objects.create(name="2024", type="text")
    AttributeDefinition.objects.create(name="7", type="number")
    ContactFactory(email="a@x.example", attributes={"2024": "gold", "7": 3})
    ContactFactory(email="b@x.example", attributes={"2024": "silver"})

    def attr(name, op, value):
        return emails(rule({"field": "attribute", "name": name, "op": op, "value": value}))

    assert attr("2024", "is", "gold") == ["a@x.example"]
    assert attr("2024", "is_not", "gold") == ["b@x.example"]
    assert attr("7", "lt", 5) == ["a@x.example"]


def test_typed_attributes_are_indexed_with_the_status_and_awaiting_confirmation(in_tenant):
    """What lets a segment's count read only the index (bench/segment_count.py)."""
    from django.db import connection

    from engagex.contacts.services.attributes import attribute_definition_save

    for name, kind in [
        ("plan", "text"),
        ("seats", "number"),
        ("renews", "date"),
        ("vip", "boolean"),
    ]:
        attribute_definition_save(name=name, type=kind)
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE schemaname = current_schema() AND ("
            "indexname LIKE 'contact_attr_%' OR indexname = 'contact_domain_reach_idx')"
        )
        definitions = [row[0] for row in cursor.fetchall()]
    assert len(definitions) == 4  # plan, seats, renews and the email domain; yes/no has none
    assert all(d.endswith(", status, awaiting_confirmation)") for d in definitions)
    assert any("'plan'" in d for d in definitions)
    assert not any("'vip'" in d for d in definitions)


def test_date_attribute_values_that_are_not_dates_match_no_date_condition(in_tenant):
    # Stored before the attribute had a type (written straight to the table).
    from engagex.contacts.models import Contact

    AttributeDefinition.objects.create(name="birthday", type="date")
    Contact.objects.create(email="ok@x.example", attributes={"birthday": "1990-05-01"})
    Contact.objects.create(email="soon@x.example", attributes={"birthday": "soon"})
    Contact.objects.create(email="odd@x.example", attributes={"birthday": "2023-02-31"})

    assert emails(
        rule({"field": "attribute", "name": "birthday", "op": "before", "value": "2000-01-01"})
    ) == ["ok@x.example"]


def test_list_membership_and_status(in_tenant):
    news = ContactGroupFactory(name="News")
    a = MembershipFactory(group=news, contact=ContactFactory(email="a@x.example")).contact
    MembershipFactory(
        group=news, contact=ContactFactory(email="b@x.example"), status=MembershipStatus.UNCONFIRMED
    )
    ContactFactory(email="c@x.example")

    assert emails(rule({"field": "list", "op": "is_member", "value": news.pk})) == [a.email]
    unconfirmed = {"field": "list", "op": "is_member", "value": news.pk, "status": "unconfirmed"}
    assert emails(rule(unconfirmed)) == ["b@x.example"]
    anyone = {"field": "list", "op": "is_member", "value": news.pk, "status": "any"}
    assert emails(rule(anyone)) == ["a@x.example", "b@x.example"]
    assert emails(rule({"field": "list", "op": "is_not_member", "value": news.pk})) == [
        "b@x.example",
        "c@x.example",
    ]


def test_engagement_human_opens_apart_from_machine_opens(in_tenant):
    campaign = CampaignFactory(status="sent")
    now = timezone.now()
    human = CampaignRecipientFactory(
        campaign=campaign, contact=ContactFactory(email="h@x.example"), opened_at=now
    )
    machine = CampaignRecipientFactory(
        campaign=campaign, contact=ContactFactory(email="m@x.example")
    )
    CampaignRecipientFactory(
        campaign=campaign,
        contact=ContactFactory(email="k@x.example"),
        clicked_at=now,
        bounced_at=now,
    )
    EmailEvent.objects.create(
        event_id="e1", type="open", campaign_id=campaign.pk, recipient_id=machine.pk,
        contact_id=machine.contact_id, occurred_at=now, received_at=now, machine_open=True,
    )  # fmt: skip
    EmailEvent.objects.create(
        event_id="e2", type="click", campaign_id=campaign.pk, recipient_id=human.pk,
        contact_id=human.contact_id, occurred_at=now, received_at=now,
        url="https://shop.example/sale?x=1",
    )  # fmt: skip

    opened = {"field": "campaign", "op": "opened", "value": campaign.pk}
    assert emails(rule(opened)) == ["h@x.example"]
    assert emails(rule({**opened, "include_machine_opens": True})) == ["h@x.example", "m@x.example"]
    not_opened = {"field": "campaign", "op": "not_opened", "value": campaign.pk}
    assert emails(rule(not_opened)) == ["k@x.example", "m@x.example"]
    assert emails(rule({"field": "opened_any", "op": "within_last_days", "value": 7})) == [
        "h@x.example"
    ]
    assert emails(
        rule({"field": "opens", "op": "at_least", "value": {"count": 1, "days": 30}})
    ) == ["h@x.example"]
    assert (
        emails(rule({"field": "opens", "op": "at_least", "value": {"count": 2, "days": 30}})) == []
    )
    assert emails(rule({"field": "clicked_link", "op": "contains", "value": "/SALE"})) == [
        "h@x.example"
    ]
    assert emails(rule({"field": "bounced", "op": "ever"})) == ["k@x.example"]
    assert emails(rule({"field": "clicked_any", "op": "within_last_days", "value": 1})) == [
        "k@x.example"
    ]


def test_engagement_rules_on_the_summary_match_the_recipients_on_randomised_data(in_tenant):
    """Opens and clicks in the last N days and "at least K opens" read the contacts'
    engagement summary; each agrees with the same question asked of the recipients, also
    past the opens the summary keeps (K = 51 reads the recipients)."""
    import random

    from engagex.campaigns.models import OPEN_TIMES_KEPT, CampaignRecipient

    rng = random.Random(5)
    now = timezone.now()
    campaigns = [CampaignFactory(status="sent") for _ in range(6)]
    heavy = ContactFactory(email="heavy@x.example")
    for day in range(OPEN_TIMES_KEPT + 2):  # 52 opened campaigns in 52 days
        CampaignRecipientFactory(
            campaign=CampaignFactory(status="sent"), contact=heavy,
            opened_at=now - timedelta(days=day, hours=1),
        )  # fmt: skip
    for i in range(60):
        contact = ContactFactory(email=f"c{i}@x.example")
        for campaign in campaigns:
            if rng.random() < 0.7:
                # Half an hour off whole days: the rule's "now" comes a moment after this one.
                ago = timedelta(days=rng.randint(0, 40), minutes=30)
                opened = now - ago if rng.random() < 0.5 else None
                clicked = now - ago * rng.random() if rng.random() < 0.2 else None
                CampaignRecipientFactory(
                    campaign=campaign, contact=contact, opened_at=opened, clicked_at=clicked
                )

    def truth(count, days, column="opened_at"):
        since = now - timedelta(days=days)
        per_contact: dict = {}
        for contact_id, at in CampaignRecipient.objects.values_list("contact_id", column):
            if at is not None and at >= since:
                per_contact[contact_id] = per_contact.get(contact_id, 0) + 1
        return sorted(pk for pk, n in per_contact.items() if n >= count)

    def ids(r):
        return sorted(segment_contacts(rule=r).values_list("pk", flat=True))

    for days in (1, 7, 30):
        assert ids(rule({"field": "opened_any", "op": "within_last_days", "value": days})) == (
            truth(1, days)
        )
        assert ids(rule({"field": "clicked_any", "op": "within_last_days", "value": days})) == (
            truth(1, days, "clicked_at")
        )
    for count, days in ((2, 30), (3, 10), (5, 40), (OPEN_TIMES_KEPT, 60), (51, 60), (52, 60)):
        value = {"count": count, "days": days}
        assert ids(rule({"field": "opens", "op": "at_least", "value": value})) == truth(
            count, days
        ), value
    assert ids(rule({"field": "opens", "op": "at_least", "value": {"count": 52, "days": 60}})) == [
        heavy.pk
    ]


def test_segment_of_segments_and_count_with_sample(in_tenant):
    ContactFactory(email="a@shop.example")
    ContactFactory(email="b@shop.example", status=ContactStatus.UNSUBSCRIBED)
    ContactFactory(email="c@else.example")
    shop = segment_create(
        name="Shop", rule=rule({"field": "email_domain", "op": "is", "value": "shop.example"})
    )
    outside = segment_create(
        name="Outside", rule=rule({"field": "segment", "op": "is_not_member", "value": shop.pk})
    )

    counted = segment_count(segment=shop, every_status=True)
    assert (counted["matching"], counted["sendable"]) == (2, 1)
    assert [row["email"] for row in counted["sample"]] == ["b@shop.example", "a@shop.example"]
    assert sorted(segment_contacts(segment=outside).values_list("email", flat=True)) == [
        "c@else.example"
    ]


# --- bad rules ----------------------------------------------------------------------------
def test_unknown_field_operator_and_key_are_named_by_path(in_tenant):
    errors = refusal(
        rule({"field": "email", "op": "is", "value": "a@b.c"}, {"field": "shoe_size", "op": "is"})
    )
    assert errors == {"rule": ["conditions[1].field: Unknown field “shoe_size”."]}

    errors = refusal(rule({"field": "email", "op": "resembles", "value": "x"}))
    assert errors["rule"][0].startswith("conditions[0].op: “resembles” is not an operator of")

    errors = refusal(rule({"field": "email", "op": "is", "value": "x", "sql": "1=1"}))
    assert errors == {"rule": ["conditions[0].sql: Unknown key “sql”."]}


def test_wrong_value_types_are_refused(in_tenant):
    AttributeDefinition.objects.create(name="seats", type="number")
    nested = rule(
        {
            "match": "any",
            "conditions": [
                {"field": "attribute", "name": "seats", "op": "gt", "value": "many"},
            ],
        }
    )
    assert refusal(nested) == {"rule": ["conditions[0].conditions[0].value: Enter a number."]}
    assert refusal(rule({"field": "created_at", "op": "before", "value": "yesterday"})) == {
        "rule": ["conditions[0].value: Enter a date as YYYY-MM-DD."]
    }
    assert refusal(rule({"field": "soft_bounces", "op": "between", "value": [5, 1]}))["rule"][
        0
    ].startswith("conditions[0].value: Enter two numbers")
    assert refusal(rule({"field": "status", "op": "is", "value": "happy"}))["rule"][0].startswith(
        "conditions[0].value: Choose one of: subscribed"
    )
    assert refusal(rule({"field": "attribute", "name": "shoe", "op": "is", "value": "x"}))["rule"][
        0
    ].startswith("conditions[0].name: There is no custom attribute “shoe”")
    # The date operators are not offered for a number attribute.
    assert (
        "conditions[0].op"
        in refusal(
            rule({"field": "attribute", "name": "seats", "op": "before", "value": "2020-01-01"})
        )["rule"][0]
    )
    assert refusal({"version": 2, "conditions": []}) == {
        "rule": ["version: This rule is of version 2; version 1 is understood."]
    }
    assert refusal(rule({"match": "any", "conditions": []})) == {
        "rule": [
            "conditions[0].conditions: This group has no conditions: add one or remove the group."
        ]
    }


def test_deleted_list_or_campaign_in_a_rule(in_tenant):
    news = ContactGroupFactory()
    campaign = CampaignFactory()
    saved = segment_create(
        name="Readers",
        rule=rule(
            {"field": "list", "op": "is_member", "value": news.pk},
            {"field": "campaign", "op": "opened", "value": campaign.pk},
        ),
    )
    news_id, campaign_id = news.pk, campaign.pk
    news.delete()
    campaign.delete()

    with pytest.raises(ValidationError) as error:
        segment_count(segment=saved)
    assert error.value.message_dict == {
        "conditions[0].value": [
            f"The list with id {news_id} does not exist (any more): choose another list."
        ]
    }
    errors = refusal(rule({"field": "campaign", "op": "opened", "value": campaign_id}))
    assert errors == {
        "rule": [
            f"conditions[0].value: The campaign with id {campaign_id} does not exist (any more): "
            "choose another one."
        ]
    }


def test_a_segment_cannot_include_itself_directly_or_through_another(in_tenant):
    a = segment_create(name="A", rule=rule({"field": "email", "op": "contains", "value": "@"}))
    b = segment_create(name="B", rule=rule({"field": "segment", "op": "is_member", "value": a.pk}))
    before = a.rule

    with pytest.raises(ValidationError) as error:
        segment_update(segment=a, rule=rule({"field": "segment", "op": "is_member", "value": a.pk}))
    assert error.value.message_dict["rule"] == [
        "conditions[0].value: The segment “A” includes this segment (directly or through "
        "another): a segment cannot include itself."
    ]
    with pytest.raises(ValidationError) as error:
        segment_update(
            segment=a, rule=rule({"field": "segment", "op": "is_not_member", "value": b.pk})
        )
    assert error.value.message_dict["rule"][0].startswith(
        "conditions[0].value: The segment “B” includes this segment"
    )
    a.refresh_from_db()
    assert a.rule == before


def test_a_segment_used_by_another_is_not_deleted(in_tenant):
    a = segment_create(name="A", rule=rule())
    segment_create(name="B", rule=rule({"field": "segment", "op": "is_member", "value": a.pk}))

    with pytest.raises(ValidationError) as error:
        segment_delete(segment=a)

    assert "“B”" in error.value.messages[0]
    assert Segment.objects.filter(pk=a.pk).exists()


def test_segments_and_counts_never_cross_workspaces(tenant, other_tenant):
    from django_tenants.utils import schema_context

    with schema_context(tenant.schema_name):
        ContactFactory(email="a@shop.example")
        mine = segment_create(
            name="Shop", rule=rule({"field": "email_domain", "op": "is", "value": "shop.example"})
        )
    with schema_context(other_tenant.schema_name):
        ContactFactory(email="b@shop.example")
        ContactFactory(email="c@shop.example")
        assert not Segment.objects.filter(pk=mine.pk, name="Shop").exists()
        theirs = segment_count(rule=mine.rule, every_status=True)
        assert theirs["matching"] == 2
        # Naming the other workspace's segment reaches nothing of it.
        with pytest.raises(ValidationError):
            segment_count(rule=rule({"field": "segment", "op": "is_member", "value": mine.pk}))
    with schema_context(tenant.schema_name):
        assert segment_count(segment=mine, every_status=True)["matching"] == 1


def test_is_empty_counts_absent_null_and_blank_values(in_tenant):
    from engagex.contacts.models import Contact

    AttributeDefinition.objects.create(name="plan", type="text")
    Contact.objects.create(email="a@x.example", attributes={})
    Contact.objects.create(email="b@x.example", attributes={"plan": None})
    Contact.objects.create(email="c@x.example", attributes={"plan": ""})
    Contact.objects.create(email="d@x.example", attributes={"plan": "pro"})

    empty = rule({"field": "attribute", "name": "plan", "op": "is_empty"})
    filled = rule({"field": "attribute", "name": "plan", "op": "is_not_empty"})

    assert emails(empty) == ["a@x.example", "b@x.example", "c@x.example"]
    assert emails(filled) == ["d@x.example"]


def test_a_segment_used_by_a_draft_campaign_is_not_deleted(in_tenant):
    from engagex.segments.services import campaign_segments_set

    segment = segment_create(name="A", rule=rule())
    campaign_segments_set(campaign=CampaignFactory(), include=[segment])

    with pytest.raises(ValidationError):
        segment_delete(segment=segment)

    assert Segment.objects.filter(pk=segment.pk).exists()
