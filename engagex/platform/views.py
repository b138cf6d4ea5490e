"""Public sign-up pages on the platform's domain: a new organisation creates its workspace."""

from allauth.core import ratelimit
from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import JsonResponse
from django.shortcuts import redirect, render
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_http_methods

from engagex.accounts.forms import SignupCodeForm, SignupForm
from engagex.accounts.models import SignupRequest
from engagex.accounts.views import form_add_errors
from engagex.platform.provisioning import slug_validate
from engagex.platform.signup import signup_start, signup_verify, slug_suggest

SIGNUP_SESSION_KEY = "engagex_signup_id"
# Step 1 again, filled in, when the address was taken between the code and provisioning.
SIGNUP_RETRY_KEY = "engagex_signup_retry"
TOO_MANY_ATTEMPTS = gettext_lazy("Too many attempts from your network. Wait a minute and retry.")


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
            form_add_errors(form, error)
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
                form_add_errors(form, error)
            else:  # the address went meanwhile: only step 1 can change it
                return _signup_again(request, signup_id, error.message_dict["slug"][0])
        else:
            del request.session[SIGNUP_SESSION_KEY]
            return redirect(result.login_url)
    pending = SignupRequest.objects.filter(pk=signup_id).first()
    context = {"form": form, "title": _("Check your email"), "pending": pending}
    return render(request, "accounts/signup_verify.html", context)


def _signup_again(request, signup_id, message: str):
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
