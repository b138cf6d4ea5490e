from django.apps import AppConfig


class ApiConfig(AppConfig):
    name = "engagex.api"
    label = "api"
    verbose_name = "API"

    def ready(self):
        from engagex.api import schema  # noqa: F401  (registers the OpenAPI extension)
