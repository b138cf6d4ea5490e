"""The two admin consoles: the platform (public domain) and every workspace (its own domain)."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import logout as auth_logout
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from unfold.sites import UnfoldAdminSite


class AllauthLoginMixin:
    """The console's login page is allauth's (password, emailed code, MFA, single sign-on)."""

    def login(self, request, extra_context=None):
        if request.user.is_authenticated:
            if self.has_permission(request):
                return redirect(f"{self.name}:index")
            raise PermissionDenied  # logged in, but not staff of this console
        next_url = request.GET.get("next") or reverse(f"{self.name}:index")
        return redirect(f"{reverse('account_login')}?{urlencode({'next': next_url})}")

    def logout(self, request, extra_context=None):
        """Log out (POST, as Django's admin does) and land on the login page, not a bare page."""
        if request.method == "POST":
            auth_logout(request)
            messages.info(request, _("You are logged out."))
        return redirect("account_login")


def console_login_view(admin_site):
    """The login view of `admin_site` (e.g. unfold's own `admin.site`) as allauth's hand-over."""

    def login(request):
        return AllauthLoginMixin.login(admin_site, request)

    return login


def console_logout_view(admin_site):
    """The logout view of `admin_site`, landing on the login page like the workspace console."""

    def logout(request):
        return AllauthLoginMixin.logout(admin_site, request)

    return logout


class PlatformAdminSite(AllauthLoginMixin, UnfoldAdminSite):
    settings_name = "UNFOLD"
    site_title = site_header = "EngageX Platform"
    index_title = _("Platform overview")


class WorkspaceAdminSite(AllauthLoginMixin, UnfoldAdminSite):
    settings_name = "UNFOLD_WORKSPACE"
    index_title = _("Workspace overview")

    def extra_urls(self):
        from engagex.billing.views import billing_view

        return [path("billing/", self.admin_view(billing_view), {"site": self}, name="billing")]


workspace_site = WorkspaceAdminSite(name="admin")
