from django.conf import settings
from django.shortcuts import render
from django.utils import translation

from engagex.core.middleware import language_for


def unknown_workspace(request):
    """Answer a host that names no workspace with a plain 404 page."""
    host = request.get_host().split(":")[0]
    context = {"host": host, "base_domain": settings.BASE_DOMAIN}
    with translation.override(language_for(request)):
        return render(request, "tenants/unknown_workspace.html", context, status=404)
