from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class NotificationsConfig(AppConfig):
    name = "engagex.notifications"
    label = "notifications"
    verbose_name = _("Notifications")

    def ready(self):
        from engagex.accounts.signals import invitation_accepted
        from engagex.notifications.receivers import invitation_accepted_notify

        invitation_accepted.connect(invitation_accepted_notify, dispatch_uid="invitation_accepted")
