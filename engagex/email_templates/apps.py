from django.apps import AppConfig
from django.utils.translation import gettext_lazy as _


class EmailTemplatesConfig(AppConfig):
    name = "engagex.email_templates"
    label = "email_templates"
    verbose_name = _("Templates")
