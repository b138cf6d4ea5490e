from django.contrib.auth import views as auth_views
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _


class SiteContextMixin:
    """Give the page the admin site's branding (site title, colours)."""

    admin_site = None

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(self.admin_site.each_context(self.request))
        return context


class SetPasswordView(SiteContextMixin, auth_views.PasswordResetConfirmView):
    """Let an invited owner or member choose their first password (link is single-use)."""

    template_name = "accounts/set_password.html"
    success_url = reverse_lazy("set_password_done")
    post_reset_login = False
    title = _("Choose your password")


class SetPasswordDoneView(SiteContextMixin, auth_views.PasswordResetCompleteView):
    template_name = "accounts/set_password_done.html"
    title = _("Password set")
