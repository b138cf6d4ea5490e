from django.apps import AppConfig


class NotificationsConfig(AppConfig):
    name = "engagex.notifications"
    label = "notifications"
    verbose_name = "Notifications"
