"""Public unsubscribe pages: GET confirms, POST (including RFC 8058 one-click) unsubscribes."""

from django.shortcuts import render
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_http_methods

from engagex.campaigns.services.unsubscribe import (
    BadToken,
    contact_unsubscribe,
    unsubscribe_lookup,
    unsubscribe_token_parse,
)
from engagex.contacts.models import ContactStatus


@csrf_exempt  # mail providers POST here without a session; the signed token authenticates
@require_http_methods(["GET", "POST"])
def unsubscribe(request, token: str):
    try:
        target = unsubscribe_token_parse(token)
        workspace, contact = unsubscribe_lookup(target)
    except BadToken:
        return render(request, "campaigns/unsubscribe_invalid.html", status=400)
    context = {"workspace": workspace, "email": _mask(contact.email), "token": token}
    if request.method == "POST":
        try:
            contact_unsubscribe(target=target)
        except BadToken:  # deleted between the lookup and now
            return render(request, "campaigns/unsubscribe_invalid.html", status=400)
        return render(request, "campaigns/unsubscribed.html", context)
    if contact.status != ContactStatus.SUBSCRIBED:
        return render(request, "campaigns/unsubscribed.html", context)
    return render(request, "campaigns/unsubscribe_confirm.html", context)


def _mask(email: str) -> str:
    local, _, domain = email.partition("@")
    return f"{local[:2]}{'•' * max(1, len(local) - 2)}@{domain}"
