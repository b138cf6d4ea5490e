from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class BillingConfig(AppConfig):
    name = "engagex.billing"
    label = "billing"
    verbose_name = _("Billing")

    def ready(self):
        # Connects our receivers after dj-stripe's own, so its objects are synced first.
        from engagex.billing import webhooks  # noqa: F401
