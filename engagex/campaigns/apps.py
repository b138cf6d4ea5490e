from django.apps import AppConfig


class CampaignsConfig(AppConfig):
    name = "engagex.campaigns"
    label = "campaigns"
    verbose_name = "Campaigns"

    def ready(self):
        from engagex.billing.limits import Limit, register_usage
        from engagex.campaigns.selectors import monthly_sends

        register_usage(Limit.MONTHLY_SENDS, monthly_sends)
