"""Billing schedules (registered in engagex/core/schedules.py)."""

from engagex.platform.schedules import (
    billing_trials_check,
    billing_usage_refresh,
    billing_usage_rollover,
)


def billing_daily() -> dict:
    """Warn and expire trials, then refresh the usage snapshot for the platform overview."""
    counts = billing_trials_check()
    counts["refreshed"] = billing_usage_refresh()
    return counts


def billing_monthly() -> int:
    """Close last month's usage period of every workspace."""
    return billing_usage_rollover()
