from django.apps import AppConfig


class DomainsConfig(AppConfig):
    name = "engagex.domains"
    label = "domains"
    verbose_name = "Sender domains"

    def ready(self):
        from engagex.billing.limits import Limit, register_usage
        from engagex.domains.models import SendingDomain

        register_usage(Limit.SENDER_DOMAINS, lambda: SendingDomain.objects.count())
