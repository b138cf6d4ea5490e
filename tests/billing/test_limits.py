"""Plan limits and the read-only state, enforced in one place and felt by every app."""

import threading
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django_tenants.utils import schema_context

from engagex.accounts.models import User
from engagex.accounts.selectors import invitation_list_pending
from engagex.billing.limits import Limit, LimitExceeded, certainly_room, ensure_within, usage
from engagex.billing.models import BillingAccount
from engagex.campaigns.models import CampaignRecipient
from engagex.campaigns.selectors import monthly_sends
from engagex.campaigns.services.campaigns import campaign_start
from engagex.contacts.models import Contact, ImportJob
from engagex.contacts.services import importing
from engagex.contacts.services.contacts import contact_create
from engagex.domains.models import SendingDomain
from engagex.domains.services import domain_create
from engagex.platform.provisioning import tenant_create
from tenants.models import Tenant
from tests.factories.billing import PlanFactory
from tests.factories.campaigns import CampaignFactory
from tests.factories.contacts import ContactFactory
from tests.factories.domains import SendingDomainFactory

S = BillingAccount.Status


def test_every_plan_limit_has_a_usage_counter_registered_at_start_up(in_tenant, db):
    """Billing imports none of the apps it counts: each registers its counter in ready()."""
    # given a contact and a sender domain in the workspace
    ContactFactory()
    SendingDomainFactory()
    # when every limit is counted (an unregistered one would raise ImproperlyConfigured)
    used = {limit: usage(limit) for limit in Limit}
    # then each counts its own app's rows
    assert used[Limit.CONTACTS] == Contact.objects.count() >= 1
    assert used[Limit.SENDER_DOMAINS] == SendingDomain.objects.count() >= 1
    active = User.objects.filter(is_active=True).count()
    assert used[Limit.SEATS] == active + invitation_list_pending().count() >= 1
    assert used[Limit.MONTHLY_SENDS] == monthly_sends()


def _admin_url(name, *args):
    return reverse(name, args=args, urlconf="config.urls_tenants")


def test_a_new_workspace_starts_a_14_day_free_trial(db):
    tenant = tenant_create(name="Gamma", slug="gamma", owner_email="o@gamma.example").tenant

    account = BillingAccount.objects.get(tenant=tenant)

    assert (account.plan.name, account.status) == ("Free Trial", S.TRIALING)
    assert abs(account.trial_ends_at - (timezone.now() + timedelta(days=14))) < timedelta(minutes=1)
    assert tenant.plan_changes.get().source == "signup"


def test_the_message_names_the_limit_the_plan_and_how_to_upgrade(in_tenant, on_plan):
    plan = on_plan(in_tenant, sender_domain_limit=1)
    domain_create(domain="one.example.com")

    with pytest.raises(LimitExceeded) as error:
        domain_create(domain="two.example.com")

    assert error.value.messages == [
        f"Your {plan.name} plan allows 1 sender domains and this workspace uses 1, so 1 more "
        "cannot be added. An Owner can upgrade on the Billing page."
    ]
    assert SendingDomain.objects.count() == 1


def test_seats_count_active_members(in_tenant, on_plan, make_member):
    on_plan(in_tenant, seat_limit=2)
    make_member()

    with pytest.raises(LimitExceeded, match="allows 2 team seats"):
        ensure_within(Limit.SEATS)


def test_unlimited_plans_never_refuse(in_tenant, on_plan):
    on_plan(in_tenant)  # every limit empty

    ensure_within(Limit.CONTACTS, adding=10_000_000)


def test_certain_room_is_told_by_the_bound_and_never_past_the_limit(in_tenant, on_plan):
    """The span of the contact ids decides without a count; a gap (deleted contacts) makes
    it larger than the count, so it says "not certain" where the count must decide."""
    on_plan(in_tenant, contact_limit=5)
    first, *_, last = ContactFactory.create_batch(3)
    assert certainly_room(Limit.CONTACTS, adding=2)
    assert not certainly_room(Limit.CONTACTS, adding=3)

    ContactFactory.create_batch(2)
    Contact.objects.filter(pk__in=[first.pk + 1, last.pk]).delete()  # 3 left, ids span 5

    assert not certainly_room(Limit.CONTACTS, adding=1)
    assert usage(Limit.CONTACTS) == 3  # the count still finds room for 2
    on_plan(in_tenant)  # unlimited
    assert certainly_room(Limit.CONTACTS, adding=10_000_000)


def test_bulk_api_create_respects_the_contact_limit(in_tenant, on_plan):
    from engagex.contacts.services.contacts import contact_bulk_upsert

    on_plan(in_tenant, contact_limit=2)

    with pytest.raises(LimitExceeded):
        contact_bulk_upsert(items=[{"email": f"p{i}@example.com"} for i in range(3)])

    assert Contact.objects.count() == 0


def test_the_contact_limit_stays_exact_when_deleted_contacts_leave_gaps_in_the_ids(
    in_tenant, on_plan
):
    """The cheap check (the span of the ids) only ever says "room for certain": once gaps
    make it too large, the exact count decides, both ways."""
    on_plan(in_tenant, contact_limit=3)
    first, *_ = [contact_create(email=f"p{i}@example.com") for i in range(3)]
    with pytest.raises(LimitExceeded):  # 3 of 3, ids 1-3
        contact_create(email="full@example.com")
    first.delete()  # 2 contacts, ids still span 3

    contact_create(email="back@example.com")  # the count (2) leaves room for one

    with pytest.raises(LimitExceeded) as error:
        contact_create(email="over@example.com")
    assert "this workspace uses 3" in error.value.messages[0]
    assert Contact.objects.count() == 3
    assert not Contact.objects.filter(email__in=["full@example.com", "over@example.com"]).exists()


def test_limits_are_per_workspace(tenant, other_tenant, on_plan):
    on_plan(tenant, contact_limit=0)

    with schema_context(other_tenant.schema_name):
        contact_create(email="fine@example.com")
        assert Contact.objects.count() == 1
    with schema_context(tenant.schema_name), pytest.raises(LimitExceeded):
        contact_create(email="refused@example.com")


@pytest.mark.parametrize("status", [S.CANCELLED, S.EXPIRED])
def test_a_read_only_workspace_cannot_send_import_or_add(in_tenant, status):
    BillingAccount.objects.filter(tenant=in_tenant).update(status=status)
    ContactFactory(email="kept@example.com")
    campaign = CampaignFactory()

    with pytest.raises(ValidationError, match="read-only"):
        campaign_start(campaign_id=campaign.pk)
    with pytest.raises(ValidationError, match="read-only"):
        importing.import_job_create(upload=SimpleUploadedFile("a.csv", b"email\na@example.com\n"))
    with pytest.raises(ValidationError, match="read-only"):
        contact_create(email="new@example.com")

    assert CampaignRecipient.objects.count() == 0
    assert ImportJob.objects.count() == 0
    assert list(Contact.objects.values_list("email", flat=True)) == ["kept@example.com"]


def test_overdue_past_the_grace_period_turns_read_only(in_tenant):
    now = timezone.now()
    BillingAccount.objects.filter(tenant=in_tenant).update(
        status=S.PAST_DUE,
        past_due_since=now - timedelta(days=8),
        grace_ends_at=now - timedelta(days=1),
    )

    with pytest.raises(ValidationError, match="read-only"):
        contact_create(email="new@example.com")


def test_overdue_within_the_grace_period_still_works(in_tenant):
    now = timezone.now()
    BillingAccount.objects.filter(tenant=in_tenant).update(
        status=S.PAST_DUE, past_due_since=now, grace_ends_at=now + timedelta(days=7)
    )

    contact_create(email="new@example.com")

    assert Contact.objects.count() == 1


def test_read_only_staff_still_log_in_and_export(owner_client, tenant):
    BillingAccount.objects.filter(tenant=tenant).update(status=S.CANCELLED)
    with schema_context(tenant.schema_name):
        ContactFactory(email="ann@example.com")

    home = owner_client.get("/admin/")
    export = owner_client.get(_admin_url("admin:contacts_contact_export_csv"))

    assert home.status_code == 200
    assert 'data-testid="billing-banner"' in home.content.decode()
    assert "This workspace is read-only (cancelled)" in home.content.decode()
    assert "ann@example.com" in b"".join(export.streaming_content).decode("utf-8-sig")


def test_banner_warns_while_overdue_and_near_the_trial_end(owner_client, tenant):
    account = BillingAccount.objects.filter(tenant=tenant)
    account.update(trial_ends_at=timezone.now() + timedelta(days=2))
    trial = owner_client.get("/admin/").content.decode()
    account.update(status=S.PAST_DUE, grace_ends_at=timezone.now() + timedelta(days=5))
    overdue = owner_client.get("/admin/").content.decode()
    account.update(status=S.ACTIVE)
    fine = owner_client.get("/admin/").content.decode()

    assert "Your free trial ends" in trial
    assert "A payment failed. Update the card on the Billing page" in overdue
    assert 'data-testid="billing-banner"' not in fine


def test_members_who_cannot_pay_are_told_to_ask_an_owner(tenant, make_member):
    from engagex.accounts import roles
    from tests.fixtures.tenants import logged_in_client

    BillingAccount.objects.filter(tenant=tenant).update(
        status=S.PAST_DUE, grace_ends_at=timezone.now() + timedelta(days=5)
    )
    marketer = logged_in_client(tenant, make_member(roles.MARKETER))

    page = marketer.get("/admin/").content.decode()

    assert "A payment failed. Ask an Owner to update the card" in page


def test_two_adders_racing_for_the_last_contact_cannot_both_add(django_db_setup, django_db_blocker):
    """The second one counts after the first commits (a per-workspace lock), so it is refused."""
    results, inserted, release = {}, threading.Event(), threading.Event()

    def first():
        try:
            with schema_context("beta"), transaction.atomic():
                results["first"] = contact_create(email="race-1@example.com")
                inserted.set()
                release.wait(30)  # still uncommitted while the second one tries
        finally:
            connection.close()

    def second():
        inserted.wait(30)
        try:
            with schema_context("beta"):
                results["second"] = contact_create(email="race-2@example.com")
        except LimitExceeded as error:
            results["second"] = error
        finally:
            connection.close()

    with django_db_blocker.unblock():
        tenant = Tenant.objects.get(slug="beta")
        account = BillingAccount.objects.get(tenant=tenant)
        with schema_context("beta"):
            used = Contact.objects.count()
        plan = PlanFactory(contact_limit=used + 1)
        BillingAccount.objects.filter(pk=account.pk).update(plan=plan, status=S.ACTIVE)
        threads = [threading.Thread(target=first), threading.Thread(target=second)]
        try:
            for thread in threads:
                thread.start()
            threads[1].join(timeout=1)
            assert threads[1].is_alive()  # waiting for the first one's transaction
            release.set()
            for thread in threads:
                thread.join(timeout=30)

            assert isinstance(results["second"], LimitExceeded)
            with schema_context("beta"):
                assert Contact.objects.count() == used + 1
        finally:
            release.set()
            for thread in threads:
                thread.join(timeout=30)
            with schema_context("beta"):
                Contact.objects.filter(email__startswith="race-").delete()
            BillingAccount.objects.filter(pk=account.pk).update(
                plan=account.plan, status=account.status
            )
            plan.delete()
