from allauth.core import ratelimit
from django.conf import settings
from django.contrib import messages
from django.contrib.auth import login
from django.contrib.auth import views as auth_views
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.urls import reverse, reverse_lazy
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from engagex.accounts.adapters import INVITATION_SESSION_KEY
from engagex.accounts.forms import (
    InvitationAcceptForm,
    SetPasswordForm,
    SignupCodeForm,
    SignupForm,
)
from engagex.accounts.services.invitations import invitation_accept, invitation_get_pending
from engagex.accounts.services.login_tokens import login_token_redeem
from engagex.accounts.services.signup import signup_start, signup_verify, slug_suggest

SIGNUP_SESSION_KEY = "engagex_signup_id"
# Step 1 again, filled in, when the address was taken between the code and provisioning.
SIGNUP_RETRY_KEY = "engagex_signup_retry"
TOO_MANY_ATTEMPTS = gettext_lazy("Too many attempts from your network. Wait a minute and retry.")
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


def _add_errors(form, error: ValidationError) -> None:
    if hasattr(error, "error_dict"):
        for field, messages_ in error.message_dict.items():
            form.add_error(field if field in form.fields else None, messages_)
    else:
        form.add_error(None, error.messages)


@never_cache
@require_http_methods(["GET", "POST"])
def signup(request):
    """Public sign-up, step 1: organisation, workspace address, email and password."""
    retry = request.session.pop(SIGNUP_RETRY_KEY, None) if request.method == "GET" else None
    form = SignupForm(request.POST or None, initial=(retry or {}).get("initial"))
    if request.method == "POST" and not ratelimit.consume(request, action="engagex_signup"):
        form.add_error(None, TOO_MANY_ATTEMPTS)
    elif request.method == "POST" and form.is_valid():
        try:
            pending = signup_start(**form.cleaned_data)
        except ValidationError as error:
            _add_errors(form, error)
        else:
            request.session[SIGNUP_SESSION_KEY] = pending.pk
            return redirect("signup_verify")
    context = {
        "form": form,
        "title": _("Create your workspace"),
        "base_domain": _base_host(),
        "retry_errors": [retry["message"]] if retry else [],
    }
    return render(request, "accounts/signup.html", context)


@never_cache
@require_http_methods(["GET", "POST"])
def signup_verify_view(request):
    """Public sign-up, step 2: the emailed code; on success, land logged in on the workspace."""
    signup_id = request.session.get(SIGNUP_SESSION_KEY)
    if not signup_id:
        return redirect("signup")
    form = SignupCodeForm(request.POST or None)
    if request.method == "POST" and not ratelimit.consume(request, action="engagex_signup_code"):
        form.add_error(None, TOO_MANY_ATTEMPTS)
    elif request.method == "POST" and form.is_valid():
        try:
            result = signup_verify(signup_id=signup_id, code=form.cleaned_data["code"])
        except ValidationError as error:
            if "slug" not in getattr(error, "error_dict", {}):
                _add_errors(form, error)
            else:  # the address went meanwhile: only step 1 can change it
                return _signup_again(request, signup_id, error.message_dict["slug"][0])
        else:
            del request.session[SIGNUP_SESSION_KEY]
            return redirect(result.login_url)
    from engagex.accounts.models import SignupRequest

    pending = SignupRequest.objects.filter(pk=signup_id).first()
    context = {"form": form, "title": _("Check your email"), "pending": pending}
    return render(request, "accounts/signup_verify.html", context)


def _signup_again(request, signup_id, message: str):
    from engagex.accounts.models import SignupRequest

    pending = SignupRequest.objects.get(pk=signup_id)
    request.session.pop(SIGNUP_SESSION_KEY, None)
    request.session[SIGNUP_RETRY_KEY] = {
        "initial": {"name": pending.name, "full_name": pending.full_name, "email": pending.email},
        "message": _("%(reason)s Choose another workspace address and sign up again.")
        % {"reason": message},
    }
    return redirect("signup")


@require_GET
def signup_slug_check(request):
    """Live availability of a workspace address, and a suggestion from the name."""
    from tenants.services import slug_validate

    slug = request.GET.get("slug", "")
    if not slug and request.GET.get("name"):
        return JsonResponse({"suggestion": slug_suggest(request.GET["name"])})
    try:
        slug = slug_validate(slug)
    except ValidationError as error:
        return JsonResponse({"available": False, "message": error.message_dict["slug"][0]})
    return JsonResponse(
        {"available": True, "message": _("%(host)s is available.") % {"host": _host(slug)}}
    )


def _base_host() -> str:
    return f"{settings.BASE_DOMAIN}{settings.SITE_PORT}"


def _host(slug: str) -> str:
    return f"{slug}.{_base_host()}"


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
            _add_errors(form, error)
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
