from allauth.mfa.utils import is_mfa_enabled
from django.conf import settings
from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django_tenants.utils import get_public_schema_name

from engagex.core.tenancy import current_schema

# Pages a person without a second factor may still open: allauth's own (set up MFA, log out).
ALWAYS_OPEN = ("/accounts/", "/static/", "/i18n/", "/healthz", "/invitations/")


class MfaRequiredMiddleware:
    """Send people who must use MFA but have not set it up to the authenticator set-up page."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if (
            user is not None
            and user.is_authenticated
            and not request.path.startswith(ALWAYS_OPEN)
            and mfa_required_for(user)
            and not is_mfa_enabled(user)
        ):
            messages.warning(
                request,
                _("Two-factor authentication is required here: set up an authenticator app."),
            )
            return redirect("mfa_activate_totp")
        return self.get_response(request)


def mfa_required_for(user) -> bool:
    """Whether `user` must have a second factor (superusers in production, or workspace rule)."""
    if current_schema() == get_public_schema_name():
        return user.is_superuser and settings.MFA_REQUIRED_FOR_SUPERUSERS
    from engagex.accounts.selectors import workspace_security_get

    return workspace_security_get().require_mfa
