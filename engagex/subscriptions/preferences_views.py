"""The preference centre's pages, on the platform domain: /p/<token>/ (see preferences.py).

GET only shows (link scanners fetch links); every change is a POST. The signed token in the
path says whose page it is; the forms also carry Django's CSRF token (cookie on the platform
domain plus the form field, and the Origin/Referer check on HTTPS), so another site cannot
make a visitor's browser post here even if it learnt a link. The check runs in the view
rather than the middleware so that a visitor whose browser blocked the cookie gets this
page's own explanation in their language, not Django's bare 403.
"""

import json

from django.conf import settings
from django.core.exceptions import ValidationError
from django.http import HttpResponse, HttpResponseRedirect
from django.middleware.csrf import CsrfViewMiddleware
from django.shortcuts import render
from django.utils import translation
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods, require_POST
from django_tenants.utils import schema_context

from engagex.accounts.adapters import AccountAdapter
from engagex.contacts.models import Contact, ContactStatus
from engagex.contacts.services.tokens import BadToken
from engagex.subscriptions import preferences as svc

ACTIONS = ("lists", "profile", "everything")


def _render(request, template: str, context: dict | None = None, *, status: int = 200):
    # The page's <html lang> (no i18n context processor here): the language it speaks.
    context = {**(context or {}), "LANGUAGE_CODE": translation.get_language()}
    return _no_store(render(request, f"subscriptions/{template}", context, status=status))


def _invalid(request, status: int = 400):
    return _render(request, "preferences_invalid.html", status=status)


def _no_store(response):
    # A person's own data: never cached, never indexed.
    response["Cache-Control"] = "private, no-store"
    response["X-Robots-Tag"] = "noindex, nofollow"
    return response


def _expired(request, workspace, token: str):
    context = {"workspace": workspace, "token": token}
    return _render(request, "preferences_expired.html", context, status=403)


def _checked(request) -> HttpResponse:
    """Stands for the view in Django's CSRF check (which skips views marked exempt)."""
    return HttpResponse(status=204)


_CSRF = CsrfViewMiddleware(_checked)


def _csrf_refused(request) -> bool:
    return _CSRF.process_view(request, _checked, (), {}) is not None


def _open(token: str):
    try:
        return svc.preferences_open(token)
    except BadToken:
        return None


def _page(request, token, *, workspace, contact, errors=None, posted=None, status=200):
    lists = svc.preferences_lists(contact)
    values = svc.preferences_profile_values(contact)
    if posted is not None:
        values = {name: posted.get(name, value) for name, value in values.items()}
    labels = {
        f.name: f.verbose_name for f in Contact._meta.get_fields() if hasattr(f, "verbose_name")
    }
    fields = [
        {
            "name": name,
            "label": str(labels.get(name, name)) if name in svc.EDITABLE_FIELDS else name,
            "value": value,
            "errors": (errors or {}).get(name, []),
            "kind": name if name in ("language", "timezone") else "text",
        }
        for name, value in values.items()
    ]
    other_errors = [
        message for name, found in (errors or {}).items() if name not in values for message in found
    ]
    context = {
        "workspace": workspace,
        "token": token,
        "email": _mask(contact.email),
        "lists": lists,
        "fields": fields,
        "other_errors": other_errors,
        "languages": [(code, translation.gettext(name)) for code, name in settings.LANGUAGES],
        "status": contact.status,
        "subscribed": contact.status == ContactStatus.SUBSCRIBED,
        "suppressed": contact.status in (ContactStatus.BOUNCED, ContactStatus.COMPLAINED),
        "notice": request.GET.get("done") if request.GET.get("done") in ACTIONS else None,
    }
    return _render(request, "preferences.html", context, status=status)


def _mask(email: str) -> str:
    local, _sep, domain = email.partition("@")
    return f"{local[:2]}{'•' * max(1, len(local) - 2)}@{domain}"


def _client(request) -> tuple[str | None, str]:
    return AccountAdapter().get_client_ip(request), request.headers.get("User-Agent", "")


@csrf_exempt  # checked in the view (see the module docstring)
@require_http_methods(["GET", "POST"])
def preferences(request, token: str):
    opened = _open(token)
    if opened is None:
        return _invalid(request)
    workspace, target, contact = opened
    language = svc.preferences_language(contact=contact, workspace=workspace)
    with translation.override(language), schema_context(target.schema):
        if request.method == "GET":
            return _page(request, token, workspace=workspace, contact=contact)
        if _csrf_refused(request):
            return _expired(request, workspace, token)
        action = request.POST.get("action", "")
        try:
            if action == "lists":
                wanted = {int(v) for v in request.POST.getlist("lists") if v.isdigit()}
                ip, agent = _client(request)
                svc.preferences_lists_update(
                    contact=contact, wanted=wanted, ip=ip, user_agent=agent
                )
            elif action == "profile":
                svc.preferences_profile_update(contact=contact, data=request.POST.dict())
            elif action == "everything":
                svc.preferences_unsubscribe_everything(contact=contact)
            else:
                return _page(request, token, workspace=workspace, contact=contact, status=400)
        except ValidationError as error:
            errors = (
                error.message_dict if hasattr(error, "error_dict") else {"__all__": error.messages}
            )
            return _page(
                request,
                token,
                workspace=workspace,
                contact=contact,
                errors=errors,
                posted=request.POST if action == "profile" else None,
                status=400,
            )
        return HttpResponseRedirect(f"{request.path}?done={action}")


@csrf_exempt  # checked in the view (see the module docstring)
@require_POST
def preferences_data(request, token: str):
    """The person's data as a JSON download (POST: a link scanner never fetches it)."""
    opened = _open(token)
    if opened is None:
        return _invalid(request)
    workspace, target, contact = opened
    language = svc.preferences_language(contact=contact, workspace=workspace)
    with translation.override(language), schema_context(target.schema):
        if _csrf_refused(request):
            return _expired(request, workspace, token)
        data = svc.preferences_data(contact=contact, workspace=workspace)
    response = HttpResponse(
        json.dumps(data, ensure_ascii=False, indent=2), content_type="application/json"
    )
    response["Content-Disposition"] = f'attachment; filename="{workspace.slug}-my-data.json"'
    return _no_store(response)


@csrf_exempt  # checked in the view (see the module docstring)
@require_http_methods(["GET", "POST"])
def preferences_erase(request, token: str):
    """GET asks to confirm; POST erases the person (their contact goes, a hash stays)."""
    opened = _open(token)
    if opened is None:
        return _invalid(request)
    workspace, target, contact = opened
    language = svc.preferences_language(contact=contact, workspace=workspace)
    context = {"workspace": workspace, "token": token, "email": _mask(contact.email)}
    with translation.override(language), schema_context(target.schema):
        if request.method == "GET":
            return _render(request, "preferences_erase.html", context)
        if _csrf_refused(request):
            return _expired(request, workspace, token)
        svc.preferences_erase(contact=contact)
        return _render(request, "preferences_erased.html", context)
