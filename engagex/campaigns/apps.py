from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class CampaignsConfig(AppConfig):
    name = "engagex.campaigns"
    label = "campaigns"
    verbose_name = _("Campaigns")

    def ready(self):
        from engagex.billing.limits import Limit, register_usage
        from engagex.campaigns.selectors import contact_history_rows, monthly_sends
        from engagex.contacts.history import register_campaign_history

        register_usage(Limit.MONTHLY_SENDS, monthly_sends)
        register_campaign_history(contact_history_rows)
