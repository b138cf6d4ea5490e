import zoneinfo
from importlib import import_module

from django.conf import settings
from django.contrib.auth import get_user
from django.shortcuts import render
from django.urls import Resolver404, resolve
from django.utils import timezone, translation
from django_tenants.middleware.main import TenantMainMiddleware
from django_tenants.utils import get_public_schema_name

from engagex.core.middleware import language_for

# A member may still log in (and out) on a suspended workspace, to read why it was
# suspended; every other page, the API included, stays closed.
OPEN_WHILE_SUSPENDED = {
    "admin:login",
    "account_login",
    "account_logout",
    "account_request_login_code",
    "account_confirm_login_code",
    "mfa_authenticate",
}


class WorkspaceMiddleware(TenantMainMiddleware):
    """Select the schema by host; a suspended workspace gets its own page, not its console."""

    def process_request(self, request):
        response = super().process_request(request)
        if response is not None:
            return response
        tenant = request.tenant
        if tenant.schema_name == get_public_schema_name():
            return None
        if tenant.is_suspended and _route(request) not in OPEN_WHILE_SUSPENDED:
            # The reason is for the workspace's own people, not for whoever finds its address.
            request.user = _session_user(request)
            context = {"tenant": tenant, "member": request.user.is_authenticated}
            with translation.override(language_for(request, tenant)):
                return render(request, "tenants/suspended.html", context, status=403)
        # Dates in the workspace console are shown and entered in the workspace's time zone.
        timezone.activate(_zone(tenant.timezone))
        return None

    def process_response(self, request, response):
        timezone.deactivate()
        return response


def _route(request) -> str | None:
    try:
        return resolve(request.path_info, urlconf=getattr(request, "urlconf", None)).view_name
    except Resolver404:
        return None


def _session_user(request):
    """The active member this request's session cookie logs in, read inside the workspace.

    This middleware answers before the session and authentication middleware run, so it
    opens the session itself (read-only: the response does not save it).
    """
    engine = import_module(settings.SESSION_ENGINE)
    request.session = engine.SessionStore(request.COOKIES.get(settings.SESSION_COOKIE_NAME))
    return get_user(request)


def _zone(name: str):
    try:
        return zoneinfo.ZoneInfo(name)
    except (zoneinfo.ZoneInfoNotFoundError, ValueError):
        return zoneinfo.ZoneInfo("UTC")
