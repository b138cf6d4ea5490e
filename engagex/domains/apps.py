from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class DomainsConfig(AppConfig):
    name = "engagex.domains"
    label = "domains"
    verbose_name = _("Sender domains")

    def ready(self):
        from engagex.billing.limits import Limit, register_usage
        from engagex.domains.models import SendingDomain

        register_usage(Limit.SENDER_DOMAINS, lambda: SendingDomain.objects.count())
