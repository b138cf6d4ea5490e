"""Lists with a status per member: migration, rules, console pages, audiences, isolation."""

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import ValidationError
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.urls import reverse
from django_tenants.utils import schema_context

from engagex.campaigns.services.campaigns import campaign_audience
from engagex.contacts.models import (
    ConsentSource,
    Contact,
    ContactGroup,
    ContactStatus,
    Membership,
    MembershipStatus,
)
from engagex.contacts.services.contacts import group_add_contacts, group_remove_contacts
from engagex.contacts.services.lists import (
    LIST_NAME_TAKEN,
    Consent,
    membership_confirm,
    membership_subscribe,
    memberships_set,
    register_confirmation_sender,
)
from tests.factories.campaigns import CampaignFactory
from tests.factories.contacts import ContactFactory, ContactGroupFactory, MembershipFactory

M = MembershipStatus


def _url(name, *args):
    return reverse(name, args=args, urlconf="config.urls_tenants")


def test_migration_keeps_every_group_member_as_a_subscribed_member(in_tenant):
    """Back to groups (0005), fill the old table, forward again: nothing lost."""
    executor = MigrationExecutor(connection)
    executor.migrate([("contacts", "0005_translated_labels")])
    with connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO contacts_contactgroup (name, description, created_at) VALUES "
            "('Old news', 'x', now()), ('Old deals', '', now()) RETURNING id"
        )
        news, deals = (row[0] for row in cursor.fetchall())
        cursor.execute(
            "INSERT INTO contacts_contact (email, first_name, last_name, phone, language, "
            "timezone, attributes, status, status_source, consent_source, consent_at, "
            "soft_bounces, created_at, updated_at) SELECT 'p' || n || '@example.com', '', '', "
            "'', '', '', '{}', 'subscribed', '', '', CASE WHEN n = 1 THEN "
            "'2024-05-01T10:00Z'::timestamptz END, 0, now(), now() "
            "FROM generate_series(1, 500) n RETURNING id"
        )
        ids = [row[0] for row in cursor.fetchall()]
        cursor.execute(
            "INSERT INTO contacts_contact_groups (contact_id, contactgroup_id) "
            "SELECT c, %s FROM unnest(%s::bigint[]) c UNION ALL "
            "SELECT c, %s FROM unnest(%s::bigint[]) c",
            [news, ids, deals, ids[:100]],
        )
        # Check the rows' foreign keys now, as their own transaction would before a release.
        cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
    executor = MigrationExecutor(connection)
    executor.loader.build_graph()
    executor.migrate([("contacts", "0006_lists_with_memberships")])

    assert Membership.objects.filter(group_id=news).count() == 500
    assert Membership.objects.filter(group_id=deals).count() == 100
    assert set(Membership.objects.values_list("status", "source")) == {
        (M.SUBSCRIBED, ConsentSource.MIGRATION)
    }
    first = Membership.objects.get(group_id=news, contact_id=ids[0])
    assert first.consent_at.isoformat().startswith("2024-05-01T10:00")
    lists = ContactGroup.objects.filter(pk__in=[news, deals])
    assert set(lists.values_list("opt_in", "visibility")) == {("single", "private")}
    # The new table keeps its constraint: one membership per contact and list.
    with pytest.raises(Exception, match="contacts_membership_unique"):
        with connection.cursor() as cursor, transaction_savepoint():
            cursor.execute(
                "INSERT INTO contacts_membership (contact_id, group_id) VALUES (%s, %s)",
                [ids[0], news],
            )


class transaction_savepoint:
    """A savepoint around a statement expected to fail inside the test's transaction."""

    def __enter__(self):
        from django.db import transaction

        self.atomic = transaction.atomic()
        self.atomic.__enter__()

    def __exit__(self, *exc):
        self.atomic.__exit__(*exc)
        return False


def test_campaign_reaches_only_subscribed_members_whose_contact_is_subscribed(in_tenant):
    news, other = ContactGroupFactory(name="News"), ContactGroupFactory(name="Other")
    subscribed = MembershipFactory(group=news).contact
    MembershipFactory(group=news, status=M.UNCONFIRMED)
    MembershipFactory(group=news, status=M.UNSUBSCRIBED)
    bounced = ContactFactory(status=ContactStatus.BOUNCED)
    MembershipFactory(group=news, contact=bounced)
    excluded = MembershipFactory(group=news).contact
    MembershipFactory(group=other, contact=excluded, status=M.UNSUBSCRIBED)
    campaign = CampaignFactory()
    campaign.include_groups.set([news])
    campaign.exclude_groups.set([other])

    assert list(campaign_audience(campaign)) == [subscribed]


def test_staff_cannot_put_back_someone_who_left_a_list(in_tenant):
    news = ContactGroupFactory(name="News")
    membership = MembershipFactory(group=news, status=M.UNSUBSCRIBED)
    contact = membership.contact

    with pytest.raises(ValidationError, match="unsubscribed from “News” themselves"):
        memberships_set(contact=contact, groups=[news])
    with pytest.raises(ValidationError, match="only they can subscribe again"):
        membership_subscribe(contact=contact, group=news, consent=Consent(ConsentSource.API))
    # Removing and re-adding in bulk does not launder the opt-out either.
    group_remove_contacts(group=news, contacts=Contact.objects.filter(pk=contact.pk))
    group_add_contacts(group=news, contacts=Contact.objects.filter(pk=contact.pk))

    membership.refresh_from_db()
    assert membership.status == M.UNSUBSCRIBED


def test_double_opt_in_waits_for_confirmation_which_records_evidence(in_tenant):
    sent = []
    register_confirmation_sender(lambda memberships: sent.extend(m.pk for m in memberships))
    news = ContactGroupFactory(name="News", opt_in=ContactGroup.OptIn.DOUBLE)
    contact = ContactFactory()
    consent = Consent(ConsentSource.FORM, "Yes, send me news", "203.0.113.7", "Firefox")

    from django.test import TestCase

    with TestCase.captureOnCommitCallbacks(execute=True):
        membership = membership_subscribe(contact=contact, group=news, consent=consent)

    assert membership.status == M.UNCONFIRMED
    assert sent == [membership.pk]
    assert (membership.consent_ip, membership.consent_text) == ("203.0.113.7", "Yes, send me news")
    confirmed = membership_confirm(membership=membership, ip="198.51.100.2", user_agent="Outlook")
    assert confirmed.status == M.SUBSCRIBED
    assert confirmed.confirmed_at is not None
    assert confirmed.confirm_ip == "198.51.100.2"


def test_only_a_confirmed_double_opt_in_brings_back_an_unsubscribed_contact(in_tenant):
    news = ContactGroupFactory(name="News")  # single opt-in: a form still asks to confirm
    contact = ContactFactory(status=ContactStatus.UNSUBSCRIBED)

    with pytest.raises(ValidationError):
        membership_subscribe(contact=contact, group=news, consent=Consent(ConsentSource.IMPORT))
    membership = membership_subscribe(
        contact=contact, group=news, consent=Consent(ConsentSource.FORM)
    )
    assert membership.status == M.UNCONFIRMED
    contact.refresh_from_db()
    assert contact.status == ContactStatus.UNSUBSCRIBED

    membership_confirm(membership=membership)

    contact.refresh_from_db()
    assert contact.status == ContactStatus.SUBSCRIBED
    assert "double opt-in" in contact.status_source


@pytest.mark.parametrize("status", [ContactStatus.BOUNCED, ContactStatus.COMPLAINED])
def test_bounced_and_complained_contacts_never_reenter_through_a_form(in_tenant, status):
    news = ContactGroupFactory(name="News")
    contact = ContactFactory(status=status)

    with pytest.raises(ValidationError):
        membership_subscribe(contact=contact, group=news, consent=Consent(ConsentSource.FORM))
    assert not Membership.objects.filter(contact=contact).exists()


def test_list_page_counts_members_by_status_and_links_to_them(owner_client, tenant):
    with schema_context(tenant.schema_name):
        news = ContactGroupFactory(name="News")
        for status in [M.SUBSCRIBED, M.SUBSCRIBED, M.UNCONFIRMED, M.UNSUBSCRIBED]:
            MembershipFactory(group=news, status=status)

    body = owner_client.get(_url("admin:contacts_contactgroup_change", news.pk)).content.decode()

    members_url = _url("admin:contacts_contact_changelist")
    assert f'href="{members_url}?list={news.pk}&amp;list_status=subscribed">2</a>' in body
    assert f'href="{members_url}?list={news.pk}&amp;list_status=unconfirmed">1</a>' in body
    assert f'href="{members_url}?list={news.pk}&amp;list_status=unsubscribed">1</a>' in body


@pytest.mark.parametrize("change", [False, True])
def test_a_taken_list_name_is_an_error_on_the_name_field_and_stores_nothing(
    owner_client, tenant, change
):
    with schema_context(tenant.schema_name):
        ContactGroupFactory(name="News")
        other = ContactGroupFactory(name="Offers", description="Before")
        before = list(ContactGroup.objects.order_by("pk").values())
    url = (
        _url("admin:contacts_contactgroup_change", other.pk)
        if change
        else _url("admin:contacts_contactgroup_add")
    )

    response = owner_client.post(
        url,
        {"name": " news ", "description": "After", "opt_in": "single",
         "visibility": "private"},
    )  # fmt: skip

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"name": [str(LIST_NAME_TAKEN)]}
    assert "/None/" not in response.content.decode()
    assert [str(m) for m in get_messages(response.wsgi_request)] == []
    with schema_context(tenant.schema_name):
        assert list(ContactGroup.objects.order_by("pk").values()) == before


def test_a_list_is_added_and_renamed_in_the_console(owner_client, tenant):
    form = {"description": "", "opt_in": "double", "visibility": "public"}

    added = owner_client.post(_url("admin:contacts_contactgroup_add"), {"name": " News ", **form})
    with schema_context(tenant.schema_name):
        news = ContactGroup.objects.get()
    renamed = owner_client.post(
        _url("admin:contacts_contactgroup_change", news.pk), {"name": "Weekly news", **form}
    )

    assert added.status_code == renamed.status_code == 302
    with schema_context(tenant.schema_name):
        news.refresh_from_db()
        assert (news.name, news.opt_in, news.visibility) == ("Weekly news", "double", "public")


def test_a_list_deleted_in_the_console_takes_its_memberships_not_its_contacts(owner_client, tenant):
    with schema_context(tenant.schema_name):
        news, deals = ContactGroupFactory(), ContactGroupFactory()
        member = MembershipFactory(group=news).contact
        MembershipFactory(contact=member, group=deals)

    one = owner_client.post(_url("admin:contacts_contactgroup_delete", news.pk), {"post": "yes"})
    bulk = owner_client.post(
        _url("admin:contacts_contactgroup_changelist"),
        {"action": "delete_selected", "_selected_action": [deals.pk], "post": "yes"},
    )

    assert one.status_code == bulk.status_code == 302
    with schema_context(tenant.schema_name):
        assert not ContactGroup.objects.exists()
        assert not Membership.objects.exists()
        assert Contact.objects.filter(pk=member.pk).exists()


def test_contact_list_filters_by_list_and_list_status(owner_client, tenant):
    with schema_context(tenant.schema_name):
        news = ContactGroupFactory(name="News")
        MembershipFactory(group=news, contact=ContactFactory(email="in@example.com"))
        MembershipFactory(
            group=news, contact=ContactFactory(email="left@example.com"), status=M.UNSUBSCRIBED
        )
        ContactFactory(email="elsewhere@example.com")

    url = _url("admin:contacts_contact_changelist")
    both = owner_client.get(f"{url}?list={news.pk}").content.decode()
    left = owner_client.get(f"{url}?list={news.pk}&list_status=unsubscribed").content.decode()

    assert "in@example.com" in both
    assert "left@example.com" in both
    assert "elsewhere@example.com" not in both
    assert "left@example.com" in left
    assert "in@example.com" not in left


def test_contact_page_shows_each_membership_with_its_consent(owner_client, tenant):
    with schema_context(tenant.schema_name):
        membership = MembershipFactory(
            group=ContactGroupFactory(name="News"),
            source=ConsentSource.FORM,
            consent_ip="203.0.113.7",
            status=M.UNCONFIRMED,
        )

    body = owner_client.get(
        _url("admin:contacts_contact_change", membership.contact_id)
    ).content.decode()

    assert "Sign-up form" in body
    assert "203.0.113.7" in body
    assert "Unconfirmed" in body


def test_lists_and_memberships_stay_in_their_workspace(owner_client, tenant, other_tenant):
    with schema_context(other_tenant.schema_name):
        secret = ContactGroupFactory(name="Beta secret list")
        MembershipFactory(group=secret, contact=ContactFactory(email="beta@example.com"))

    lists = owner_client.get(_url("admin:contacts_contactgroup_changelist")).content.decode()
    filtered = owner_client.get(
        _url("admin:contacts_contact_changelist") + f"?list={secret.pk}"
    ).content.decode()

    assert "Beta secret list" not in lists
    assert "beta@example.com" not in filtered
    with schema_context(tenant.schema_name):
        assert not Membership.objects.filter(contact__email="beta@example.com").exists()


def test_a_campaign_to_everyone_waits_for_a_double_opt_in_to_be_confirmed(in_tenant):
    news = ContactGroupFactory(name="News", opt_in=ContactGroup.OptIn.DOUBLE)
    imported = ContactFactory(email="imported@example.com")  # on no list: consented earlier
    signed_up = ContactFactory(email="signed-up@example.com")
    membership = membership_subscribe(
        contact=signed_up, group=news, consent=Consent(ConsentSource.FORM)
    )
    campaign = CampaignFactory()

    assert list(campaign_audience(campaign)) == [imported]

    membership_confirm(membership=membership)

    assert set(campaign_audience(campaign)) == {imported, signed_up}


def test_memberships_keep_only_the_indexes_their_lookups_use(in_tenant):
    """Lookups by contact and by list use the two compound indexes; the foreign keys' own
    single-column indexes (two more writes per membership an import adds) are gone, and a
    deleted contact or list still takes its memberships with it (Django's cascade)."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'contacts_membership' "
            "AND schemaname = current_schema() ORDER BY indexdef"
        )
        columns = sorted(row[0].split(" USING btree ")[1] for row in cursor.fetchall())
    assert columns == [
        "(contact_id) WHERE ((status)::text = 'unconfirmed'::text)",  # contacts 0015
        "(contact_id, group_id)",
        "(group_id, status, contact_id)",
        "(id)",
    ]
    with connection.cursor() as cursor:  # triggers check the references instead (0012)
        cursor.execute(
            "SELECT count(*) FROM pg_constraint WHERE contype = 'f' "
            "AND conrelid = 'contacts_membership'::regclass"
        )
        assert cursor.fetchone()[0] == 0
    kept, gone = ContactFactory(), ContactFactory()
    news, deals = ContactGroupFactory(), ContactGroupFactory()
    for contact in (kept, gone):
        MembershipFactory(contact=contact, group=news)
        MembershipFactory(contact=contact, group=deals)
    gone.delete()
    deals.delete()
    assert list(Membership.objects.values_list("contact_id", "group_id")) == [(kept.pk, news.pk)]
