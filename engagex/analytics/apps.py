from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AnalyticsConfig(AppConfig):
    name = "engagex.analytics"
    label = "analytics"
    verbose_name = _("Analytics")

    def ready(self):
        from engagex.analytics import (
            checks,  # noqa: F401  (registers the deploy check)
            selectors,
        )
        from engagex.analytics.services.erasure import events_forget_contacts
        from engagex.analytics.services.stats import stats_count_unsubscribe
        from engagex.campaigns.reports import ReportReaders, register_report
        from engagex.campaigns.signals import recipient_unsubscribed
        from engagex.contacts.services.erasure import register_erasure_hook

        register_report(
            ReportReaders(
                report=selectors.campaign_report,
                activity_chart=selectors.campaign_activity_chart,
                top_links=selectors.campaign_top_links,
            )
        )

        recipient_unsubscribed.connect(
            lambda campaign_id, **kwargs: stats_count_unsubscribe(campaign_id=campaign_id),
            dispatch_uid="analytics_count_unsubscribe",
            weak=False,
        )
        register_erasure_hook(events_forget_contacts)
