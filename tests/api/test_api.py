import io

import pytest
from django.core import mail
from django_q.models import OrmQ
from django_tenants.utils import schema_context

from engagex.accounts import roles
from engagex.accounts.models import Invitation
from engagex.api.models import ApiKey
from engagex.api.services import api_key_revoke
from engagex.campaigns.models import Campaign, CampaignRecipient
from engagex.campaigns.services.drafts import GROUPS_OVERLAP
from engagex.contacts.models import Contact, ContactStatus, ImportJob
from engagex.contacts.services.mapping import NO_EMAIL_COLUMN
from engagex.contacts.tasks import contacts_import_unattended
from tests.api.conftest import key_client
from tests.factories.campaigns import CampaignFactory, TemplateFactory
from tests.factories.contacts import ContactFactory, ContactGroupFactory
from tests.factories.domains import verified_domain

API = "/api/v1"


def in_schema(tenant):
    return schema_context(tenant.schema_name)


# --- authentication and isolation ---------------------------------------------------------
def test_requests_without_a_key_get_401_with_the_error_body(tenant):
    from django_tenants.test.client import TenantClient

    response = TenantClient(tenant).get(f"{API}/contacts/")

    assert response.status_code in (401, 403)
    assert set(response.json()["error"]) == {"status", "code", "message", "fields"}


def test_wrong_and_revoked_keys_get_401(tenant, owner):
    client = key_client(tenant)
    with in_schema(tenant):
        api_key_revoke(key=ApiKey.objects.get())
    wrong = key_client(tenant)
    wrong.defaults["HTTP_AUTHORIZATION"] = "Bearer egx_deadbeef_nope"

    assert client.get(f"{API}/contacts/").status_code == 401
    assert wrong.get(f"{API}/contacts/").status_code == 401
    assert (
        client.get(f"{API}/contacts/").json()["error"]["message"] == "Invalid or revoked API key."
    )


def test_another_workspaces_key_gets_401_and_never_data(tenant, other_tenant):
    with in_schema(tenant):
        ContactFactory(email="alpha-secret@example.com")
    beta = key_client(other_tenant)
    alpha_key = beta.defaults["HTTP_AUTHORIZATION"]
    from django_tenants.test.client import TenantClient

    intruder = TenantClient(tenant, HTTP_AUTHORIZATION=alpha_key)
    response = intruder.get(f"{API}/contacts/")

    assert response.status_code == 401
    assert "alpha-secret" not in response.content.decode()
    assert beta.get(f"{API}/contacts/").json()["results"] == []


def test_keys_stop_working_without_api_access_on_the_plan(tenant, api, on_plan):
    on_plan(tenant, api_access=False)

    response = api.get(f"{API}/contacts/")

    assert response.status_code == 403
    assert "API access is not included" in response.json()["error"]["message"]


def test_the_admins_own_session_can_call_the_api(owner_client):
    assert owner_client.get(f"{API}/contacts/").status_code == 200


# --- contacts --------------------------------------------------------------------------------
def test_contacts_crud_search_filter_and_cursor_pages(tenant, api):
    created = api.post(
        f"{API}/contacts/",
        {"email": " Ann@Example.COM ", "first_name": "Ann"},
        content_type="application/json",
    )
    assert created.status_code == 201
    contact_id = created.json()["id"]
    assert created.json()["email"] == "Ann@example.com"
    with in_schema(tenant):
        for i in range(3):
            ContactFactory(
                email=f"p{i}@example.com",
                first_name="Pat",  # not a random name that could start with "ann"
                last_name="Doe",
                status=ContactStatus.UNSUBSCRIBED,
            )

    page = api.get(f"{API}/contacts/", {"page_size": 2}).json()
    second = api.get(
        page["next"].split("testserver")[-1] if "testserver" in page["next"] else page["next"]
    ).json()
    found = api.get(f"{API}/contacts/", {"search": "ann"}).json()["results"]
    gone = api.get(f"{API}/contacts/", {"status": "unsubscribed"}).json()["results"]
    patched = api.patch(
        f"{API}/contacts/{contact_id}/", {"last_name": "Lee"}, content_type="application/json"
    )
    deleted = api.delete(f"{API}/contacts/{contact_id}/")

    assert len(page["results"]) == 2
    assert len(second["results"]) == 2
    assert [c["email"] for c in found] == ["Ann@example.com"]
    assert len(gone) == 3
    assert patched.json()["last_name"] == "Lee"
    assert deleted.status_code == 204
    with in_schema(tenant):
        assert not Contact.objects.filter(pk=contact_id).exists()


def test_contact_errors_name_the_field(tenant, api):
    with in_schema(tenant):
        ContactFactory(email="taken@example.com")
        bounced = ContactFactory(email="b@example.com", status=ContactStatus.BOUNCED)

    duplicate = api.post(
        f"{API}/contacts/", {"email": "TAKEN@example.com"}, content_type="application/json"
    )
    invalid = api.post(f"{API}/contacts/", {"email": "nope"}, content_type="application/json")
    resurrect = api.patch(
        f"{API}/contacts/{bounced.pk}/", {"status": "subscribed"}, content_type="application/json"
    )

    assert duplicate.status_code == invalid.status_code == resurrect.status_code == 400
    assert duplicate.json()["error"]["fields"]["email"] == [
        "A contact with this email address already exists."
    ]
    assert "email" in invalid.json()["error"]["fields"]
    assert (
        "cannot be switched back to subscribed" in resurrect.json()["error"]["fields"]["status"][0]
    )


def test_a_taken_email_is_400_on_the_email_field_and_changes_nothing(tenant, api):
    with in_schema(tenant):
        ContactFactory(email="taken@example.com")
        other = ContactFactory(email="other@example.com", first_name="Before")
        before = list(Contact.objects.order_by("pk").values())

    created = api.post(
        f"{API}/contacts/", {"email": " Taken@EXAMPLE.com "}, content_type="application/json"
    )
    changed = api.patch(
        f"{API}/contacts/{other.pk}/",
        {"email": "TAKEN@example.com", "first_name": "After"},
        content_type="application/json",
    )

    for response in (created, changed):
        assert response.status_code == 400
        assert response.json()["error"]["fields"] == {
            "email": ["A contact with this email address already exists."]
        }
    with in_schema(tenant):
        assert list(Contact.objects.order_by("pk").values()) == before


def test_bulk_upsert_creates_updates_and_never_resubscribes(tenant, api):
    with in_schema(tenant):
        ContactFactory(email="old@example.com", first_name="Old", status=ContactStatus.UNSUBSCRIBED)

    response = api.post(
        f"{API}/contacts/bulk-upsert/",
        {"contacts": [
            {"email": "old@example.com", "first_name": "New", "status": "subscribed"},
            {"email": "fresh@example.com", "attributes": {"plan": "gold"}},
        ]},
        content_type="application/json",
    )  # fmt: skip

    assert response.json() == {"created": 1, "updated": 1, "erased": 0}
    with in_schema(tenant):
        old = Contact.objects.get(email="old@example.com")
        assert (old.first_name, old.status) == ("New", ContactStatus.UNSUBSCRIBED)
        assert Contact.objects.get(email="fresh@example.com").attributes == {"plan": "gold"}


@pytest.mark.parametrize("status", ["unsubscribed", "bounced", "complained"])
def test_bulk_upsert_keeps_a_suppressed_contact_suppressed(tenant, api, status):
    with in_schema(tenant):
        before = ContactFactory(email="gone@example.com", status=status, status_source="earlier")

    response = api.post(
        f"{API}/contacts/bulk-upsert/",
        {"contacts": [{"email": "gone@example.com", "status": "subscribed"}]},
        content_type="application/json",
    )

    assert response.json() == {"created": 0, "updated": 1, "erased": 0}
    with in_schema(tenant):
        after = Contact.objects.get()
        assert (after.status, after.status_source, after.status_changed_at) == (
            status,
            "earlier",
            before.status_changed_at,
        )


def test_bulk_upsert_is_all_or_nothing_and_names_the_bad_item(tenant, api):
    response = api.post(
        f"{API}/contacts/bulk-upsert/",
        {
            "contacts": [
                {"email": "ok@example.com"},
                {"email": "broken"},
                {"email": "OK@example.com"},
            ]
        },
        content_type="application/json",
    )

    assert response.status_code == 400
    assert "contacts" in response.json()["error"]["fields"]
    with in_schema(tenant):
        assert not Contact.objects.filter(email="ok@example.com").exists()


def test_an_import_whose_columns_cannot_be_mapped_is_400_and_stores_nothing(tenant, api):
    queued = OrmQ.objects.count()
    upload = io.BytesIO(b"Name,City\nAnn,Oslo\n")
    upload.name = "people.csv"

    response = api.post(f"{API}/contacts/import/", {"file": upload})

    assert response.status_code == 400
    assert response.json()["error"]["message"] == str(NO_EMAIL_COLUMN)
    assert response.json()["error"]["fields"] == {}
    with in_schema(tenant):
        assert ImportJob.objects.count() == Contact.objects.count() == 0
        assert OrmQ.objects.count() == queued


def test_import_upload_returns_a_job_that_imports_in_the_background(
    tenant, api, django_capture_on_commit_callbacks
):
    queued = OrmQ.objects.count()
    upload = io.BytesIO(b"Email,First Name\nann@example.com,Ann\nbad,Bob\n")
    upload.name = "people.csv"

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"{API}/contacts/import/", {"file": upload})
    job_id = response.json()["id"]
    contacts_import_unattended(tenant.schema_name, job_id)
    status = api.get(f"{API}/imports/{job_id}/").json()

    assert response.status_code == 202
    assert OrmQ.objects.count() == queued + 1
    assert status["status"] == ImportJob.Status.DONE
    assert (status["counts"]["new"], status["counts"]["invalid"]) == (1, 1)
    with in_schema(tenant):
        assert list(Contact.objects.values_list("email", flat=True)) == ["ann@example.com"]


def test_import_of_a_bad_file_is_a_400(api):
    upload = io.BytesIO(b"")
    upload.name = "empty.csv"

    response = api.post(f"{API}/contacts/import/", {"file": upload})

    assert response.status_code == 400


# --- groups, templates, campaigns -----------------------------------------------------------
def test_groups_and_membership(tenant, api):
    group = api.post(f"{API}/groups/", {"name": "VIP"}, content_type="application/json").json()
    with in_schema(tenant):
        ids = [ContactFactory().pk for _ in range(2)]

    added = api.post(
        f"{API}/groups/{group['id']}/add-contacts/",
        {"contacts": ids},
        content_type="application/json",
    )
    listed = api.get(f"{API}/groups/").json()["results"][0]
    again = api.post(f"{API}/groups/", {"name": "vip"}, content_type="application/json")

    assert added.json() == {"count": 2}
    assert (listed["member_count"], listed["subscribed_count"]) == (2, 2)
    assert again.status_code == 400


def test_templates_validate_merge_tags(api):
    bad = api.post(
        f"{API}/templates/",
        {"name": "Bad", "subject": "Hi", "html_body": "<p>x</p>\n{% load static %}"},
        content_type="application/json",
    )
    good = api.post(
        f"{API}/templates/",
        {"name": "Good", "subject": "Hi {{ contact.first_name }}", "html_body": "<p>Hello</p>"},
        content_type="application/json",
    )

    assert bad.status_code == 400
    assert "Line 2" in bad.json()["error"]["fields"]["html_body"][0]
    assert good.status_code == 201


def test_campaign_lifecycle_and_analytics(
    tenant, api, settings, django_capture_on_commit_callbacks
):
    with in_schema(tenant):
        verified_domain("alpha.example")
        template = TemplateFactory()
        ContactFactory.create_batch(2)
    created = api.post(
        f"{API}/campaigns/",
        {
            "name": "Launch",
            "template": template.pk,
            "from_name": "A",
            "from_email": "news@alpha.example",
        },
        content_type="application/json",
    ).json()

    with django_capture_on_commit_callbacks(execute=True):
        sent = api.post(f"{API}/campaigns/{created['id']}/send/")
    twice = api.post(f"{API}/campaigns/{created['id']}/send/")
    analytics = api.get(f"{API}/campaigns/{created['id']}/analytics/").json()
    edit = api.patch(
        f"{API}/campaigns/{created['id']}/", {"name": "x"}, content_type="application/json"
    )

    assert sent.status_code == 202
    assert sent.json()["status"] == "sending"
    assert twice.status_code == 400
    assert analytics["sent"] == 0
    assert "top_links" in analytics
    assert edit.status_code == 400
    with in_schema(tenant):
        assert CampaignRecipient.objects.filter(campaign_id=created["id"]).count() == 2


def test_a_campaign_sending_to_and_excluding_the_same_group_is_400_and_not_stored(tenant, api):
    with in_schema(tenant):
        verified_domain("alpha.example")
        template = TemplateFactory()
        both = ContactGroupFactory(name="Both")
        other = ContactGroupFactory(name="Other")
        draft = CampaignFactory()
        draft.include_groups.set([both])
    body = {
        "name": "Odd",
        "template": template.pk,
        "from_name": "A",
        "from_email": "news@alpha.example",
        "include_groups": [both.pk, other.pk],
        "exclude_groups": [both.pk],
    }

    created = api.post(f"{API}/campaigns/", body, content_type="application/json")
    # A PATCH of the excluded groups alone is checked against the groups it already sends to.
    patched = api.patch(
        f"{API}/campaigns/{draft.pk}/",
        {"exclude_groups": [both.pk]},
        content_type="application/json",
    )

    overlap = [str(GROUPS_OVERLAP % "Both")]
    assert created.status_code == 400
    assert created.json()["error"]["fields"] == {"exclude_groups": overlap}
    assert patched.status_code == 400
    assert patched.json()["error"]["fields"] == {"exclude_groups": overlap}
    with in_schema(tenant):
        assert list(Campaign.objects.values_list("pk", flat=True)) == [draft.pk]
        assert list(draft.exclude_groups.all()) == []


def test_a_draft_changed_through_the_api_keeps_its_groups_unless_given(tenant, api):
    with in_schema(tenant):
        group = ContactGroupFactory(name="Newsletter")
        draft = CampaignFactory()
        draft.include_groups.set([group])

    response = api.patch(
        f"{API}/campaigns/{draft.pk}/", {"name": "Renamed"}, content_type="application/json"
    )

    assert response.status_code == 200
    assert (response.json()["name"], response.json()["include_groups"]) == ("Renamed", [group.pk])
    with in_schema(tenant):
        draft.refresh_from_db()
        assert draft.name == "Renamed"
        assert list(draft.include_groups.all()) == [group]


def test_campaign_from_an_unverified_domain_and_past_schedule_are_400(tenant, api):
    with in_schema(tenant):
        template = TemplateFactory()
        campaign = CampaignFactory()

    spoof = api.post(
        f"{API}/campaigns/",
        {"name": "S", "template": template.pk, "from_name": "S", "from_email": "x@nowhere.example"},
        content_type="application/json",
    )
    past = api.post(
        f"{API}/campaigns/{campaign.pk}/schedule/",
        {"send_at": "2020-01-01T00:00:00Z"},
        content_type="application/json",
    )

    assert spoof.status_code == 400
    assert "from_email" in spoof.json()["error"]["fields"]
    assert past.status_code == 400
    assert "is in the past" in past.json()["error"]["fields"]["send_at"][0]


# --- domains, team, subscription, dashboard, events -------------------------------------------
def test_domains_add_and_verify(tenant, api, monkeypatch):
    from tests.domains.test_domains import FakeResolver, good_dns

    monkeypatch.setattr(
        "engagex.domains.services.default_resolver",
        lambda: FakeResolver(good_dns("news.example.com")),
    )
    created = api.post(
        f"{API}/domains/", {"domain": "news.example.com"}, content_type="application/json"
    ).json()

    verified = api.post(f"{API}/domains/{created['id']}/verify/").json()

    assert created["status"] == "pending"
    assert verified["status"] == "verified"
    assert api.get(f"{API}/domains/").json()["results"][0]["domain"] == "news.example.com"


def test_seat_limit_refuses_an_api_invitation_and_stores_nothing(
    tenant, api, on_plan, django_capture_on_commit_callbacks
):
    on_plan(tenant, seat_limit=1)

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            f"{API}/invitations/",
            {"email": "x@alpha.example", "role": roles.VIEWER},
            content_type="application/json",
        )

    assert response.status_code == 400
    assert "allows 1 team seats" in response.json()["error"]["message"]
    assert mail.outbox == []
    with in_schema(tenant):
        assert Invitation.objects.count() == 0


def test_invitations_email_the_new_member(tenant, api, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(
            f"{API}/invitations/",
            {"email": "new@alpha.example", "role": "Marketer"},
            content_type="application/json",
        )
    pending = api.get(f"{API}/invitations/").json()
    members = api.get(f"{API}/users/").json()["results"]

    assert response.status_code == 201
    assert response.json()["role"] == "Marketer"
    assert response.json()["status"] == "pending"
    assert mail.outbox[-1].to == ["new@alpha.example"]
    assert "/invitations/" in mail.outbox[-1].body
    assert [m["email"] for m in pending["results"]] == ["new@alpha.example"]
    # Not a member until they accept the invitation.
    assert "new@alpha.example" not in {m["email"] for m in members}


def test_subscription_dashboard_and_events(tenant, api):
    with in_schema(tenant):
        ContactFactory()
        campaign = CampaignFactory()
        recipient = CampaignRecipient.objects.create(campaign=campaign, email="x@example.com")
        from django.utils import timezone

        from engagex.analytics.models import EmailEvent

        EmailEvent.objects.create(
            event_id="e1", type="open", campaign_id=campaign.pk, recipient_id=recipient.pk,
            occurred_at=timezone.now(), received_at=timezone.now(),
        )  # fmt: skip

    subscription = api.get(f"{API}/subscription/current/").json()
    plans = api.get(f"{API}/subscription/plans/").json()
    stats = api.get(f"{API}/dashboard/stats/").json()
    events = api.get(f"{API}/analytics/events/", {"type": "open"}).json()

    assert subscription["contacts"] == 1
    assert subscription["plan"] == "Free Trial"
    assert subscription["status"] == "trialing"
    assert subscription["contact_limit"] == 1_000
    assert subscription["seats"] == 1
    assert [p["code"] for p in plans] == ["basic", "pro", "premium"]
    assert plans[0]["contact_limit"] == 5_000
    assert plans[2]["seat_limit"] is None
    assert stats["contacts"] == 1
    assert [e["event_id"] for e in events["results"]] == ["e1"]


def test_unknown_objects_and_methods_get_the_error_body(api):
    missing = api.get(f"{API}/contacts/999999/")
    method = api.put(f"{API}/subscription/current/", {}, content_type="application/json")

    assert missing.status_code == 404
    assert missing.json()["error"]["status"] == 404
    assert method.status_code == 405


# --- permission matrix -------------------------------------------------------------------------
CONTACT = {"email": "matrix@example.com"}
MATRIX = [
    (roles.VIEWER, "get", "/contacts/", None, 200),
    (roles.VIEWER, "post", "/contacts/", CONTACT, 403),
    (roles.VIEWER, "post", "/groups/", {"name": "G"}, 403),
    (roles.VIEWER, "post", "/invitations/", {"email": "v@x.example", "role": "Viewer"}, 403),
    (roles.MARKETER, "post", "/contacts/", CONTACT, 201),
    (
        roles.MARKETER,
        "post",
        "/templates/",
        {"name": "T", "subject": "S", "html_body": "<p>x</p>"},
        201,
    ),
    (roles.MARKETER, "post", "/domains/", {"domain": "m.example.com"}, 403),
    (roles.MARKETER, "post", "/invitations/", {"email": "m@x.example", "role": "Viewer"}, 403),
    (roles.MARKETER, "get", "/users/", None, 200),
    (roles.ADMIN, "post", "/domains/", {"domain": "a.example.com"}, 201),
    (roles.ADMIN, "post", "/invitations/", {"email": "a@x.example", "role": "Viewer"}, 201),
    (roles.OWNER, "delete", "/contacts/{contact}/", None, 204),
    (roles.VIEWER, "delete", "/contacts/{contact}/", None, 403),
]


@pytest.mark.parametrize(("role", "method", "path", "body", "expected"), MATRIX)
def test_permission_matrix(tenant, role, method, path, body, expected):
    with in_schema(tenant):
        contact = ContactFactory()
    client = key_client(tenant, role)
    kwargs = {"content_type": "application/json"} if body is not None else {}

    response = (
        getattr(client, method)(API + path.format(contact=contact.pk), body, **kwargs)
        if body is not None
        else getattr(client, method)(API + path.format(contact=contact.pk))
    )

    assert response.status_code == expected, response.content
