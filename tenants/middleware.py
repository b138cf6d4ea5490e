import zoneinfo

from django.shortcuts import render
from django.utils import timezone, translation
from django_tenants.middleware.main import TenantMainMiddleware
from django_tenants.utils import get_public_schema_name

from engagex.core.middleware import language_for


class WorkspaceMiddleware(TenantMainMiddleware):
    """Select the schema by host; a suspended workspace gets its own page, not its console."""

    def process_request(self, request):
        response = super().process_request(request)
        if response is not None:
            return response
        tenant = request.tenant
        if tenant.schema_name == get_public_schema_name():
            return None
        if tenant.is_suspended:
            with translation.override(language_for(request, tenant)):
                return render(request, "tenants/suspended.html", {"tenant": tenant}, status=403)
        # Dates in the workspace console are shown and entered in the workspace's time zone.
        timezone.activate(_zone(tenant.timezone))
        return None

    def process_response(self, request, response):
        timezone.deactivate()
        return response


def _zone(name: str):
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")
