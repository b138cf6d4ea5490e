"""The two admin consoles: the platform (public domain) and every workspace (its own domain)."""

from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth import logout as auth_logout
from django.core.exceptions import PermissionDenied
from django.shortcuts import redirect
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from unfold.sites import UnfoldAdminSite

from engagex.console.billing import billing_view
from engagex.console.callbacks import unread_notifications_badge


class ConsoleSiteMixin:
    """Login is allauth's (password, emailed code, MFA, single sign-on); badges when due."""

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

    def get_sidebar_list(self, request):
        """Unfold shows a badge wherever an item names one: drop it while nothing is unread."""
        groups = super().get_sidebar_list(request)
        if not unread_notifications_badge(request):
            for group in groups:
                for item in group["items"]:
                    item.pop("badge", None)
                    item.pop("badge_callback", None)
        return groups


class PlatformAdminSite(ConsoleSiteMixin, UnfoldAdminSite):
    """The default site (`admin.site`): `ConsoleAdminConfig.default_site` names it."""

    settings_name = "UNFOLD"
    site_title = site_header = "EngageX Platform"
    index_title = _("Platform overview")


class WorkspaceAdminSite(ConsoleSiteMixin, UnfoldAdminSite):
    """Every workspace's console: `engagex.core.sites.workspace_site` builds it."""

    settings_name = "UNFOLD_WORKSPACE"
    index_title = _("Workspace overview")

    def extra_urls(self):
        return [path("billing/", self.admin_view(billing_view), {"site": self}, name="billing")]
