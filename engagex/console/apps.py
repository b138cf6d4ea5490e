from django.apps import AppConfig
from django.contrib.admin import apps as admin_apps
from django.utils.translation import gettext_lazy as _


class ConsoleConfig(AppConfig):
    """The two admin consoles: sites, navigation, dashboards and the pages they add."""

    name = "engagex.console"
    label = "console"
    verbose_name = _("EngageX console")
    default = True


class ConsoleAdminConfig(admin_apps.AdminConfig):
    """Django's admin with the platform console as its default site (`admin.site`)."""

    default = False
    default_site = "engagex.console.sites.PlatformAdminSite"
