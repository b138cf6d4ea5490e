from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from engagex.accounts.adapters import INVITATION_SESSION_KEY
from engagex.accounts.forms import InvitationAcceptForm, SetPasswordForm
from engagex.accounts.services.invitations import invitation_accept, invitation_get_pending
from engagex.accounts.services.login_tokens import login_token_redeem

MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"


class SiteContextMixin:
    """Give the page the admin site's branding (site title, colours)."""

    admin_site = None

    def get_context_data(self, **kwargs):
        context = super().get_context_data(**kwargs)
        context.update(self.admin_site.each_context(self.request))
        return context


class SetPasswordView(SiteContextMixin, auth_views.PasswordResetConfirmView):
    """Let an invited owner choose their first password (link is single-use)."""

    template_name = "accounts/set_password.html"
    form_class = SetPasswordForm
    success_url = reverse_lazy("set_password_done")
    post_reset_login = False
    title = gettext_lazy("Choose your password")


class SetPasswordDoneView(SiteContextMixin, auth_views.PasswordResetCompleteView):
    template_name = "accounts/set_password_done.html"
    title = gettext_lazy("Password set")


def form_add_errors(form, error: ValidationError) -> None:
    """Show a service's ValidationError on the form's fields (the rest above the form)."""
    if hasattr(error, "error_dict"):
        for field, messages_ in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages_)
    else:
        form.add_error(None, error.messages)


@never_cache
@require_GET
def login_with_token(request, token):
    """Redeem a single-use login token on the workspace's own domain (after sign-up)."""
    user = login_token_redeem(token=token)
    if user is None:
        messages.error(request, _("That sign-in link has expired or was already used. Log in."))
        return redirect("account_login")
    login(request, user, backend=MODEL_BACKEND)
    messages.success(request, _("Welcome to your new workspace."))
    return redirect("admin:index")


@never_cache
@require_http_methods(["GET", "POST"])
def invitation_accept_view(request, token):
    """An invitee chooses their password (or uses single sign-on) and joins the workspace."""
    try:
        invitation = invitation_get_pending(token=token)
    except ValidationError as error:
        context = {"title": _("Invitation"), "error": error.messages[0]}
        return render(request, "accounts/invitation_invalid.html", context, status=404)
    if request.user.is_authenticated:
        # Someone else's session must not swallow the invitation.
        from django.contrib.auth import logout

        logout(request)
    form = InvitationAcceptForm(request.POST or None, email=invitation.email)
    if request.method == "POST" and form.is_valid():
        try:
            user = invitation_accept(
                token=token,
                full_name=form.cleaned_data["full_name"],
                password=form.cleaned_data["password1"],
            )
        except ValidationError as error:
            form_add_errors(form, error)
        else:
            login(request, user, backend=MODEL_BACKEND)
            messages.success(request, _("Welcome! You joined the workspace."))
            return redirect("admin:index")
    request.session[INVITATION_SESSION_KEY] = token
    context = {
        "form": form,
        "invitation": invitation,
        "title": _("Join the workspace"),
        "sso_providers": _sso_providers(),
    }
    return render(request, "accounts/invitation_accept.html", context)


def _sso_providers() -> list[dict]:
    apps = settings.SOCIALACCOUNT_PROVIDERS.get("openid_connect", {}).get("APPS", [])
    return [
        {
            "name": app["name"],
            "url": reverse("openid_connect_login", kwargs={"provider_id": app["provider_id"]}),
        }
        for app in apps
    ]
