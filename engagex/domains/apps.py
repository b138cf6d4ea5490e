from django.apps import AppConfig


class DomainsConfig(AppConfig):
    name = "engagex.domains"
    label = "domains"
    verbose_name = "Sender domains"
