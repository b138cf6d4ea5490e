from django.contrib import admin
from django_tenants.utils import get_public_schema_name

from engagex.core.sites import workspace_site
from engagex.core.tenancy import current_schema

# Pages outside the admin that still wear the console's look (unfold's login layout).
CONSOLE_PAGES = ("/accounts/", "/signup", "/invitations/")


def console(request):
    """Give allauth's and our own account pages the admin site's branding and colours."""
    if not request.path.startswith(CONSOLE_PAGES):
        return {}
    site = admin.site if current_schema() == get_public_schema_name() else workspace_site
    return site.each_context(request)
