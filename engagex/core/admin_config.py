from django.contrib.admin.apps import AdminConfig


class EngageXAdminConfig(AdminConfig):
    """Make the platform console the default admin site (`admin.site`)."""

    default_site = "engagex.core.sites.PlatformAdminSite"
