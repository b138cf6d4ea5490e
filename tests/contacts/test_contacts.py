import re

import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.urls import reverse
from django_tenants.utils import schema_context

from engagex.accounts import roles
from engagex.contacts.models import Contact, ContactStatus
from engagex.contacts.services.contacts import (
    contact_create,
    contact_delete_many,
    contact_update,
    email_normalize,
    group_add_contacts,
    group_remove_contacts,
)
from engagex.core.audit import audit_parse
from tests.api.conftest import key_client
from tests.factories.contacts import ContactFactory, ContactGroupFactory
from tests.fixtures.tenants import logged_in_client


def _url(name, *args):
    return reverse(name, args=args, urlconf="config.urls_tenants")


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("  Ann.Lee@Example.COM ", "Ann.Lee@example.com"),
        ("bob@MAIL.example.org", "bob@mail.example.org"),
        ("no-at-sign", "no-at-sign"),
    ],
)
def test_email_normalize_trims_and_lowercases_only_the_domain(raw, expected):
    assert email_normalize(raw) == expected


def test_email_is_unique_per_workspace_ignoring_case(in_tenant):
    contact_create(email="Ann@Example.com")

    with pytest.raises(ValidationError, match="already exists"):
        contact_create(email="ann@EXAMPLE.com")

    assert Contact.objects.count() == 1


def test_same_email_may_exist_in_two_workspaces(tenant, other_tenant):
    with schema_context(tenant.schema_name):
        contact_create(email="shared@example.com")
    with schema_context(other_tenant.schema_name):
        contact_create(email="shared@example.com")
        assert Contact.objects.filter(email="shared@example.com").count() == 1


def test_create_records_status_and_consent(in_tenant):
    contact = contact_create(email="new@example.com", source="admin")

    assert contact.status == ContactStatus.SUBSCRIBED
    assert contact.consent_source == "admin"
    assert contact.consent_at is not None
    assert contact.status_changed_at is not None


def test_contact_limit_is_enforced_on_create(in_tenant, on_plan):
    plan = on_plan(in_tenant, contact_limit=2)
    ContactFactory.create_batch(2)

    with pytest.raises(ValidationError, match=f"Your {plan.name} plan allows 2 contacts"):
        contact_create(email="third@example.com")

    assert Contact.objects.count() == 2


def test_unsubscribed_contact_cannot_be_resubscribed_by_staff(in_tenant):
    contact = ContactFactory(status=ContactStatus.UNSUBSCRIBED)

    with pytest.raises(ValidationError, match="unsubscribed"):
        contact_update(contact=contact, status=ContactStatus.SUBSCRIBED)

    contact.refresh_from_db()
    assert contact.status == ContactStatus.UNSUBSCRIBED


def test_status_change_records_time_and_source(in_tenant):
    contact = ContactFactory()

    contact_update(contact=contact, status=ContactStatus.UNSUBSCRIBED, source="admin")

    contact.refresh_from_db()
    assert contact.status_source == "admin"
    assert contact.status_changed_at is not None


def test_group_add_and_remove_are_set_based_and_idempotent(in_tenant):
    group = ContactGroupFactory()
    contacts = ContactFactory.create_batch(3)
    everyone = Contact.objects.all()

    assert group_add_contacts(group=group, contacts=everyone) == 3
    assert group_add_contacts(group=group, contacts=everyone) == 0
    assert group.contacts.count() == 3
    assert group_remove_contacts(group=group, contacts=everyone.filter(pk=contacts[0].pk)) == 1
    assert group.contacts.count() == 2


def test_delete_many_removes_contacts_and_memberships(in_tenant):
    group = ContactGroupFactory()
    ContactFactory.create_batch(3)
    group_add_contacts(group=group, contacts=Contact.objects.all())

    deleted = contact_delete_many(contacts=Contact.objects.all())

    assert deleted == 3
    assert Contact.objects.count() == 0
    assert group.contacts.count() == 0


# --- admin ---------------------------------------------------------------------------------
def test_owner_creates_a_contact_in_the_admin(owner_client, tenant):
    response = owner_client.post(
        _url("admin:contacts_contact_add"),
        {
            "email": " Mia@Example.COM ",
            "first_name": "Mia",
            "status": "subscribed",
            "attributes": "{}",
        },
    )

    assert response.status_code == 302
    with schema_context(tenant.schema_name):
        contact = Contact.objects.get()
        assert contact.email == "Mia@example.com"
        assert contact.status_source == "admin"


def test_admin_shows_duplicate_email_as_a_form_error(owner_client, tenant):
    with schema_context(tenant.schema_name):
        ContactFactory(email="taken@example.com")

    response = owner_client.post(
        _url("admin:contacts_contact_add"),
        {"email": "TAKEN@example.com", "status": "subscribed", "attributes": "{}"},
    )

    assert response.status_code == 200
    assert "A contact with this email address already exists." in response.content.decode()
    with schema_context(tenant.schema_name):
        assert Contact.objects.count() == 1


EMAIL_TAKEN = "A contact with this email address already exists."


@pytest.mark.parametrize("change", [False, True])
def test_a_taken_email_is_an_error_on_the_email_field_and_stores_nothing(
    owner_client, tenant, change
):
    with schema_context(tenant.schema_name):
        ContactFactory(email="taken@example.com")
        other = ContactFactory(email="other@example.com", first_name="Before")
        before = list(Contact.objects.order_by("pk").values())
    url = (
        _url("admin:contacts_contact_change", other.pk)
        if change
        else _url("admin:contacts_contact_add")
    )

    response = owner_client.post(
        url,
        {"email": " TAKEN@Example.com ", "first_name": "After", "status": "subscribed",
         "attributes": "{}"},
    )  # fmt: skip

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"email": [EMAIL_TAKEN]}
    page = response.content.decode()
    assert "/None/" not in page
    assert [str(m) for m in get_messages(response.wsgi_request)] == []
    with schema_context(tenant.schema_name):
        assert list(Contact.objects.order_by("pk").values()) == before


@pytest.mark.parametrize("status", ["unsubscribed", "bounced", "complained"])
def test_admin_refuses_resubscribing_with_a_form_error(owner_client, tenant, status):
    with schema_context(tenant.schema_name):
        contact = ContactFactory(status=status)

    response = owner_client.post(
        _url("admin:contacts_contact_change", contact.pk),
        {"email": contact.email, "status": "subscribed", "attributes": "{}"},
    )

    assert response.status_code == 200
    assert "it cannot be switched back to subscribed" in response.content.decode()
    assert list(response.context["adminform"].form.errors) == ["status"]
    with schema_context(tenant.schema_name):
        assert Contact.objects.get(pk=contact.pk).status == status


def test_admin_shows_limit_error_on_create(owner_client, tenant, on_plan):
    on_plan(tenant, contact_limit=0)

    response = owner_client.post(
        _url("admin:contacts_contact_add"),
        {"email": "over@example.com", "status": "subscribed", "attributes": "{}"},
    )

    assert response.status_code == 200
    assert "allows 0 contacts" in response.content.decode()
    assert "upgrade on the Billing page" in response.content.decode()
    with schema_context(tenant.schema_name):
        assert not Contact.objects.exists()


def test_search_matches_email_and_name_prefixes(owner_client, tenant):
    with schema_context(tenant.schema_name):
        ContactFactory(email="ann.lee@example.com", first_name="Ann", last_name="Lee")
        ContactFactory(email="bob@sample.org", first_name="Bob", last_name="Annan")
        ContactFactory(email="zed@example.com", first_name="Zed", last_name="Zulu")

    def found(q):
        body = owner_client.get(
            _url("admin:contacts_contact_changelist"), {"q": q}
        ).content.decode()
        return {
            email
            for email in ["ann.lee@example.com", "bob@sample.org", "zed@example.com"]
            if email in body
        }

    assert found("ann") == {"ann.lee@example.com", "bob@sample.org"}
    assert found("ANN.LEE@") == {"ann.lee@example.com"}
    assert found("zed zu") == {"zed@example.com"}
    assert found("nobody") == set()


def test_changelist_filters_by_status_and_group(owner_client, tenant):
    with schema_context(tenant.schema_name):
        group = ContactGroupFactory(name="VIP")
        vip = ContactFactory(email="vip@example.com")
        vip.groups.add(group)
        ContactFactory(email="gone@example.com", status=ContactStatus.UNSUBSCRIBED)

    by_status = owner_client.get(
        _url("admin:contacts_contact_changelist"), {"status__exact": "unsubscribed"}
    )
    by_group = owner_client.get(
        _url("admin:contacts_contact_changelist"), {"groups__id__exact": group.pk}
    )

    assert "gone@example.com" in by_status.content.decode()
    assert "vip@example.com" not in by_status.content.decode()
    assert "vip@example.com" in by_group.content.decode()
    assert "gone@example.com" not in by_group.content.decode()


def test_add_to_group_action(owner_client, tenant):
    with schema_context(tenant.schema_name):
        group = ContactGroupFactory(name="Newsletter")
        contacts = ContactFactory.create_batch(2)

    response = owner_client.post(
        _url("admin:contacts_contact_changelist"),
        {
            "action": "add_to_group",
            "_selected_action": [c.pk for c in contacts],
            "group": group.pk,
            "apply": "1",
        },
    )

    assert response.status_code == 302
    with schema_context(tenant.schema_name):
        assert group.contacts.count() == 2


def test_delete_action_asks_then_deletes(owner_client, tenant):
    with schema_context(tenant.schema_name):
        contacts = ContactFactory.create_batch(2)
    data = {"action": "delete_contacts", "_selected_action": [c.pk for c in contacts]}

    confirm = owner_client.post(_url("admin:contacts_contact_changelist"), data)
    assert "This applies to 2 contacts" in confirm.content.decode()
    with schema_context(tenant.schema_name):
        assert Contact.objects.count() == 2

    owner_client.post(_url("admin:contacts_contact_changelist"), {**data, "apply": "1"})
    with schema_context(tenant.schema_name):
        assert Contact.objects.count() == 0


def test_group_list_shows_member_and_subscribed_counts(owner_client, tenant):
    with schema_context(tenant.schema_name):
        group = ContactGroupFactory(name="Weekly")
        for status in ["subscribed", "subscribed", "bounced"]:
            ContactFactory(status=status).groups.add(group)

    body = owner_client.get(_url("admin:contacts_contactgroup_changelist")).content.decode()

    assert "Weekly" in body
    assert ">3<" in body.replace(" ", "").replace("\n", "")
    assert ">2<" in body.replace(" ", "").replace("\n", "")


def test_contacts_of_one_workspace_are_not_listed_in_another(owner_client, tenant, other_tenant):
    with schema_context(other_tenant.schema_name):
        ContactFactory(email="beta-only@example.com")

    body = owner_client.get(_url("admin:contacts_contact_changelist")).content.decode()

    assert "beta-only@example.com" not in body


def test_change_page_shows_the_contacts_campaign_history(owner_client, tenant):
    from engagex.campaigns.models import CampaignRecipient
    from tests.factories.campaigns import CampaignFactory

    with schema_context(tenant.schema_name):
        contact = ContactFactory(email="hist@example.com")
        campaign = CampaignFactory(name="Spring sale")
        CampaignRecipient.objects.create(
            campaign=campaign, contact=contact, email=contact.email, status="sent"
        )

    body = owner_client.get(_url("admin:contacts_contact_change", contact.pk)).content.decode()

    assert "Spring sale" in body
    assert "Sent" in body


def test_admin_adds_a_contact_with_groups_ticked(owner_client, tenant):
    with schema_context(tenant.schema_name):
        vip, weekly = ContactGroupFactory(name="VIP"), ContactGroupFactory(name="Weekly")
        ContactGroupFactory(name="Not ticked")

    response = owner_client.post(
        _url("admin:contacts_contact_add"),
        {
            "email": "mia@example.com",
            "status": "subscribed",
            "lists": [vip.pk, weekly.pk],
            "attributes": "{}",
        },
    )

    assert response.status_code == 302
    with schema_context(tenant.schema_name):
        contact = Contact.objects.get()
        assert sorted(contact.groups.values_list("name", flat=True)) == ["VIP", "Weekly"]
        assert set(contact.memberships.values_list("status", "source")) == {
            ("subscribed", "console")
        }
        assert response["Location"] == _url("admin:contacts_contact_changelist")
        entry = LogEntry.objects.get(object_id=str(contact.pk))
        assert entry.action_flag == ADDITION


def test_admin_changes_a_contacts_groups(owner_client, tenant):
    with schema_context(tenant.schema_name):
        vip, weekly = ContactGroupFactory(name="VIP"), ContactGroupFactory(name="Weekly")
        contact = ContactFactory(email="mia@example.com")
        contact.groups.set([vip])

    response = owner_client.post(
        _url("admin:contacts_contact_change", contact.pk),
        {"email": contact.email, "status": "subscribed", "lists": [weekly.pk], "attributes": "{}"},
    )

    assert response.status_code == 302
    with schema_context(tenant.schema_name):
        assert list(contact.groups.values_list("name", flat=True)) == ["Weekly"]


@pytest.mark.parametrize(
    ("attributes", "message"),
    [
        ('{"city": "Os\\u0000lo"}', "cannot contain the NUL character"),
        ('{"ci\\u0000ty": "Oslo"}', "cannot contain the NUL character"),
        ('{"deep": [{"x": "\\u0000"}]}', "remove it from “deep”"),
        ('{"score": NaN}', "not a number JSON can hold"),
        ("[1, 2]", "must be a JSON object"),
    ],
)
def test_admin_refuses_attributes_postgresql_cannot_store_with_a_field_error(
    owner_client, tenant, attributes, message
):
    with schema_context(tenant.schema_name):
        contact = ContactFactory(email="kept@example.com", attributes={"city": "Oslo"})

    added = owner_client.post(
        _url("admin:contacts_contact_add"),
        {"email": "new@example.com", "status": "subscribed", "attributes": attributes},
    )
    changed = owner_client.post(
        _url("admin:contacts_contact_change", contact.pk),
        {"email": contact.email, "status": "subscribed", "attributes": attributes},
    )

    for response in (added, changed):
        assert response.status_code == 200
        errors = response.context["adminform"].form.errors
        assert list(errors) == ["attributes"]
        assert message in errors["attributes"][0]
    with schema_context(tenant.schema_name):
        assert list(Contact.objects.values_list("email", "attributes")) == [
            ("kept@example.com", {"city": "Oslo"})
        ]


def test_admin_stores_an_emptied_attributes_field_as_no_attributes(owner_client, tenant):
    response = owner_client.post(
        _url("admin:contacts_contact_add"),
        {"email": "new@example.com", "status": "subscribed", "attributes": ""},
    )

    assert response.status_code == 302
    with schema_context(tenant.schema_name):
        assert Contact.objects.get().attributes == {}


def test_services_refuse_nul_in_attributes_and_store_nothing(in_tenant):
    contact = ContactFactory(email="kept@example.com", attributes={"city": "Oslo"})

    with pytest.raises(ValidationError) as created:
        contact_create(email="new@example.com", attributes={"x": "a\x00b"})
    with pytest.raises(ValidationError) as updated:
        contact_update(contact=contact, attributes={"x\x00": "b"})

    assert list(created.value.message_dict) == list(updated.value.message_dict) == ["attributes"]
    assert list(Contact.objects.values_list("email", "attributes")) == [
        ("kept@example.com", {"city": "Oslo"})
    ]


@pytest.mark.parametrize("value", ["²", "abc", "-1", "1.5", "9" * 30])
def test_admin_group_filter_with_a_bad_id_is_no_500(owner_client, tenant, value):
    changelist = _url("admin:contacts_contact_changelist")

    response = owner_client.get(changelist, {"groups__id__exact": value})

    assert response.status_code in (200, 302)


def test_group_actions_are_in_the_audit_log(owner_client, owner, tenant):
    with schema_context(tenant.schema_name):
        group = ContactGroupFactory(name="Newsletter")
        contacts = ContactFactory.create_batch(3)
    data = {"_selected_action": [c.pk for c in contacts], "group": group.pk, "apply": "1"}

    owner_client.post(_url("admin:contacts_contact_changelist"), {**data, "action": "add_to_group"})
    owner_client.post(
        _url("admin:contacts_contact_changelist"),
        {**data, "_selected_action": [contacts[0].pk], "action": "remove_from_group"},
    )

    with schema_context(tenant.schema_name):
        assert _group_audit() == [
            (owner.pk, str(group.pk), "Newsletter", "Added 3 contacts"),
            (owner.pk, str(group.pk), "Newsletter", "Removed 1 contact"),
        ]
        assert group.contacts.count() == 2


def _group_audit():
    return [
        (entry.user_id, entry.object_id, entry.object_repr, audit_parse(entry)[1])
        for entry in LogEntry.objects.order_by("pk")
        if (audit_parse(entry) or ("",))[0] == "group_changed"
    ]


# --- API --------------------------------------------------------------------------------------
API = "/api/v1"


@pytest.fixture
def owner_api(tenant, owner):
    """A client with an Owner-role API key created by the workspace's owner."""
    return key_client(tenant, roles.OWNER, owner)


@pytest.mark.parametrize(
    ("path", "name"),
    [
        ("/contacts/?group=²", "group"),
        ("/contacts/?group=abc", "group"),
        ("/contacts/?group=99999999999999999999", "group"),
        ("/contacts/?status=gone", "status"),
        ("/analytics/events/?campaign=²", "campaign"),
        ("/analytics/events/?campaign=1e3", "campaign"),
        ("/analytics/events/?type=nope", "type"),
    ],
)
def test_api_query_parameters_that_are_not_ids_or_choices_are_a_400(owner_api, path, name):
    response = owner_api.get(API + path)

    assert response.status_code == 400
    assert list(response.json()["error"]["fields"]) == [name]


def test_api_group_filter_with_a_good_id_still_filters(tenant, owner_api):
    with schema_context(tenant.schema_name):
        group = ContactGroupFactory()
        ContactFactory(email="in@example.com").groups.add(group)
        ContactFactory(email="out@example.com")

    found = owner_api.get(f"{API}/contacts/", {"group": group.pk}).json()["results"]
    missing = owner_api.get(f"{API}/contacts/", {"group": group.pk + 1000}).json()["results"]

    assert [c["email"] for c in found] == ["in@example.com"]
    assert missing == []


def test_api_refuses_nul_in_attributes_on_create_update_and_bulk_upsert(tenant, owner_api):
    with schema_context(tenant.schema_name):
        contact = ContactFactory(email="kept@example.com", attributes={"city": "Oslo"})
    body = {"email": "new@example.com", "attributes": {"city": "Os\u0000lo"}}

    created = owner_api.post(f"{API}/contacts/", body, content_type="application/json")
    updated = owner_api.patch(
        f"{API}/contacts/{contact.pk}/",
        {"attributes": {"ci\u0000ty": "x"}},
        content_type="application/json",
    )
    bulk = owner_api.post(
        f"{API}/contacts/bulk-upsert/",
        {"contacts": [{"email": "ok@example.com"}, body]},
        content_type="application/json",
    )

    assert created.status_code == updated.status_code == bulk.status_code == 400
    assert list(created.json()["error"]["fields"]) == ["attributes"]
    assert list(updated.json()["error"]["fields"]) == ["attributes"]
    assert list(bulk.json()["error"]["fields"]) == ["contacts[1].attributes"]
    assert "NUL" in created.json()["error"]["fields"]["attributes"][0]
    with schema_context(tenant.schema_name):
        assert list(Contact.objects.values_list("email", "attributes")) == [
            ("kept@example.com", {"city": "Oslo"})
        ]


def test_api_updates_a_contacts_groups(tenant, owner_api):
    with schema_context(tenant.schema_name):
        vip, weekly = ContactGroupFactory(), ContactGroupFactory()
        contact = ContactFactory()
        contact.groups.set([vip])

    response = owner_api.patch(
        f"{API}/contacts/{contact.pk}/", {"groups": [weekly.pk]}, content_type="application/json"
    )

    assert response.json()["groups"] == [weekly.pk]
    with schema_context(tenant.schema_name):
        assert list(contact.groups.all()) == [weekly]


def test_api_membership_changes_are_audited_as_the_keys_creator(
    tenant, owner, owner_api, make_member
):
    with schema_context(tenant.schema_name):
        group = ContactGroupFactory(name="VIP")
        ids = [ContactFactory().pk for _ in range(2)]
    marketer = make_member(roles.MARKETER, email="m-session@alpha.example")
    session = logged_in_client(tenant, marketer)

    owner_api.post(
        f"{API}/groups/{group.pk}/add-contacts/", {"contacts": ids}, content_type="application/json"
    )
    session.post(
        f"{API}/groups/{group.pk}/remove-contacts/",
        {"contacts": ids[:1]},
        content_type="application/json",
    )

    with schema_context(tenant.schema_name):
        assert _group_audit() == [
            (owner.pk, str(group.pk), "VIP", "Added 2 contacts"),
            (marketer.pk, str(group.pk), "VIP", "Removed 1 contact"),
        ]


def test_add_page_has_a_title_and_no_add_button_or_sections_a_new_contact_cannot_fill(
    owner_client,
):
    body = owner_client.get(_url("admin:contacts_contact_add")).content.decode()

    assert ">Add contact</h2>" in body
    assert 'class="addlink' not in body  # the header's "+": this page is the add form
    assert "Campaign history" not in body
    assert ">Record<" not in body


def test_change_page_keeps_the_header_add_button_and_the_record(owner_client, tenant):
    with schema_context(tenant.schema_name):
        contact = ContactFactory()

    body = owner_client.get(_url("admin:contacts_contact_change", contact.pk)).content.decode()

    assert 'class="addlink' in body
    assert "Campaign history" in body


def test_breadcrumb_shows_the_email_as_it_is_not_capitalised(owner_client, tenant):
    with schema_context(tenant.schema_name):
        contact = ContactFactory(email="joerg.de@example.de")

    body = owner_client.get(_url("admin:contacts_contact_change", contact.pk)).content.decode()
    crumbs = re.findall(r'class="[^"]*tracking-tight[^"]*">\s*(.*?)\s*</a\s*>', body)

    assert crumbs == ["Contacts", "Contacts", "joerg.de@example.de"]


def test_german_delete_button_says_loeschen_alone(owner_client, tenant):
    with schema_context(tenant.schema_name):
        contact = ContactFactory()
    owner_client.cookies["django_language"] = "de"

    body = owner_client.get(_url("admin:contacts_contact_change", contact.pk)).content.decode()

    assert "Löschen Kontakt" not in body
    assert re.search(r">\s*Löschen\s*</a>", body)
