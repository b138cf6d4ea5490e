"""A contact awaiting confirmation (only unconfirmed memberships) is flagged by triggers on
memberships, whichever way they change; no campaign reaches them until they confirm."""

from django.db import connection
from django_tenants.utils import schema_context

from engagex.campaigns.services.campaigns import campaign_audience
from engagex.contacts.models import ConsentSource, Contact, ContactGroup, Membership
from engagex.contacts.services.lists import (
    Consent,
    awaiting_confirmation_repair,
    membership_confirm,
    membership_subscribe,
    membership_unsubscribe,
)
from tests.factories.campaigns import CampaignFactory
from tests.factories.contacts import ContactFactory, ContactGroupFactory, MembershipFactory


def awaiting(*contacts) -> list[bool]:
    flags = dict(Contact.objects.values_list("pk", "awaiting_confirmation"))
    return [flags[contact.pk] for contact in contacts]


def test_a_double_opt_in_sign_up_awaits_until_confirmed(in_tenant):
    news = ContactGroupFactory(name="News", opt_in=ContactGroup.OptIn.DOUBLE)
    signed_up = ContactFactory()
    everyone = CampaignFactory()

    membership = membership_subscribe(
        contact=signed_up, group=news, consent=Consent(ConsentSource.FORM, "Yes", "", "")
    )

    assert awaiting(signed_up) == [True]
    assert signed_up not in set(campaign_audience(everyone))
    membership_confirm(membership=membership)
    assert awaiting(signed_up) == [False]
    assert signed_up in set(campaign_audience(everyone))


def test_the_flag_follows_every_change_of_memberships(in_tenant):
    news, events = ContactGroupFactory(name="News"), ContactGroupFactory(name="Events")
    a, b = ContactFactory(), ContactFactory()
    pending = MembershipFactory(contact=a, group=news, status="unconfirmed")
    MembershipFactory(contact=b, group=events, status="subscribed")
    assert awaiting(a, b) == [True, False]

    MembershipFactory(contact=a, group=events, status="subscribed")  # confirmed elsewhere
    assert awaiting(a) == [False]
    membership_unsubscribe(contact=a, groups=[events])  # … and left that list
    assert awaiting(a) == [True]
    Membership.objects.filter(pk=pending.pk).update(contact_id=b.pk)  # moved to b
    assert awaiting(a, b) == [False, False]
    Membership.objects.filter(contact=b, group=events).delete()  # b's only consent gone
    assert awaiting(a, b) == [False, True]
    Membership.objects.filter(pk=pending.pk).delete()
    assert awaiting(a, b) == [False, False]


def test_large_statements_keep_the_flag_too(in_tenant):
    news, events = ContactGroupFactory(name="News"), ContactGroupFactory(name="Events")
    people = Contact.objects.bulk_create(Contact(email=f"p{i}@bulk.example") for i in range(1200))
    Membership.objects.bulk_create(
        Membership(contact=contact, group=news, status="unconfirmed") for contact in people
    )
    assert Contact.objects.filter(awaiting_confirmation=True).count() == 1200

    Membership.objects.bulk_create(  # an import subscribing 1,100 of them elsewhere
        Membership(contact=contact, group=events, status="subscribed") for contact in people[:1100]
    )

    assert Contact.objects.filter(awaiting_confirmation=True).count() == 100
    Membership.objects.filter(group=events).update(status="unsubscribed")
    assert Contact.objects.filter(awaiting_confirmation=True).count() == 1200
    Membership.objects.filter(group=news).delete()
    assert Contact.objects.filter(awaiting_confirmation=True).count() == 0


def test_saving_a_contact_loaded_before_keeps_the_flag(in_tenant):
    contact = ContactFactory()
    stale = Contact.objects.get(pk=contact.pk)
    MembershipFactory(contact=contact, group=ContactGroupFactory(), status="unconfirmed")

    stale.first_name = "Ann"
    stale.save()

    assert awaiting(contact) == [True]
    assert Contact.objects.get(pk=contact.pk).first_name == "Ann"


def test_a_send_repairs_a_wrong_flag_first_and_never_reaches_the_unconfirmed(in_tenant):
    from engagex.campaigns.models import CampaignRecipient
    from engagex.campaigns.services.campaigns import campaign_start

    a, b = ContactFactory(), ContactFactory()
    MembershipFactory(contact=a, group=ContactGroupFactory(), status="unconfirmed")
    with connection.cursor() as cursor:  # as two racing transactions could leave it
        cursor.execute(
            "UPDATE contacts_contact SET awaiting_confirmation = NOT awaiting_confirmation"
        )
    assert awaiting(a, b) == [False, True]

    campaign_start(campaign_id=CampaignFactory().pk)

    assert awaiting(a, b) == [True, False]
    assert list(CampaignRecipient.objects.values_list("contact_id", flat=True)) == [b.pk]
    assert awaiting_confirmation_repair() == 0


def test_the_hourly_upkeep_repairs_the_flag_in_every_workspace(tenant, other_tenant):
    from engagex.contacts.tasks import contacts_upkeep
    from engagex.core.schedules import SCHEDULES

    def wrong_flag() -> Contact:
        contact = ContactFactory()
        MembershipFactory(contact=contact, group=ContactGroupFactory(), status="unconfirmed")
        Contact.objects.filter(pk=contact.pk).update(awaiting_confirmation=False)
        return contact

    with schema_context(tenant.schema_name):
        ours = wrong_flag()
    with schema_context(other_tenant.schema_name):
        theirs = wrong_flag()

    assert contacts_upkeep() >= 2

    with schema_context(tenant.schema_name):
        assert awaiting(ours) == [True]
    with schema_context(other_tenant.schema_name):
        assert awaiting(theirs) == [True]
    assert any(spec["func"] == "engagex.contacts.tasks.contacts_upkeep" for spec in SCHEDULES)


def test_the_flag_stays_in_its_workspace(tenant, other_tenant):
    with schema_context(tenant.schema_name):
        contact = ContactFactory(email="same@x.example")
        MembershipFactory(contact=contact, group=ContactGroupFactory(), status="unconfirmed")
    with schema_context(other_tenant.schema_name):
        twin = ContactFactory(email="same@x.example")
        MembershipFactory(contact=twin, group=ContactGroupFactory(), status="subscribed")
        assert awaiting(twin) == [False]
    with schema_context(tenant.schema_name):
        assert awaiting(contact) == [True]
