from datetime import timedelta

from django.conf import settings
from django.db import connection
from django.utils import timezone
from django.utils.translation import gettext as _
from django_tenants.utils import get_public_schema_name

from engagex.accounts.roles import is_owner
from engagex.billing.models import BillingAccount
from engagex.billing.services.accounts import READ_ONLY


def billing_banner(request) -> dict:
    """A banner on each workspace page while it is overdue, read-only or ending its trial.

    Worked out once per request: Django runs context processors for every sub-template
    that unfold renders with the request.
    """
    if not hasattr(request, "_engagex_billing_banner"):
        request._engagex_billing_banner = _banner(request)
    return request._engagex_billing_banner


def _banner(request) -> dict:
    if connection.schema_name == get_public_schema_name() or not getattr(request, "user", None):
        return {}
    if not request.user.is_authenticated or not request.path.startswith("/admin/"):
        return {}
    tenant = getattr(request, "tenant", None)
    account = BillingAccount.objects.filter(tenant_id=getattr(tenant, "pk", None)).first()
    if account is None:
        return {}
    S = BillingAccount.Status
    if account.is_read_only:
        text = READ_ONLY.format(status=account.get_status_display().lower())
        return {"billing_banner": {"level": "error", "text": text}}
    if account.status == S.PAST_DUE:
        date = f"{account.grace_ends_at:%Y-%m-%d}" if account.grace_ends_at else "—"
        if is_owner(request.user):
            text = _(
                "A payment failed. Update the card on the Billing page before %(date)s, or the "
                "workspace turns read-only."
            ) % {"date": date}
        else:
            text = _(
                "A payment failed. Ask an Owner to update the card before %(date)s, or the "
                "workspace turns read-only."
            ) % {"date": date}
        return {"billing_banner": {"level": "warning", "text": text}}
    warn_from = timedelta(days=max(settings.BILLING_TRIAL_WARNING_DAYS))
    if (
        account.status == S.TRIALING
        and account.trial_ends_at
        and account.trial_ends_at - timezone.now() <= warn_from
    ):
        text = _(
            "Your free trial ends %(when)s. Choose a plan on the Billing page to keep sending."
        ) % {"when": f"{account.trial_ends_at:%Y-%m-%d}"}
        return {"billing_banner": {"level": "warning", "text": text}}
    return {}
