"""Daily trial warnings and expiry; the monthly usage roll-over."""

from datetime import date, timedelta

from django.core import mail
from django.utils import timezone
from django_tenants.utils import schema_context

from engagex.billing.models import BillingAccount, PlanChange, UsagePeriod
from engagex.campaigns.models import MonthlySendUsage
from engagex.core.schedules import SCHEDULES
from engagex.notifications.models import Notification
from engagex.platform.schedules import billing_trials_check, billing_usage_rollover
from tests.factories.contacts import ContactFactory

S = BillingAccount.Status


def _titles(tenant, owner):
    with schema_context(tenant.schema_name):
        return list(
            Notification.objects.filter(recipient=owner)
            .order_by("pk")
            .values_list("title", flat=True)
        )


def test_owners_are_warned_three_days_and_one_day_before_the_trial_ends(
    tenant, owner, django_capture_on_commit_callbacks
):
    ends = timezone.now() + timedelta(days=10)
    BillingAccount.objects.filter(tenant=tenant).update(trial_ends_at=ends)
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        early = billing_trials_check(now=ends - timedelta(days=5))
        first = billing_trials_check(now=ends - timedelta(days=2, hours=20))
        repeat = billing_trials_check(now=ends - timedelta(days=2))
        last = billing_trials_check(now=ends - timedelta(hours=20))

    assert [early["warned"], first["warned"], repeat["warned"], last["warned"]] == [0, 1, 0, 1]
    assert _titles(tenant, owner)[-2:] == [
        "Your free trial ends in 3 day(s)",
        "Your free trial ends in 1 day(s)",
    ]
    assert [m.subject for m in mail.outbox if m.to == [owner.email]] == [
        "Your free trial ends in 3 day(s)",
        "Your free trial ends in 1 day(s)",
    ]


def test_an_ended_trial_turns_the_workspace_read_only_once(tenant, other_tenant, owner):
    BillingAccount.objects.filter(tenant=tenant).update(
        trial_ends_at=timezone.now() - timedelta(minutes=1)
    )

    first = billing_trials_check()
    second = billing_trials_check()

    account = BillingAccount.objects.get(tenant=tenant)
    assert (first["expired"], second["expired"]) == (1, 0)
    assert account.status == S.EXPIRED
    assert account.is_read_only
    assert "Your free trial has ended" in _titles(tenant, owner)
    assert (
        PlanChange.objects.filter(tenant=tenant, to_status=S.EXPIRED, source="schedule").count()
        == 1
    )
    assert BillingAccount.objects.get(tenant=other_tenant).status == S.TRIALING


def test_paying_workspaces_are_not_touched_by_the_trial_check(tenant):
    BillingAccount.objects.filter(tenant=tenant).update(
        status=S.ACTIVE, trial_ends_at=timezone.now() - timedelta(days=1)
    )

    assert billing_trials_check()["expired"] == 0
    assert BillingAccount.objects.get(tenant=tenant).status == S.ACTIVE


def test_month_roll_over_closes_last_month_per_workspace(tenant, other_tenant):
    with schema_context(tenant.schema_name):
        MonthlySendUsage.objects.create(month=date(2026, 10, 1), sends=1234)
        ContactFactory.create_batch(2)

    closed = billing_usage_rollover(today=date(2026, 11, 1))
    again = billing_usage_rollover(today=date(2026, 11, 1))

    period = UsagePeriod.objects.get(tenant=tenant, month=date(2026, 10, 1))
    assert (period.emails_sent, period.contacts, period.plan) == (1234, 2, "Free Trial")
    assert UsagePeriod.objects.get(tenant=other_tenant, month=date(2026, 10, 1)).emails_sent == 0
    assert (closed, again) == (2, 0)
    with schema_context(tenant.schema_name):
        assert MonthlySendUsage.objects.get(month=date(2026, 11, 1)).sends == 0
    assert BillingAccount.objects.get(tenant=tenant).contacts_count == 2


def test_billing_schedules_are_registered():
    by_name = {spec["name"]: spec for spec in SCHEDULES}

    assert by_name["billing: trial warnings and expiry, usage snapshot"]["func"] == (
        "engagex.platform.tasks.billing_daily"
    )
    monthly = by_name["billing: monthly usage period roll-over"]
    assert monthly["next_run"]().day == 1


def test_registering_again_keeps_an_overdue_monthly_run(db):
    """A release re-registers schedules; a roll-over missed while workers were down still runs."""
    from django_q.models import Schedule

    from engagex.core.schedules import schedules_register

    schedules_register()
    name = "billing: monthly usage period roll-over"
    overdue = timezone.now() - timedelta(hours=5)
    Schedule.objects.filter(name=name).update(next_run=overdue)

    schedules_register()

    assert Schedule.objects.get(name=name).next_run == overdue
