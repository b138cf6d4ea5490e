"""Public sign-up pages: the hosted form (and the target of the HTML snippet), its JSON
twin, and the double opt-in confirmation link.

The form endpoint is csrf_exempt, and only it: the snippet posts from other sites. That is
safe because a sign-up carries no ambient authority (no session or cookie is read), the
form's public id names what is posted to, and the anti-abuse checks below gate every write.
Input is never echoed unescaped: the interstitial and error pages are templates.
"""

import json
from urllib.parse import urlsplit

from django.conf import settings
from django.core.exceptions import RequestDataTooBig
from django.http import Http404, HttpResponse, HttpResponseRedirect, JsonResponse
from django.shortcuts import render
from django.utils import translation
from django.utils.translation import gettext as _
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from engagex.contacts.models import ContactGroup, ContactStatus, MembershipStatus
from engagex.core.tenancy import current_schema, current_tenant
from engagex.subscriptions.models import FieldMode, SignupForm
from engagex.subscriptions.selectors import signup_form_get
from engagex.subscriptions.services import abuse
from engagex.subscriptions.services.confirmation import (
    BadToken,
    confirm_lookup,
    confirm_token_parse,
    list_names,
    signup_confirm,
)
from engagex.subscriptions.services.forms import (
    signup_form_lists,
    signup_queue,
    submission_clean,
)

HONEYPOT = "website"
INTERSTITIAL_MIN_SECONDS = 1


def _too_big(request) -> bool:
    try:
        length = int(request.META.get("CONTENT_LENGTH") or 0)
    except ValueError:
        return True
    return length > settings.SIGNUP_MAX_BYTES


def _scope(form: SignupForm) -> str:
    return f"{current_schema()}:{form.public_id}"


def _fields(form: SignupForm) -> list[dict]:
    """The form's inputs in order, for the templates and the JSON description."""
    fields = [{"name": "email", "label": _("Email address"), "required": True, "type": "email"}]
    labels = {"first_name": _("First name"), "last_name": _("Last name")}
    for name, label in labels.items():
        mode = getattr(form, name)
        if mode != FieldMode.OFF:
            fields.append({"name": name, "label": label, "required": mode == FieldMode.REQUIRED})
    if form.language_field != FieldMode.OFF:
        fields.append(
            {
                "name": "language",
                "label": _("Language"),
                "required": form.language_field == FieldMode.REQUIRED,
                "choices": [(code, str(label)) for code, label in SignupForm.Language.choices],
            }
        )
    for spec in form.custom_fields or []:
        fields.append(
            {"name": f"attr_{spec['name']}", "label": spec["label"], "required": spec["required"]}
        )
    return fields


def _page(request, form, template, *, status=200, **context):
    lists = signup_form_lists(form)
    fields = _fields(form)
    values = context.pop("values", {})
    errors = context.get("errors", {})
    for spec in fields:
        spec["value"] = values.get(spec["name"], "")
        spec["error"] = errors.get(spec["name"], "")
    chosen = set(values.get("lists") or [])
    response = render(
        request,
        template,
        {
            "form": form,
            "workspace": current_tenant(),
            "fields": fields,
            "lists": [{"list": g, "checked": str(g.pk) in chosen} for g in lists],
            "consent_checked": bool(values.get("consent")),
            "honeypot": HONEYPOT,
            "accent": form.accent_color,
            # The widget's own texts (vendored: en built in, de, es-es).
            "widget_language": {"de": "de", "es": "es-es"}.get(form.language, "en"),
            **context,
        },
        status=status,
    )
    if form.redirect_url:
        # CSP form-action also governs the redirect after a post: allow the form's own target.
        parts = urlsplit(form.redirect_url)
        response._csp_update = {"form-action": [f"{parts.scheme}://{parts.netloc}"]}
    return response


def _interstitial_seconds() -> int:
    """Our second page asks for a click and the proof of work: a shorter minimum."""
    return min(INTERSTITIAL_MIN_SECONDS, settings.SIGNUP_MIN_FILL_SECONDS)


def _human_context(form: SignupForm, *, min_seconds: int) -> dict:
    return {
        "stamp": abuse.fill_stamp(form_id=form.public_id, min_seconds=min_seconds),
        "challenge": json.dumps(abuse.altcha_challenge(scope=_scope(form))),
    }


def _values(data) -> dict:
    values: dict[str, object] = {
        k: str(v)[:300] for k, v in data.items() if k not in ("altcha", "stamp")
    }
    if hasattr(data, "getlist"):
        values["lists"] = [str(v)[:20] for v in data.getlist("lists")][:50]
    return values


def _success_message(form: SignupForm) -> str:
    """The same words whoever signs up, known or not (they depend only on the form)."""
    if form.success_message:
        return form.success_message
    if any(g.opt_in == ContactGroup.OptIn.DOUBLE for g in signup_form_lists(form)):
        return _(
            "Almost done: we have sent you an email. Open the link in it to confirm your "
            "subscription."
        )
    return _("Thank you for signing up.")


def _form_or_404(public_id: str) -> SignupForm:
    form = signup_form_get(public_id=public_id)
    if form is None:
        raise Http404
    return form


def _accept(request, form, submission) -> None:
    """Keep the sign-up for the task cluster unless this address has used up its sign-ups
    for now (the answer is the same either way)."""
    if abuse.address_rate_ok(submission.email):
        signup_queue(
            form=form,
            submission=submission,
            ip=abuse.client_ip(request),
            user_agent=request.META.get("HTTP_USER_AGENT", ""),
        )


@csrf_exempt  # the snippet posts from other sites; see the module docstring
@require_http_methods(["GET", "POST"])
def signup_form_page(request, public_id: str):
    if request.method == "POST" and _too_big(request):
        return render(request, "subscriptions/too_large.html", status=413)
    form = _form_or_404(public_id)
    with translation.override(form.language):
        if not form.is_active or not signup_form_lists(form):
            return _page(request, form, "subscriptions/closed.html", status=410)
        if request.method == "GET":
            return _page(
                request,
                form,
                "subscriptions/form.html",
                **_human_context(form, min_seconds=settings.SIGNUP_MIN_FILL_SECONDS),
            )
        try:
            data = request.POST
        except RequestDataTooBig:
            return render(request, "subscriptions/too_large.html", status=413)
        if not abuse.ip_rate_ok(request):
            return _page(request, form, "subscriptions/slow_down.html", status=429)
        if data.get(HONEYPOT):  # a person never sees the field: answer as if all went well
            return _done(request, form)
        submission, errors = submission_clean(form, data)
        if errors:
            return _page(
                request,
                form,
                "subscriptions/form.html",
                status=400,
                errors=errors,
                values=_values(data),
                **_human_context(form, min_seconds=_interstitial_seconds()),
            )
        human = abuse.fill_time_ok(
            data.get("stamp", ""), form_id=form.public_id
        ) and abuse.altcha_verify(data.get("altcha", ""), scope=_scope(form))
        if not human:
            # The snippet (or a too-fast post): our own page holds the values and the
            # proof-of-work widget; nothing is stored until it comes back solved.
            return _page(
                request,
                form,
                "subscriptions/verify.html",
                values=_values(data),
                **_human_context(form, min_seconds=_interstitial_seconds()),
            )
        _accept(request, form, submission)
        return _done(request, form)


def _done(request, form: SignupForm):
    if form.redirect_url:
        return HttpResponseRedirect(form.redirect_url, status=303)
    return _page(request, form, "subscriptions/done.html", message=_success_message(form))


# --- JSON ---------------------------------------------------------------------------------

# CORS for this endpoint only, any origin, never credentials: the customer's own script on
# their site calls it, and it reads no cookie, so no other site can act for a visitor.
_CORS = {
    "Access-Control-Allow-Origin": "*",
    "Access-Control-Allow-Methods": "GET, POST, OPTIONS",
    "Access-Control-Allow-Headers": "Content-Type",
    "Access-Control-Max-Age": "86400",
}


def _json(data: dict, status: int = 200) -> JsonResponse:
    response = JsonResponse(data, status=status)
    for name, value in _CORS.items():
        response[name] = value
    return response


@csrf_exempt  # called by scripts on other sites; no cookie is read
@require_http_methods(["GET", "POST", "OPTIONS"])
def signup_form_json(request, public_id: str):
    if request.method == "OPTIONS":
        response = HttpResponse(status=204)
        for name, value in _CORS.items():
            response[name] = value
        return response
    if request.method == "POST" and _too_big(request):
        return _json({"ok": False, "error": _("The request is too large.")}, 413)
    form = signup_form_get(public_id=public_id)
    if form is None:
        return _json({"ok": False, "error": _("There is no such form.")}, 404)
    with translation.override(form.language):
        if not form.is_active or not signup_form_lists(form):
            return _json({"ok": False, "error": _("This form is closed.")}, 410)
        if request.method == "GET":
            return _json(
                {
                    "fields": [
                        {k: v for k, v in f.items() if k != "choices"} for f in _fields(form)
                    ],
                    "lists": [
                        {"id": g.pk, "name": g.name, "description": g.description}
                        for g in signup_form_lists(form)
                    ],
                    "let_choose": form.let_choose,
                    "consent_text": form.consent_text,
                    "altcha_challenge": abuse.altcha_challenge(scope=_scope(form)),
                }
            )
        if not abuse.ip_rate_ok(request):
            return _json({"ok": False, "error": _("Too many attempts: try again later.")}, 429)
        try:
            data = json.loads(request.body or b"null")
        except (ValueError, RequestDataTooBig):
            return _json({"ok": False, "error": _("Send a JSON object.")}, 400)
        if not isinstance(data, dict):
            return _json({"ok": False, "error": _("Send a JSON object.")}, 400)
        if data.get(HONEYPOT):
            return _json({"ok": True, "message": _success_message(form)})
        submission, errors = submission_clean(form, data)
        if errors:
            return _json({"ok": False, "errors": errors}, 400)
        if not abuse.altcha_verify(str(data.get("altcha") or ""), scope=_scope(form)):
            message = _("Solve the proof-of-work challenge (field altcha) first.")
            return _json({"ok": False, "errors": {"altcha": message}}, 403)
        _accept(request, form, submission)
        return _json({"ok": True, "message": _success_message(form)})


# --- confirmation links (platform domain) -------------------------------------------------


@csrf_exempt  # opened from an email: no session; the signed token authenticates
@require_http_methods(["GET", "POST"])
def confirm(request, token: str):
    try:
        target = confirm_token_parse(token)
        workspace, memberships = confirm_lookup(target)
    except BadToken:
        return render(request, "subscriptions/confirm_invalid.html", status=400)
    # Lists the person left since are not theirs to confirm again through this link.
    open_ = [m for m in memberships if m.status != MembershipStatus.UNSUBSCRIBED]
    with translation.override(_confirm_language(memberships[0])):
        context = {"workspace": workspace, "lists": list_names(open_ or memberships, quoted=True)}
        if memberships[0].contact.status in (ContactStatus.BOUNCED, ContactStatus.COMPLAINED):
            return render(request, "subscriptions/confirm_invalid.html", status=400)
        if not open_:
            return render(request, "subscriptions/confirm_invalid.html", status=400)
        if all(m.status == MembershipStatus.SUBSCRIBED and m.confirmed_at for m in open_):
            return render(request, "subscriptions/confirmed.html", context)
        if request.method == "GET":  # link scanners fetch links: a GET changes nothing
            return render(request, "subscriptions/confirm.html", context)
        try:
            signup_confirm(
                target=target,
                ip=abuse.client_ip(request),
                user_agent=request.META.get("HTTP_USER_AGENT", ""),
            )
        except BadToken:
            return render(request, "subscriptions/confirm_invalid.html", status=400)
        return render(request, "subscriptions/confirmed.html", context)


def _confirm_language(membership) -> str | None:
    signup = getattr(membership, "signup", None)
    if signup is not None:
        return signup.form.language
    language = (membership.contact.language or "")[:2].lower()
    return language if language in dict(settings.LANGUAGES) else None
