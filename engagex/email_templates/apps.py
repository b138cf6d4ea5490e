from django.apps import AppConfig


class EmailTemplatesConfig(AppConfig):
    name = "engagex.email_templates"
    label = "email_templates"
    verbose_name = "Templates"
