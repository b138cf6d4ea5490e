from django.apps import AppConfig


class AnalyticsConfig(AppConfig):
    name = "engagex.analytics"
    label = "analytics"
    verbose_name = "Analytics"
