"""Public pages of a sent email: unsubscribe (GET confirms, POST and RFC 8058 one-click
unsubscribe) and the web version ("view in browser")."""

from django.core.exceptions import ValidationError
from django.http import HttpResponse
from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_GET, require_http_methods

from engagex.campaigns.services.unsubscribe import (
    BadToken,
    contact_unsubscribe,
    unsubscribe_lists,
    unsubscribe_lookup,
    unsubscribe_token_parse,
)
from engagex.campaigns.services.web_version import WEB_VERSION_CSP, web_version_page
from engagex.contacts.models import ContactStatus
from engagex.contacts.services.tokens import preferences_url_for


@csrf_exempt  # mail providers POST here without a session; the signed token authenticates
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    try:
        target = unsubscribe_token_parse(token)
        workspace, contact = unsubscribe_lookup(target)
    except BadToken:
        return render(request, "campaigns/unsubscribe_invalid.html", status=400)
    context = {
        "workspace": workspace,
        "email": _mask(contact.email),
        "token": token,
        "preferences_url": preferences_url_for(schema=target.schema, contact_id=contact.pk),
    }
    if request.method == "POST":
        # RFC 8058 one-click (body "List-Unsubscribe=One-Click") and the page's first button
        # leave the campaign's lists; the page's other button leaves everything.
        everything = request.POST.get("scope") == "all"
        lists = [] if everything else unsubscribe_lists(target)
        try:
            contact_unsubscribe(target=target, everything=everything)
        except BadToken:  # deleted between the lookup and now
            return render(request, "campaigns/unsubscribe_invalid.html", status=400)
        if lists:
            context["left_lists"] = lists
            return render(request, "campaigns/unsubscribed.html", context)
        context["everything"] = True
        return render(request, "campaigns/unsubscribed.html", context)
    if contact.status != ContactStatus.SUBSCRIBED:
        context["everything"] = True
        return render(request, "campaigns/unsubscribed.html", context)
    context["lists"] = unsubscribe_lists(target)
    return render(request, "campaigns/unsubscribe_confirm.html", context)


def _mask(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:2]}{'•' * max(1, len(local) - 2)}@{domain}"


@require_GET
def web_version(request, token: str):
    try:
        page = web_version_page(token)
    except BadToken:
        return render(request, "campaigns/web_version_invalid.html", status=400)
    except ValidationError:  # the render caps stopped it: nothing a reader can fix
        return render(request, "campaigns/web_version_invalid.html", status=422)
    response = HttpResponse(page)
    response["Content-Security-Policy"] = WEB_VERSION_CSP
    response["Referrer-Policy"] = "no-referrer"  # the link's token stays out of image requests
    response["X-Robots-Tag"] = "noindex, nofollow"
    response["Cache-Control"] = "private, no-store"
    return response
