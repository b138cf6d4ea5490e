from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "engagex.analytics"
    label = "analytics"
    verbose_name = "Analytics"

    def ready(self):
        from engagex.analytics import checks  # noqa: F401  (registers the deploy check)
