"""The two admin consoles: the platform (public domain) and every workspace (its own domain)."""

from urllib.parse import urlencode

from django.core.exceptions import PermissionDenied
from django.http import Http404
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from unfold.sites import UnfoldAdminSite

# Sidebar sections that a later release fills; each says what will live there.
UPCOMING_SECTIONS: dict = {}


class AllauthLoginMixin:
    """The console's login page is allauth's (password, emailed code, MFA, single sign-on)."""

    def login(self, request, extra_context=None):
        if request.user.is_authenticated:
            if self.has_permission(request):
                return redirect(f"{self.name}:index")
            raise PermissionDenied  # logged in, but not staff of this console
        next_url = request.GET.get("next") or reverse(f"{self.name}:index")
        return redirect(f"{reverse('account_login')}?{urlencode({'next': next_url})}")


def console_login_view(admin_site):
    """The login view of `admin_site` (e.g. unfold's own `admin.site`) as allauth's hand-over."""

    def login(request):
        return AllauthLoginMixin.login(admin_site, request)

    return login


class PlatformAdminSite(AllauthLoginMixin, UnfoldAdminSite):
    settings_name = "UNFOLD"
    site_title = site_header = "EngageX Platform"
    index_title = _("Platform overview")


class WorkspaceAdminSite(AllauthLoginMixin, UnfoldAdminSite):
    settings_name = "UNFOLD_WORKSPACE"
    index_title = _("Workspace overview")

    def extra_urls(self):
        from engagex.billing.views import billing_view

        return [
            path("section/<slug:slug>/", self.admin_view(self.section_view), name="section"),
            path("billing/", self.admin_view(billing_view), {"site": self}, name="billing"),
        ]

    def section_view(self, request, slug):
        """Show a sidebar section that is not available in this release yet."""
        if slug not in UPCOMING_SECTIONS:
            raise Http404
        title, description = UPCOMING_SECTIONS[slug]
        context = {
            **self.each_context(request),
            "title": title,
            "description": description,
        }
        return TemplateResponse(request, "admin/engagex/section.html", context)


workspace_site = WorkspaceAdminSite(name="admin")
