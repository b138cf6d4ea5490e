from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class SubscriptionsConfig(AppConfig):
    """Public sign-up forms, double opt-in and the preference centre (above analytics)."""

    name = "engagex.subscriptions"
    verbose_name = _("Sign-up and consent")
