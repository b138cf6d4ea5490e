"""Campaigns over the API send to segments: `include_segments` / `exclude_segments` (ids),
checked by the campaign services like the console's (never by the serializer)."""

from django_tenants.utils import schema_context

from engagex.campaigns.models import Campaign, CampaignRecipient
from engagex.contacts.models import ContactStatus
from engagex.segments.models import CampaignSegment, Segment
from engagex.segments.selectors import campaign_segments
from engagex.segments.services import (
    SEGMENTS_OVERLAP,
    UNKNOWN_SEGMENTS,
    segment_create,
    segment_delete,
)
from tests.factories.campaigns import CampaignFactory, TemplateFactory
from tests.factories.contacts import ContactFactory
from tests.factories.domains import verified_domain

API = "/api/v1"


def rule(*conditions):
    return {"version": 1, "match": "all", "conditions": list(conditions)}


def shop_rule():
    return rule({"field": "email_domain", "op": "is", "value": "shop.example"})


def draft_body(template, **extra):
    return {
        "name": "To the shop",
        "template": template.pk,
        "from_name": "Alpha",
        "from_email": "news@alpha.example",
        **extra,
    }


def fields_of(response) -> dict:
    assert response.status_code == 400, response.content
    return response.json()["error"]["fields"]


def test_a_draft_sends_to_its_segments_minus_its_excluded_ones_and_reads_them_back(
    tenant, api, django_capture_on_commit_callbacks
):
    with schema_context(tenant.schema_name):
        verified_domain("alpha.example")
        template = TemplateFactory()
        for i in range(5):
            ContactFactory(email=f"buyer{i}@shop.example")
        ContactFactory(email="gone@shop.example", status=ContactStatus.UNSUBSCRIBED)
        ContactFactory(email="pat@elsewhere.example")
        cy = ContactFactory(email="cy@shop.example", first_name="Cy")
        shop = segment_create(name="Shop", rule=shop_rule())
        cys = segment_create(
            name="Cys", rule=rule({"field": "first_name", "op": "is", "value": "Cy"})
        )

    created = api.post(
        f"{API}/campaigns/",
        draft_body(template, include_segments=[shop.pk], exclude_segments=[cys.pk]),
        content_type="application/json",
    )
    campaign_id = created.json()["id"]
    shown = api.get(f"{API}/campaigns/{campaign_id}/").json()
    listed = api.get(f"{API}/campaigns/").json()["results"]
    # The segment alone counts cy; the campaign leaves cy out through the excluded one.
    counted = api.get(f"{API}/segments/{shop.pk}/count/").json()["sendable"]
    with django_capture_on_commit_callbacks(execute=True):
        sent = api.post(f"{API}/campaigns/{campaign_id}/send/")

    assert created.status_code == 201, created.content
    assert (created.json()["include_segments"], created.json()["exclude_segments"]) == (
        [shop.pk],
        [cys.pk],
    )
    assert (shown["include_segments"], shown["exclude_segments"]) == ([shop.pk], [cys.pk])
    assert [(c["include_segments"], c["exclude_segments"]) for c in listed] == [
        ([shop.pk], [cys.pk])
    ]
    assert counted == 6
    assert sent.status_code == 202, sent.content
    with schema_context(tenant.schema_name):
        recipients = set(
            CampaignRecipient.objects.filter(campaign_id=campaign_id).values_list(
                "email", flat=True
            )
        )
        total = Campaign.objects.get(pk=campaign_id).recipients_total
    assert recipients == {f"buyer{i}@shop.example" for i in range(5)}
    assert cy.email not in recipients
    assert total == sent.json()["recipients_total"] == counted - 1


def test_a_draft_to_one_segment_snapshots_the_segments_count(
    tenant, api, django_capture_on_commit_callbacks
):
    with schema_context(tenant.schema_name):
        verified_domain("alpha.example")
        template = TemplateFactory()
        for i in range(4):
            ContactFactory(email=f"buyer{i}@shop.example")
        ContactFactory(email="bounced@shop.example", status=ContactStatus.BOUNCED)
        ContactFactory(email="pat@elsewhere.example")
        shop = segment_create(name="Shop", rule=shop_rule())
    campaign_id = api.post(
        f"{API}/campaigns/",
        draft_body(template, include_segments=[shop.pk]),
        content_type="application/json",
    ).json()["id"]

    counted = api.get(f"{API}/segments/{shop.pk}/count/").json()["sendable"]
    with django_capture_on_commit_callbacks(execute=True):
        sent = api.post(f"{API}/campaigns/{campaign_id}/send/").json()

    with schema_context(tenant.schema_name):
        snapshot = CampaignRecipient.objects.filter(campaign_id=campaign_id).count()
    assert counted == 4
    assert snapshot == sent["recipients_total"] == counted


def test_another_workspaces_segment_is_400_naming_the_field_and_nothing_is_stored(
    tenant, other_tenant, api
):
    with schema_context(tenant.schema_name):
        verified_domain("alpha.example")
        template = TemplateFactory()
        mine = segment_create(name="Mine", rule=shop_rule())
        draft = CampaignFactory()
        highest = Segment.objects.order_by("-pk").values_list("pk", flat=True).first()
    with schema_context(other_tenant.schema_name):
        # Each workspace numbers its own segments: pick one whose id names none here.
        theirs = segment_create(name="Theirs", rule=shop_rule())
        while theirs.pk <= highest:
            theirs = segment_create(name=f"Theirs {theirs.pk}", rule=shop_rule())

    created = api.post(
        f"{API}/campaigns/",
        draft_body(template, include_segments=[mine.pk, theirs.pk]),
        content_type="application/json",
    )
    patched = api.patch(
        f"{API}/campaigns/{draft.pk}/",
        {"exclude_segments": [theirs.pk]},
        content_type="application/json",
    )

    message = [str(UNKNOWN_SEGMENTS.format(ids=theirs.pk))]
    assert fields_of(created) == {"include_segments": message}
    assert fields_of(patched) == {"exclude_segments": message}
    with schema_context(tenant.schema_name):
        assert list(Campaign.objects.values_list("pk", flat=True)) == [draft.pk]
        assert CampaignSegment.objects.count() == 0


def test_a_deleted_segment_is_400_naming_the_field(tenant, api):
    with schema_context(tenant.schema_name):
        verified_domain("alpha.example")
        template = TemplateFactory()
        gone = segment_create(name="Gone", rule=shop_rule())
        gone_id = gone.pk
        segment_delete(segment=gone)

    created = api.post(
        f"{API}/campaigns/",
        draft_body(template, include_segments=[gone_id]),
        content_type="application/json",
    )

    assert fields_of(created) == {"include_segments": [str(UNKNOWN_SEGMENTS.format(ids=gone_id))]}
    with schema_context(tenant.schema_name):
        assert not Campaign.objects.exists()


def test_segment_errors_come_with_the_drafts_other_errors_and_overlap_is_checked(tenant, api):
    """Every error at once, each on its field, as for groups; a PATCH of the excluded
    segments alone is checked against those it already sends to."""
    with schema_context(tenant.schema_name):
        verified_domain("alpha.example")
        template = TemplateFactory()
        shop = segment_create(name="Shop", rule=shop_rule())
        draft = CampaignFactory()
    body = draft_body(
        template, from_email="news@nowhere.example", include_segments=[shop.pk, 999_999]
    )

    both = api.post(f"{API}/campaigns/", body, content_type="application/json")
    set_include = api.patch(
        f"{API}/campaigns/{draft.pk}/",
        {"include_segments": [shop.pk]},
        content_type="application/json",
    )
    overlap = api.patch(
        f"{API}/campaigns/{draft.pk}/",
        {"exclude_segments": [shop.pk]},
        content_type="application/json",
    )
    not_ids = api.patch(
        f"{API}/campaigns/{draft.pk}/",
        {"include_segments": ["Shop"]},
        content_type="application/json",
    )

    assert set(fields_of(both)) == {"from_email", "include_segments"}
    assert set_include.status_code == 200
    assert set_include.json()["include_segments"] == [shop.pk]
    assert fields_of(overlap) == {"exclude_segments": [str(SEGMENTS_OVERLAP.format(names="Shop"))]}
    assert "include_segments" in fields_of(not_ids)
    with schema_context(tenant.schema_name):
        assert [s.pk for s in campaign_segments(draft.pk, exclude=False)] == [shop.pk]
        assert campaign_segments(draft.pk, exclude=True) == []


def test_a_change_without_segments_keeps_them_and_empty_lists_clear_them(tenant, api):
    with schema_context(tenant.schema_name):
        verified_domain("alpha.example")
        template = TemplateFactory()
        shop = segment_create(name="Shop", rule=shop_rule())
    campaign_id = api.post(
        f"{API}/campaigns/",
        draft_body(template, include_segments=[shop.pk]),
        content_type="application/json",
    ).json()["id"]

    renamed = api.patch(
        f"{API}/campaigns/{campaign_id}/", {"name": "Renamed"}, content_type="application/json"
    )
    moved = api.patch(
        f"{API}/campaigns/{campaign_id}/",
        {"include_segments": [], "exclude_segments": [shop.pk]},
        content_type="application/json",
    )
    cleared = api.patch(
        f"{API}/campaigns/{campaign_id}/",
        {"exclude_segments": []},
        content_type="application/json",
    )

    assert renamed.json()["include_segments"] == [shop.pk]
    assert (moved.json()["include_segments"], moved.json()["exclude_segments"]) == ([], [shop.pk])
    assert (cleared.json()["include_segments"], cleared.json()["exclude_segments"]) == ([], [])
