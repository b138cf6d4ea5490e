"""The django-q2 schedules EngageX runs, registered idempotently by `register_schedules`."""

from django_q.models import Schedule

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
        "name": "domains: re-check DNS (unverified hourly, verified daily)",
        "func": "engagex.domains.tasks.domains_recheck",
        "schedule_type": Schedule.HOURLY,
    },
    {
        "name": "contacts: cancel abandoned imports",
        "func": "engagex.contacts.tasks.contacts_imports_cleanup",
        "schedule_type": Schedule.DAILY,
    },
]


def schedules_register() -> list[str]:
    """Create or update every schedule in SCHEDULES by name; return the names."""
    for spec in SCHEDULES:
        defaults = {k: v for k, v in spec.items() if k != "name"}
        Schedule.objects.update_or_create(name=spec["name"], defaults=defaults)
    return [spec["name"] for spec in SCHEDULES]
