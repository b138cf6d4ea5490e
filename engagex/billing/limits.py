"""Every plan limit, checked in one place. Other apps call `ensure_within` before they add."""

from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from engagex.core.tenancy import current_tenant


class Limit(models.TextChoices):
    CONTACTS = "contacts", _("contacts")
    MONTHLY_SENDS = "monthly_sends", _("emails this month")
    SEATS = "seats", _("team seats")
    SENDER_DOMAINS = "sender_domains", _("sender domains")


class LimitExceeded(ValidationError):
    """Adding would pass a plan limit; the message names the limit and how to upgrade."""


def allowance(limit: Limit, tenant=None) -> int | None:
    """The workspace's allowance for `limit`; None means unlimited."""
    tenant = tenant or current_tenant()
    if limit == Limit.CONTACTS:
        return tenant.contact_limit
    if limit == Limit.MONTHLY_SENDS:
        return tenant.monthly_send_limit
    return None


def usage(limit: Limit) -> int:
    """How much of `limit` the current workspace uses now (run inside its schema)."""
    if limit == Limit.CONTACTS:
        from engagex.contacts.models import Contact

        return Contact.objects.count()
    if limit == Limit.MONTHLY_SENDS:
        from engagex.campaigns.selectors import monthly_sends

        return monthly_sends()
    if limit == Limit.SEATS:
        from engagex.accounts.models import User
        from engagex.accounts.selectors import invitation_list_pending

        # A pending invitation holds its seat until it is accepted, revoked or expires.
        return User.objects.filter(is_active=True).count() + invitation_list_pending().count()
    if limit == Limit.SENDER_DOMAINS:
        from engagex.domains.models import SendingDomain

        return SendingDomain.objects.count()
    raise ValueError(limit)


def ensure_within(limit: Limit, *, adding: int = 1, tenant=None) -> None:
    """Raise LimitExceeded if adding `adding` more of `limit` would pass the allowance."""
    cap = allowance(limit, tenant)
    if cap is None:
        return
    used = usage(limit)
    if used + adding > cap:
        raise LimitExceeded(
            _(
                "Your plan allows %(cap)s %(limit)s and this workspace uses %(used)s, so "
                "%(adding)s more cannot be added. An Owner can upgrade on the Billing page."
            )
            % {"cap": f"{cap:,}", "limit": limit.label, "used": f"{used:,}", "adding": adding},
            code=f"limit_{limit.value}",
        )


def ensure_api_access(tenant=None) -> bool:
    """Whether the workspace's plan includes the API."""
    return bool((tenant or current_tenant()).api_access)
