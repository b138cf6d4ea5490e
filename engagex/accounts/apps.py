from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class AccountsConfig(AppConfig):
    name = "engagex.accounts"
    label = "accounts"
    verbose_name = _("Team")

    def ready(self):
        from engagex.accounts.selectors import seat_count
        from engagex.billing.limits import Limit, register_usage

        register_usage(Limit.SEATS, seat_count)
