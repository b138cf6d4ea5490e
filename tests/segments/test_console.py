"""The segments console: builder count endpoint, the contact-list filter, the API."""

import json

from django_tenants.utils import schema_context

from engagex.contacts.models import Contact
from engagex.segments.models import Segment
from engagex.segments.services import segment_create
from tests.api.conftest import key_client

SHOP = {
    "version": 1,
    "match": "all",
    "conditions": [{"field": "email_domain", "op": "is", "value": "shop.example"}],
}


def _people(tenant):
    with schema_context(tenant.schema_name):
        Contact.objects.create(email="a@shop.example")
        Contact.objects.create(email="b@shop.example", status="unsubscribed")
        Contact.objects.create(email="c@else.example")


def test_builder_counts_an_unsaved_rule_with_a_sample(tenant, owner_client):
    _people(tenant)

    response = owner_client.post(
        "/admin/segments/segment/count/",
        json.dumps({"rule": SHOP}),
        content_type="application/json",
    )

    assert response.status_code == 200
    body = response.json()
    assert (body["sendable"], body["sendable_text"]) == (1, "1")
    assert sorted(row["email"] for row in body["sample"]) == ["a@shop.example", "b@shop.example"]
    # A contact not subscribed is marked with its status in the console's language.
    assert {row["email"]: row["status_label"] for row in body["sample"]} == {
        "a@shop.example": "Subscribed",
        "b@shop.example": "Unsubscribed",
    }


def test_builder_count_of_a_bad_rule_is_a_400_naming_the_condition(tenant, owner_client):
    bad = {"version": 1, "conditions": [{"field": "email", "op": "is"}]}

    response = owner_client.post(
        "/admin/segments/segment/count/", json.dumps({"rule": bad}), content_type="application/json"
    )

    assert response.status_code == 400
    # Also by path, for the builder to put the message beside the condition.
    assert response.json() == {
        "errors": ["conditions[0].value: Enter a text of at most 255 characters."],
        "fields": {"conditions[0].value": ["Enter a text of at most 255 characters."]},
    }
    response = owner_client.post(
        "/admin/segments/segment/count/", "{not json", content_type="application/json"
    )
    assert response.status_code == 400


def test_segment_add_page_saves_and_refuses_on_the_rule_field(tenant, owner_client):
    page = owner_client.get("/admin/segments/segment/add/")
    assert page.status_code == 200
    assert b"engagex/segments.js" in page.content

    bad = {"version": 1, "conditions": [{"field": "shoe", "op": "is", "value": "x"}]}
    response = owner_client.post(
        "/admin/segments/segment/add/", {"name": "Bad", "description": "", "rule": json.dumps(bad)}
    )
    assert response.status_code == 200
    assert "conditions[0].field: Unknown field “shoe”." in response.content.decode()
    response = owner_client.post(
        "/admin/segments/segment/add/",
        {"name": "Shop", "description": "", "rule": json.dumps(SHOP)},
    )
    assert response.status_code == 302
    with schema_context(tenant.schema_name):
        assert list(Segment.objects.values_list("name", flat=True)) == ["Shop"]


def test_contact_list_filters_by_segment(tenant, owner_client):
    _people(tenant)
    with schema_context(tenant.schema_name):
        shop = segment_create(name="Shop", rule=SHOP)

    page = owner_client.get(f"/admin/contacts/contact/?segment={shop.pk}")

    assert page.status_code == 200
    text = page.content.decode()
    assert "a@shop.example" in text
    assert "b@shop.example" in text
    assert "c@else.example" not in text


def test_api_crud_count_members_and_bad_rule(tenant, other_tenant, owner):
    api = key_client(tenant, user=owner)
    _people(tenant)

    bad = api.post(
        "/api/v1/segments/",
        {"name": "Bad", "rule": {"conditions": [{"field": "status", "op": "is", "value": "x"}]}},
        content_type="application/json",
    )
    assert bad.status_code == 400
    assert "conditions[0].value" in json.dumps(bad.json())
    created = api.post(
        "/api/v1/segments/", {"name": "Shop", "rule": SHOP}, content_type="application/json"
    )
    assert created.status_code == 201
    pk = created.json()["id"]
    count = api.get(f"/api/v1/segments/{pk}/count/")
    assert (count.json()["matching"], count.json()["sendable"]) == (2, 1)
    members = api.get(f"/api/v1/segments/{pk}/members/?page_size=1")
    assert [row["email"] for row in members.json()["results"]] == ["b@shop.example"]
    assert members.json()["next"]
    # Another workspace's key sees no such segment.
    assert key_client(other_tenant).get(f"/api/v1/segments/{pk}/count/").status_code == 404
    assert api.delete(f"/api/v1/segments/{pk}/").status_code == 204


def test_the_builder_offers_the_members_status_on_a_list_in_the_console_language(tenant):
    from django.utils import translation

    from engagex.segments.selectors import builder_catalogue

    with schema_context(tenant.schema_name), translation.override("de"):
        entry = next(kind for kind in builder_catalogue() if kind["field"] == "list")

    assert entry["status_label"] == "mit dem Status"
    # "subscribed" first: what a list condition means unless another status is chosen.
    assert entry["choices"] == [
        ("subscribed", "Abonniert"),
        ("unconfirmed", "Unbestätigt"),
        ("unsubscribed", "Abgemeldet"),
        ("any", "Beliebiger Status"),
    ]


def test_the_builder_sample_marks_who_has_not_confirmed_yet(tenant, owner_client):
    from tests.factories.contacts import ContactGroupFactory, MembershipFactory

    with schema_context(tenant.schema_name):
        pending = Contact.objects.create(email="p@shop.example")
        MembershipFactory(contact=pending, group=ContactGroupFactory(), status="unconfirmed")
        Contact.objects.create(email="a@shop.example")

    response = owner_client.post(
        "/admin/segments/segment/count/",
        json.dumps({"rule": SHOP}),
        content_type="application/json",
        HTTP_ACCEPT_LANGUAGE="de",
    )

    body = response.json()
    assert body["sendable"] == 1  # not the one awaiting confirmation
    labels = {row["email"]: (row["status"], row["status_label"]) for row in body["sample"]}
    assert labels["p@shop.example"] == ("awaiting_confirmation", "Bestätigung ausstehend")
    assert labels["a@shop.example"][0] == "subscribed"


def test_a_viewer_sees_the_conditions_in_the_builder_read_only_and_cannot_change_them(
    tenant, make_member
):
    from engagex.accounts import roles
    from tests.fixtures.tenants import logged_in_client

    _people(tenant)
    with schema_context(tenant.schema_name):
        shop = segment_create(name="Shop", rule=SHOP)
    viewer = logged_in_client(tenant, make_member(roles.VIEWER, email="viewer@alpha.example"))
    change = f"/admin/segments/segment/{shop.pk}/change/"

    page = viewer.get(change)

    assert page.status_code == 200
    text = page.content.decode()
    # The builder, read-only, from the stored rule (JSON, not Python's repr of it).
    assert 'data-read-only="1"' in text
    assert "&quot;shop.example&quot;" in text
    assert "&#x27;shop.example&#x27;" not in text
    assert 'name="_save"' not in text
    # The count beside it is allowed; a change is not, and leaves the rule as it was.
    counted = viewer.post(
        "/admin/segments/segment/count/",
        json.dumps({"rule": SHOP}),
        content_type="application/json",
    )
    assert counted.json()["sendable"] == 1
    other = {**SHOP, "conditions": [{"field": "email_domain", "op": "is", "value": "x.example"}]}
    refused = viewer.post(change, {"name": "Shop", "description": "", "rule": json.dumps(other)})
    assert refused.status_code == 403
    with schema_context(tenant.schema_name):
        shop.refresh_from_db()
    assert shop.rule == SHOP


def test_an_owner_edits_the_rule_in_the_builder(tenant, owner_client):
    with schema_context(tenant.schema_name):
        shop = segment_create(name="Shop", rule=SHOP)

    page = owner_client.get(f"/admin/segments/segment/{shop.pk}/change/").content.decode()

    assert "segment-builder" in page
    assert "data-read-only" not in page
    assert 'name="_save"' in page
