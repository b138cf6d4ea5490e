from django.apps import AppConfig


class CoreConfig(AppConfig):
    name = "engagex.core"
    label = "core"
    verbose_name = "EngageX core"
