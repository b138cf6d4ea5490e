from django.conf import settings
from django.middleware.locale import LocaleMiddleware
from django.utils import translation


class WorkspaceLocaleMiddleware(LocaleMiddleware):
    """A person's chosen language (the switcher's cookie) first, then the workspace default."""

    def process_request(self, request):
        chosen = request.COOKIES.get(settings.LANGUAGE_COOKIE_NAME)
        tenant = getattr(request, "tenant", None)
        default = getattr(tenant, "default_language", "") or ""
        supported = dict(settings.LANGUAGES)
        if chosen not in supported and default in supported and default != settings.LANGUAGE_CODE:
            translation.activate(default)
            request.LANGUAGE_CODE = translation.get_language()
            return
        super().process_request(request)
