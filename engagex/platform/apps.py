from django.apps import AppConfig


class PlatformConfig(AppConfig):
    name = "engagex.platform"
    label = "platform"
    verbose_name = "Platform"

    def ready(self):
        # Connects our receivers after dj-stripe's own, so its objects are synced first.
        from engagex.platform import webhooks  # noqa: F401
