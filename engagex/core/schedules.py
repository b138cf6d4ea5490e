"""The django-q2 schedules EngageX runs, registered idempotently by `register_schedules`."""

from datetime import datetime, time, timedelta

from django.utils import timezone
from django_q.models import Schedule


def _first_of_next_month() -> datetime:
    """00:05 UTC on the 1st of next month, so monthly runs close calendar months."""
    today = timezone.now().date()
    first = (today.replace(day=28) + timedelta(days=4)).replace(day=1)
    return datetime.combine(first, time(0, 5), tzinfo=timezone.get_current_timezone())


SCHEDULES = [
    {
        "name": "sessions: clear expired",
        "func": "engagex.core.tasks.sessions_clear_expired",
        "schedule_type": Schedule.DAILY,
    },
    {
        "name": "campaigns: start scheduled campaigns",
        "func": "engagex.campaigns.tasks.campaigns_tick",
        "schedule_type": Schedule.MINUTES,
        "minutes": 1,
    },
    {
        "name": "campaigns: re-queue sends whose tasks died",
        "func": "engagex.campaigns.tasks.campaigns_sweep",
        "schedule_type": Schedule.MINUTES,
        "minutes": 1,
    },
    {
        "name": "domains: re-check DNS (unverified hourly, verified daily)",
        "func": "engagex.domains.tasks.domains_recheck",
        "schedule_type": Schedule.HOURLY,
    },
    {
        "name": "accounts: purge old sign-up requests and login tokens",
        "func": "engagex.accounts.tasks.accounts_tokens_purge",
        "schedule_type": Schedule.DAILY,
    },
    {
        "name": "billing: trial warnings and expiry, usage snapshot",
        "func": "engagex.platform.tasks.billing_daily",
        "schedule_type": Schedule.DAILY,
    },
    {
        "name": "billing: monthly usage period roll-over",
        "func": "engagex.platform.tasks.billing_monthly",
        "schedule_type": Schedule.MONTHLY,
        "next_run": lambda: _first_of_next_month(),
    },
    {
        "name": "contacts: resume imports that lost their worker",
        "func": "engagex.contacts.tasks.contacts_imports_sweep",
        "schedule_type": Schedule.MINUTES,
        "minutes": 1,
    },
    {
        "name": "contacts: cancel abandoned imports",
        "func": "engagex.contacts.tasks.contacts_imports_cleanup",
        "schedule_type": Schedule.DAILY,
    },
    {
        "name": "contacts: repair consent flags, prune member changes",
        "func": "engagex.contacts.tasks.contacts_upkeep",
        "schedule_type": Schedule.HOURLY,
    },
    {
        "name": "subscriptions: process sign-ups left waiting",
        "func": "engagex.subscriptions.tasks.signups_sweep",
        "schedule_type": Schedule.MINUTES,
        "minutes": 1,
    },
    {
        "name": "subscriptions: expire unconfirmed sign-ups",
        "func": "engagex.subscriptions.tasks.signups_expire",
        "schedule_type": Schedule.DAILY,
    },
]


def schedules_register() -> list[str]:
    """Create or update every schedule in SCHEDULES by name; return the names."""
    for spec in SCHEDULES:
        values = {k: v() if callable(v) else v for k, v in spec.items() if k != "name"}
        # next_run only when created: a release must not push back a run that is overdue
        # because the cluster was down (the monthly roll-over would skip a month).
        first_run = {"next_run": values.pop("next_run")} if "next_run" in values else {}
        Schedule.objects.update_or_create(
            name=spec["name"], defaults=values, create_defaults={**values, **first_run}
        )
    return [spec["name"] for spec in SCHEDULES]
