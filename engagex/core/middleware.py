from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


def language_for(request, tenant=None) -> str:
    """A person's chosen language (the switcher's cookie), else the workspace default, else
    the browser's preference."""
    supported = dict(settings.LANGUAGES)
    chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
    if chosen in supported:
        return chosen
    default = getattr(tenant, "default_language", "") or ""
    if default in supported and default != settings.LANGUAGE_CODE:
        return default
    return translation.get_language_from_request(request)


class WorkspaceLocaleMiddleware(LocaleMiddleware):
    def process_request(self, request):
        translation.activate(language_for(request, getattr(request, "tenant", None)))
        request.LANGUAGE_CODE = translation.get_language()
