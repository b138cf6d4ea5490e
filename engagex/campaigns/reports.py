"""The report on a sent campaign's page, whose figures analytics keeps.

Analytics sits above campaigns in the stack, so campaigns never import it: analytics
registers its readers from its AppConfig.ready() (`register_report`).
"""

from collections.abc import Callable
from dataclasses import dataclass

from engagex.campaigns.models import Campaign


@dataclass(frozen=True)
class ReportReaders:
    report: Callable[[Campaign], dict]  # counters and rates over delivered
    activity_chart: Callable[[Campaign], str]  # Chart.js data, opens and clicks per hour
    top_links: Callable[[Campaign], list]  # the most clicked links


_readers: ReportReaders | None = None


def register_report(readers: ReportReaders) -> None:
    global _readers
    _readers = readers


def _registered() -> ReportReaders:
    if _readers is None:
        raise LookupError("No campaign report is registered (engagex.analytics registers it)")
    return _readers


def campaign_report(campaign: Campaign) -> dict:
    return _registered().report(campaign)


def campaign_activity_chart(campaign: Campaign) -> str:
    return _registered().activity_chart(campaign)


def campaign_top_links(campaign: Campaign) -> list:
    return _registered().top_links(campaign)
