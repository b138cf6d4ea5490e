"""Billing's schedules: trial warnings and expiry, the usage snapshot, monthly roll-over."""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import DatabaseError, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django_tenants.utils import schema_context

from engagex.billing.limits import Limit, usage
from engagex.billing.models import BillingAccount, PlanChange, UsagePeriod
from engagex.billing.services.accounts import plan_change_record
from engagex.campaigns.models import MonthlySendUsage
from engagex.campaigns.selectors import monthly_sends
from engagex.platform.owners import owners_notify

logger = logging.getLogger(__name__)
S = BillingAccount.Status


def billing_trials_check(*, now: datetime | None = None) -> dict[str, int]:
    """Warn Owners 3 and 1 days before the trial ends; end trials that are over."""
    now = now or timezone.now()
    counts = {"warned": 0, "expired": 0}
    due = BillingAccount.objects.filter(
        status=S.TRIALING,
        trial_ends_at__lte=now + timedelta(days=max(settings.BILLING_TRIAL_WARNING_DAYS)),
    )
    for pk in due.values_list("pk", flat=True):
        with transaction.atomic():
            # Re-read under a lock: a payment confirmed meanwhile must not be undone.
            account = (
                BillingAccount.objects.select_for_update(of=("self",))
                .select_related("tenant", "plan")
                .filter(pk=pk, status=S.TRIALING)
                .first()
            )
            if account is not None:
                outcome = _trial_step(account, now)
                if outcome:
                    counts[outcome] += 1
    return counts


def _trial_step(account: BillingAccount, now: datetime) -> str:
    if account.trial_ends_at is None:  # never: the caller picks trials by their end date
        return ""
    left = account.trial_ends_at - now
    if left <= timedelta(0):
        account.status = S.EXPIRED
        account.save(update_fields=["status", "updated_at"])
        plan_change_record(
            account, account.plan.name, S.TRIALING,
            source=PlanChange.Source.SCHEDULE, actor="trial expiry",
        )  # fmt: skip
        with translation.override(account.tenant.default_language or None):
            owners_notify(
                account.tenant,
                title=_("Your free trial has ended"),
                body=_(
                    "The workspace is read-only now: you can log in and export. Choose a plan "
                    "on the Billing page to send and import again."
                ),
                level="error",
            )
        return "expired"
    for days in sorted(settings.BILLING_TRIAL_WARNING_DAYS):
        already = account.trial_warning_sent is not None and account.trial_warning_sent <= days
        if left <= timedelta(days=days) and not already:
            account.trial_warning_sent = days
            account.save(update_fields=["trial_warning_sent", "updated_at"])
            with translation.override(account.tenant.default_language or None):
                owners_notify(
                    account.tenant,
                    title=_("Your free trial ends in %(days)s day(s)") % {"days": days},
                    body=_(
                        "It ends on %(date)s. Choose a plan on the Billing page to keep sending."
                    )
                    % {"date": f"{account.trial_ends_at:%Y-%m-%d %H:%M} UTC"},
                    level="warning",
                )
            return "warned"
    return ""


def billing_usage_rollover(*, today=None) -> int:
    """Close last month's usage period for every workspace and refresh the usage snapshot.

    One workspace failing (a schema being restored, say) is logged and the others go on.
    """
    today = today or timezone.now().date()
    last_month = (today.replace(day=1) - timedelta(days=1)).replace(day=1)
    closed = 0
    for account in BillingAccount.objects.select_related("tenant", "plan"):
        try:
            with schema_context(account.tenant.schema_name):
                sent = monthly_sends(today=last_month)
                MonthlySendUsage.objects.get_or_create(month=today.replace(day=1))  # opens it
                contacts = usage(Limit.CONTACTS)
            _, created = UsagePeriod.objects.update_or_create(
                tenant=account.tenant,
                month=last_month,
                defaults={"emails_sent": sent, "contacts": contacts, "plan": account.plan.name},
            )
            _contacts_snapshot(account, contacts)
        except DatabaseError:
            logger.exception("Usage roll-over failed for workspace %s", account.tenant_id)
            continue
        closed += int(created)
    return closed


def billing_usage_refresh() -> int:
    """Refresh each workspace's contact count for the platform overview."""
    refreshed = 0
    for account in BillingAccount.objects.select_related("tenant"):
        try:
            with schema_context(account.tenant.schema_name):
                _contacts_snapshot(account, usage(Limit.CONTACTS))
        except DatabaseError:
            logger.exception("Usage refresh failed for workspace %s", account.tenant_id)
            continue
        refreshed += 1
    return refreshed


def _contacts_snapshot(account: BillingAccount, contacts: int) -> None:
    """Keep the contact count on the public row, where the platform overview reads it."""
    account.contacts_count = contacts
    account.usage_refreshed_at = timezone.now()
    account.save(update_fields=["contacts_count", "usage_refreshed_at", "updated_at"])
