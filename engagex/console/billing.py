"""The workspace's Billing page (Owners only): plan, status, usage, invoices, Stripe links."""

import logging

import stripe
from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseRedirect
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.translation import gettext as _
from django.views.decorators.http import require_http_methods

from engagex.accounts import roles
from engagex.billing.models import Plan
from engagex.billing.selectors import billing_invoices, billing_usage, plan_list
from engagex.billing.services.accounts import billing_account_get
from engagex.core.ids import id_from_text
from engagex.core.tenancy import current_tenant
from engagex.platform.stripe_sync import (
    billing_checkout_start,
    billing_configured,
    billing_portal_url,
)

INTERVALS = {"month", "year"}
logger = logging.getLogger(__name__)


@require_http_methods(["GET", "POST"])
def billing_view(request, site):
    if not roles.is_owner(request.user):
        raise PermissionDenied
    tenant = current_tenant()
    if request.method == "POST":
        return _post(request, tenant)
    account = billing_account_get(tenant)
    outcome = request.GET.get("checkout")
    if outcome == "success":
        messages.success(
            request,
            _("Thank you! Stripe confirms the payment in a moment; the new plan shows here then."),
        )
    elif outcome == "cancelled":
        messages.info(request, _("Checkout cancelled: nothing was charged."))
    context = {
        **site.each_context(request),
        "title": _("Billing"),
        "account": account,
        "usage": billing_usage(account),
        "plans": plan_list(offered_only=True),
        "configured": billing_configured(),
        "paying_statuses": ("active", "past_due", "comped"),
        "invoices": billing_invoices(account) if billing_configured() else [],
    }
    return TemplateResponse(request, "admin/billing/billing.html", context)


def _post(request, tenant):
    here = request.build_absolute_uri(reverse("admin:billing"))
    try:
        if request.POST.get("action") == "portal":
            return HttpResponseRedirect(billing_portal_url(tenant=tenant, return_url=here))
        plan_id = request.POST.get("plan", "")
        plan = get_object_or_404(Plan, pk=id_from_text(plan_id) or 0, is_public=True)
        interval = request.POST.get("interval", "month")
        if interval not in INTERVALS:
            raise ValidationError(_("Choose monthly or yearly billing."))
        url = billing_checkout_start(
            tenant=tenant,
            plan=plan,
            interval=interval,
            success_url=f"{here}?checkout=success",
            cancel_url=f"{here}?checkout=cancelled",
        )
        return HttpResponseRedirect(url)
    except ValidationError as error:
        for message in error.messages:
            messages.error(request, message)
    except stripe.StripeError as error:
        logger.warning("Stripe refused a billing request: %s", error)
        # Stripe's text (even `user_message`) is for developers: it stays in the log.
        messages.error(
            request,
            _("Stripe could not be reached or refused the request. Nothing was charged; try "
              "again in a moment."),
        )  # fmt: skip
    return redirect("admin:billing")
