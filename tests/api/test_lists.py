"""The lists API (issue 16): lists with counts by status, subscribe and unsubscribe one person
with consent evidence, a contact's memberships, and imports into lists with `list_consent`."""

import io

import pytest
from django.contrib.admin.models import LogEntry
from django_q.models import OrmQ
from django_tenants.utils import schema_context

from engagex.accounts import roles
from engagex.contacts.models import Contact, ContactGroup, ContactStatus, ImportJob, Membership
from engagex.contacts.services import importing, lists
from engagex.core.audit import audit_parse
from tests.api.conftest import key_client
from tests.factories.contacts import ContactFactory, ContactGroupFactory

API = "/api/v1"
JSON = {"content_type": "application/json"}


def in_schema(tenant):
    return schema_context(tenant.schema_name)


@pytest.fixture
def sent_confirmations():
    """Stand in for the sign-up app's sender: record the memberships it is handed."""
    handed: list[int] = []

    def sender(*, memberships):
        handed.extend(m.pk for m in memberships)

    lists.register_confirmation_sender(sender)
    yield handed
    lists._CONFIRMATION_SENDERS.remove(sender)


def member(contact, group, source="form"):
    return lists.membership_subscribe(
        contact=contact, group=group, consent=lists.Consent(source=source)
    )


# --- lists CRUD -----------------------------------------------------------------------------
def test_lists_crud_with_counts_by_status(tenant, api):
    created = api.post(
        f"{API}/lists/",
        {"name": " Weekly ", "description": "Every Monday", "opt_in": "double",
         "visibility": "public"},
        **JSON,
    )  # fmt: skip
    list_id = created.json()["id"]
    with in_schema(tenant):
        group = ContactGroup.objects.get(pk=list_id)
        member(ContactFactory(), group)  # unconfirmed: the list is double opt-in
        lists.membership_subscribe(
            contact=ContactFactory(), group=group, consent=lists.Consent(source="console"),
            double_opt_in=False,
        )  # fmt: skip
        gone = ContactFactory(status=ContactStatus.BOUNCED)
        Membership.objects.create(contact=gone, group=group, status="subscribed")
        left = ContactFactory()
        Membership.objects.create(contact=left, group=group, status="unsubscribed")

    listed = api.get(f"{API}/lists/").json()["results"]
    patched = api.patch(f"{API}/lists/{list_id}/", {"opt_in": "single"}, **JSON)
    again = api.post(f"{API}/lists/", {"name": "weekly"}, **JSON)
    deleted = api.delete(f"{API}/lists/{list_id}/")

    assert created.status_code == 201
    assert created.json() == {
        "id": list_id, "name": "Weekly", "description": "Every Monday", "opt_in": "double",
        "visibility": "public", "created_at": created.json()["created_at"],
        "counts": {"subscribed": 0, "unconfirmed": 0, "unsubscribed": 0, "reachable": 0,
                   "total": 0},
    }  # fmt: skip
    assert listed[0]["counts"] == {
        "subscribed": 2, "unconfirmed": 1, "unsubscribed": 1, "reachable": 1, "total": 4,
    }  # fmt: skip
    assert (patched.status_code, patched.json()["opt_in"]) == (200, "single")
    assert patched.json()["counts"]["total"] == 4
    assert again.status_code == 400
    assert again.json()["error"]["fields"] == {"name": ["A list with this name already exists."]}
    assert deleted.status_code == 204
    with in_schema(tenant):
        assert not ContactGroup.objects.exists()


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "L", "opt_in": "triple"}, "opt_in"),
        ({"name": "L", "visibility": 3}, "visibility"),
        ({"name": ["L"]}, "name"),
    ],
)
def test_bad_list_bodies_are_400_naming_the_field_and_store_nothing(tenant, api, body, field):
    response = api.post(f"{API}/lists/", body, **JSON)

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [field]
    with in_schema(tenant):
        assert not ContactGroup.objects.exists()


def test_the_old_groups_route_still_works(tenant, api):
    created = api.post(f"{API}/groups/", {"name": "VIP"}, **JSON)

    listed = api.get(f"{API}/lists/").json()["results"]

    assert created.status_code == 201
    assert [g["name"] for g in listed] == ["VIP"]


@pytest.mark.parametrize("route", ["lists", "groups"])
def test_a_taken_list_name_is_400_on_the_name_field_and_changes_nothing(tenant, api, route):
    with in_schema(tenant):
        ContactGroupFactory(name="News")
        other = ContactGroupFactory(name="Offers", description="Before")
        before = list(ContactGroup.objects.order_by("pk").values())

    created = api.post(f"{API}/{route}/", {"name": " news "}, **JSON)
    changed = api.patch(f"{API}/{route}/{other.pk}/", {"name": "NEWS", "description": "x"}, **JSON)

    for response in (created, changed):
        assert response.status_code == 400
        assert response.json()["error"]["fields"] == {"name": [str(lists.LIST_NAME_TAKEN)]}
    with in_schema(tenant):
        assert list(ContactGroup.objects.order_by("pk").values()) == before


def test_the_old_groups_route_creates_and_renames_a_list(tenant, api):
    created = api.post(f"{API}/groups/", {"name": " VIP ", "description": "Best"}, **JSON)
    renamed = api.patch(f"{API}/groups/{created.json()['id']}/", {"name": "VIPs"}, **JSON)

    assert created.status_code == 201
    assert created.json() == {
        "id": created.json()["id"], "name": "VIP", "description": "Best",
        "created_at": created.json()["created_at"],
    }  # fmt: skip
    assert renamed.status_code == 200
    assert (renamed.json()["name"], renamed.json()["member_count"]) == ("VIPs", 0)
    with in_schema(tenant):
        assert list(ContactGroup.objects.values_list("name", "description")) == [("VIPs", "Best")]


# --- subscribe ------------------------------------------------------------------------------
def test_subscribe_by_email_creates_the_contact_and_records_the_consent(tenant, api):
    with in_schema(tenant):
        group = ContactGroupFactory(name="News")

    first = api.post(
        f"{API}/lists/{group.pk}/subscribe/",
        {"email": "New@Example.COM", "consent_text": "Yes, send me news", "consent_ip": "10.1.2.3"},
        **JSON,
    )
    again = api.post(f"{API}/lists/{group.pk}/subscribe/", {"email": "new@example.com"}, **JSON)

    assert first.status_code == 201
    body = first.json()
    assert {k: body[k] for k in ("list", "list_name", "email", "status", "source")} == {
        "list": group.pk, "list_name": "News", "email": "New@example.com",
        "status": "subscribed", "source": "api",
    }  # fmt: skip
    assert (body["consent_text"], body["consent_ip"]) == ("Yes, send me news", "10.1.2.3")
    assert body["consent_at"] is not None
    assert (again.status_code, again.json()["id"]) == (200, body["id"])
    with in_schema(tenant):
        assert Contact.objects.get().email == "New@example.com"


def test_subscribe_with_double_opt_in_waits_unconfirmed_and_asks_after_commit(
    tenant, api, sent_confirmations, django_capture_on_commit_callbacks
):
    with in_schema(tenant):
        single = ContactGroupFactory(name="Single")
        double = ContactGroupFactory(name="Double", opt_in="double")
        contact = ContactFactory(email="ann@example.com")

    with django_capture_on_commit_callbacks(execute=True):
        asked = api.post(
            f"{API}/lists/{single.pk}/subscribe/",
            {"contact": contact.pk, "double_opt_in": True},
            **JSON,
        )
        by_default = api.post(
            f"{API}/lists/{double.pk}/subscribe/", {"contact": contact.pk}, **JSON
        )
        overridden = api.post(
            f"{API}/lists/{double.pk}/subscribe/",
            {"email": "bob@example.com", "double_opt_in": False},
            **JSON,
        )

    assert (asked.status_code, asked.json()["status"]) == (201, "unconfirmed")
    assert (by_default.status_code, by_default.json()["status"]) == (201, "unconfirmed")
    assert (overridden.status_code, overridden.json()["status"]) == (201, "subscribed")
    assert sent_confirmations == [asked.json()["id"], by_default.json()["id"]]


@pytest.mark.parametrize("status", [ContactStatus.BOUNCED, ContactStatus.UNSUBSCRIBED])
def test_subscribing_a_suppressed_contact_is_400_and_changes_nothing(tenant, api, status):
    with in_schema(tenant):
        group = ContactGroupFactory(name="News")
        contact = ContactFactory(email="gone@example.com", status=status)

    response = api.post(f"{API}/lists/{group.pk}/subscribe/", {"email": "gone@example.com"}, **JSON)

    assert response.status_code == 400
    label = {"bounced": "Bounced", "unsubscribed": "Unsubscribed"}[status]
    assert response.json()["error"]["message"] == str(
        lists.CONTACT_SUPPRESSED.format(email="gone@example.com", status=label)
    )
    with in_schema(tenant):
        assert not Membership.objects.exists()
        contact.refresh_from_db()
        assert contact.status == status


def test_subscribing_someone_who_left_the_list_is_400_and_they_stay_unsubscribed(tenant, api):
    with in_schema(tenant):
        group = ContactGroupFactory(name="News")
        contact = ContactFactory(email="left@example.com")
        member(contact, group)
        lists.membership_unsubscribe(contact=contact, groups=[group])

    response = api.post(f"{API}/lists/{group.pk}/subscribe/", {"contact": contact.pk}, **JSON)

    assert response.status_code == 400
    assert response.json()["error"]["message"] == str(
        lists.LIST_RESUBSCRIBE_REFUSED.format(email="left@example.com", list="News")
    )
    with in_schema(tenant):
        assert Membership.objects.get().status == "unsubscribed"


def test_a_refused_subscribe_by_a_new_email_leaves_no_contact(tenant, api, on_plan):
    on_plan(tenant, contact_limit=0)
    with in_schema(tenant):
        group = ContactGroupFactory(name="News")

    response = api.post(f"{API}/lists/{group.pk}/subscribe/", {"email": "new@example.com"}, **JSON)

    assert response.status_code == 400
    with in_schema(tenant):
        assert Contact.objects.count() == Membership.objects.count() == 0


@pytest.mark.parametrize(
    ("body", "fields"),
    [
        ({}, {"contact", "email"}),
        ({"email": "a@example.com", "contact": 999_999}, {"contact"}),
        ({"email": "not-an-address"}, {"email"}),
        ({"contact": "abc"}, {"contact"}),
        ({"contact": 999_999}, {"contact"}),
        ({"email": "a@example.com", "double_opt_in": "maybe"}, {"double_opt_in"}),
        ({"email": "a@example.com", "consent_ip": "300.1.1.1"}, {"consent_ip"}),
        ({"email": "a@example.com", "consent_text": ["x"]}, {"consent_text"}),
    ],
)
def test_bad_subscribe_bodies_are_400_naming_the_field_and_write_nothing(tenant, api, body, fields):
    with in_schema(tenant):
        group = ContactGroupFactory(name="News")

    response = api.post(f"{API}/lists/{group.pk}/subscribe/", body, **JSON)

    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == fields
    with in_schema(tenant):
        assert Contact.objects.count() == Membership.objects.count() == 0


def test_unknown_and_other_workspaces_lists_are_404(tenant, other_tenant, api):
    with in_schema(other_tenant):
        theirs = ContactGroupFactory(name="Theirs")
    with in_schema(tenant):
        assert not ContactGroup.objects.filter(pk=theirs.pk).exists()

    subscribe = api.post(f"{API}/lists/{theirs.pk}/subscribe/", {"email": "a@example.com"}, **JSON)
    detail = api.get(f"{API}/lists/{theirs.pk}/")
    unknown = api.post(f"{API}/lists/999999/unsubscribe/", {"email": "a@example.com"}, **JSON)

    assert (subscribe.status_code, detail.status_code, unknown.status_code) == (404, 404, 404)
    assert subscribe.json()["error"]["status"] == 404
    with in_schema(tenant):
        assert Contact.objects.count() == 0
    with in_schema(other_tenant):
        assert not Membership.objects.filter(group=theirs).exists()


def test_lists_are_seen_only_in_their_own_workspace(tenant, other_tenant, api):
    with in_schema(tenant):
        ContactGroupFactory(name="Alpha only")
    beta = key_client(other_tenant)

    assert [g["name"] for g in api.get(f"{API}/lists/").json()["results"]] == ["Alpha only"]
    assert beta.get(f"{API}/lists/").json()["results"] == []


# --- unsubscribe ----------------------------------------------------------------------------
def test_unsubscribe_by_email_and_again_and_from_a_list_they_are_not_on(tenant, api):
    with in_schema(tenant):
        group = ContactGroupFactory(name="News")
        contact = ContactFactory(email="ann@example.com")
        member(contact, group)
        ContactFactory(email="stranger@example.com")

    left = api.post(f"{API}/lists/{group.pk}/unsubscribe/", {"email": "ANN@example.com"}, **JSON)
    again = api.post(f"{API}/lists/{group.pk}/unsubscribe/", {"contact": contact.pk}, **JSON)
    stranger = api.post(
        f"{API}/lists/{group.pk}/unsubscribe/", {"email": "stranger@example.com"}, **JSON
    )
    nobody = api.post(f"{API}/lists/{group.pk}/unsubscribe/", {"email": "no@example.com"}, **JSON)

    assert (left.status_code, left.json()["status"]) == (200, "unsubscribed")
    assert (again.status_code, again.json()["status"]) == (200, "unsubscribed")
    assert stranger.status_code == 400
    assert stranger.json()["error"]["message"] == "stranger@example.com is not on “News”."
    assert nobody.status_code == 400
    assert nobody.json()["error"]["fields"] == {"email": ["No contact has this email address."]}
    with in_schema(tenant):
        assert list(Membership.objects.values_list("contact__email", "status")) == [
            ("ann@example.com", "unsubscribed")
        ]


# --- a contact's memberships, and its `groups` ------------------------------------------------
def test_a_contacts_memberships_and_groups_show_where_it_is_now(tenant, api):
    with in_schema(tenant):
        news = ContactGroupFactory(name="News")
        offers = ContactGroupFactory(name="Offers", opt_in="double")
        old = ContactGroupFactory(name="Old")
        contact = ContactFactory(email="ann@example.com")
        lists.membership_subscribe(
            contact=contact, group=news,
            consent=lists.Consent(source="form", text="Send me news", ip="10.0.0.1"),
        )  # fmt: skip
        member(contact, offers)
        member(contact, old)
        lists.membership_unsubscribe(contact=contact, groups=[old])

    memberships = api.get(f"{API}/contacts/{contact.pk}/memberships/").json()
    detail = api.get(f"{API}/contacts/{contact.pk}/").json()
    on_old = api.get(f"{API}/contacts/", {"group": old.pk}).json()["results"]
    on_news = api.get(f"{API}/contacts/", {"group": news.pk}).json()["results"]

    assert [(m["list_name"], m["status"]) for m in memberships] == [
        ("News", "subscribed"), ("Offers", "unconfirmed"), ("Old", "unsubscribed"),
    ]  # fmt: skip
    assert (memberships[0]["consent_text"], memberships[0]["consent_ip"]) == (
        "Send me news",
        "10.0.0.1",
    )
    assert memberships[0]["source"] == "form"
    assert detail["groups"] == sorted([news.pk, offers.pk])
    assert on_old == []
    assert [c["email"] for c in on_news] == ["ann@example.com"]


def test_a_contact_put_back_on_a_list_it_left_through_groups_is_400(tenant, api):
    with in_schema(tenant):
        old = ContactGroupFactory(name="Old")
        contact = ContactFactory(email="ann@example.com")
        member(contact, old)
        lists.membership_unsubscribe(contact=contact, groups=[old])

    response = api.patch(f"{API}/contacts/{contact.pk}/", {"groups": [old.pk]}, **JSON)
    emptied = api.patch(f"{API}/contacts/{contact.pk}/", {"groups": []}, **JSON)

    assert response.status_code == 400
    assert "groups" in response.json()["error"]["fields"]
    assert (emptied.status_code, emptied.json()["groups"]) == (200, [])
    with in_schema(tenant):
        assert Membership.objects.get().status == "unsubscribed"  # the opt-out stays on record


# --- roles ----------------------------------------------------------------------------------
def test_a_viewer_key_reads_lists_and_memberships_but_cannot_change_them(tenant):
    with in_schema(tenant):
        group = ContactGroupFactory(name="News")
        contact = ContactFactory(email="ann@example.com")
        member(contact, group)
    viewer = key_client(tenant, roles.VIEWER)

    read = viewer.get(f"{API}/lists/")
    memberships = viewer.get(f"{API}/contacts/{contact.pk}/memberships/")
    subscribe = viewer.post(
        f"{API}/lists/{group.pk}/subscribe/", {"email": "b@example.com"}, **JSON
    )
    unsubscribe = viewer.post(
        f"{API}/lists/{group.pk}/unsubscribe/", {"contact": contact.pk}, **JSON
    )
    create = viewer.post(f"{API}/lists/", {"name": "Mine"}, **JSON)
    rename = viewer.patch(f"{API}/lists/{group.pk}/", {"name": "Renamed"}, **JSON)

    assert (read.status_code, memberships.status_code) == (200, 200)
    assert [r.status_code for r in (subscribe, unsubscribe, create, rename)] == [403] * 4
    with in_schema(tenant):
        assert list(ContactGroup.objects.values_list("name", flat=True)) == ["News"]
        assert list(Membership.objects.values_list("status", flat=True)) == ["subscribed"]
        assert Contact.objects.count() == 1


def test_a_marketer_key_subscribes(tenant):
    with in_schema(tenant):
        group = ContactGroupFactory(name="News")

    response = key_client(tenant, roles.MARKETER).post(
        f"{API}/lists/{group.pk}/subscribe/", {"email": "m@example.com"}, **JSON
    )

    assert response.status_code == 201


# --- imports into lists ---------------------------------------------------------------------
def _csv(data=b"Email,OPTIN_TIME\nann@example.com,2023-01-10 09:15:02\n", name="people.csv"):
    file = io.BytesIO(data)
    file.name = name
    return file


def test_an_api_import_into_lists_needs_list_consent_and_stores_nothing_without(tenant, api):
    with in_schema(tenant):
        group = ContactGroupFactory(name="News")
        queued = OrmQ.objects.count()

    missing = api.post(f"{API}/contacts/import/", {"file": _csv(), "lists": [group.pk]})
    old_name = api.post(f"{API}/contacts/import/", {"file": _csv(), "groups": [group.pk]})
    wrong = api.post(
        f"{API}/contacts/import/",
        {"file": _csv(), "lists": [group.pk], "list_consent": "yes please"},
    )
    unknown = api.post(
        f"{API}/contacts/import/", {"file": _csv(), "lists": [999999], "list_consent": "permission"}
    )

    message = str(importing.LIST_CONSENT_REQUIRED)
    for response in (missing, old_name):
        assert response.status_code == 400
        assert list(response.json()["error"]["fields"]) == ["list_consent"]
        assert response.json()["error"]["fields"]["list_consent"] == [message]
    assert (wrong.status_code, list(wrong.json()["error"]["fields"])) == (400, ["list_consent"])
    assert (unknown.status_code, list(unknown.json()["error"]["fields"])) == (400, ["lists"])
    with in_schema(tenant):
        assert ImportJob.objects.count() == Contact.objects.count() == 0
        assert OrmQ.objects.count() == queued


def test_an_api_import_into_lists_with_permission_records_the_keys_creator(
    tenant, api, owner, django_capture_on_commit_callbacks
):
    from engagex.contacts.tasks import contacts_import_run

    with in_schema(tenant):
        group = ContactGroupFactory(name="News")

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            f"{API}/contacts/import/",
            {"file": _csv(), "lists": [group.pk], "list_consent": "permission"},
        )
    contacts_import_run(tenant.schema_name, response.json()["id"])

    assert response.status_code == 202
    with in_schema(tenant):
        job = ImportJob.objects.get()
        assert (job.status, job.list_consent, job.list_consent_confirmed_by) == (
            "done",
            "permission",
            owner,
        )
        membership = Membership.objects.select_related("contact").get()
        audit = audit_parse(LogEntry.objects.filter(object_id=str(job.pk)).latest("pk"))
    assert audit == (
        "imported",
        "people.csv: uploaded through the API, applied without review"
        " · News: “I have their permission to email them”",
    )
    assert (membership.contact.email, membership.status, membership.source) == (
        "ann@example.com",
        "subscribed",
        "import",
    )
    assert membership.consent_at.isoformat() == "2023-01-10T09:15:02+00:00"


def test_subscribe_with_both_a_contact_and_an_email_is_400_naming_both(tenant, api):
    with in_schema(tenant):
        group = ContactGroupFactory(name="News")
        contact = ContactFactory(email="ann@example.com")

    response = api.post(
        f"{API}/lists/{group.pk}/subscribe/",
        {"contact": contact.pk, "email": "bob@example.com"},
        **JSON,
    )

    assert response.status_code == 400
    assert set(response.json()["error"]["fields"]) == {"contact", "email"}
    with in_schema(tenant):
        assert not Membership.objects.exists()
        assert list(Contact.objects.values_list("email", flat=True)) == ["ann@example.com"]
