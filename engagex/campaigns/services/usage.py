"""The monthly send count: reserved when a campaign starts, trued up when it ends.

A campaign counts against the month it started in (its reservation), also when it goes on
into the next month; what it never sent is given back to that same month.
"""

from datetime import date

from django.core.exceptions import ValidationError
from django.db.models import F, Q
from django.db.models.functions import Greatest
from django.utils import timezone
from django.utils.translation import gettext_lazy

from engagex.billing.limits import Limit, allowance
from engagex.billing.services.accounts import ensure_writable
from engagex.campaigns.models import Campaign, CampaignRecipient, MonthlySendUsage
from engagex.core.formats import number
from engagex.core.tenancy import current_tenant

R = CampaignRecipient.Status
MONTHLY_LIMIT = gettext_lazy(
    "Monthly send limit: this campaign would send {count} emails, and {used} of this "
    "month's {limit} are already used. Reduce the audience, wait until next month, or ask "
    "for a higher plan on the Billing page."
)
# A batch whose worker died mid-request and that the ESP could not confirm may have been
# sent: it stays counted.
UNCONFIRMED_MESSAGE_ID = "unconfirmed"


def usage_reserve(count: int, *, today: date | None = None) -> MonthlySendUsage:
    """Count `count` sends against this month, or refuse if the limit would be passed."""
    month = (today or timezone.now().date()).replace(day=1)
    usage, _ = MonthlySendUsage.objects.select_for_update().get_or_create(month=month)
    tenant = current_tenant()
    ensure_writable(tenant)
    limit = allowance(Limit.MONTHLY_SENDS, tenant)
    if limit is not None and usage.sends + count > limit:
        raise ValidationError(
            MONTHLY_LIMIT.format(count=number(count), used=number(usage.sends), limit=number(limit))
        )
    usage.sends += count
    usage.save(update_fields=["sends"])
    return usage


def usage_true_up(campaign: Campaign) -> int:
    """Give back to its month what a (locked) ended campaign never sent; return how many.

    Sent recipients, and batches the ESP may have taken, stay counted; skipped, refused and
    never-sent ones are released. Runs once nothing is in flight; a second run finds nothing.
    """
    if not campaign.usage_counted or campaign.usage_month is None:
        return 0
    used = CampaignRecipient.objects.filter(
        Q(status__in=[R.SENT, R.SENDING]) | Q(status=R.FAILED, message_id=UNCONFIRMED_MESSAGE_ID),
        campaign=campaign,
    ).count()
    release = campaign.usage_counted - used
    if release <= 0:
        return 0
    MonthlySendUsage.objects.filter(month=campaign.usage_month).update(
        sends=Greatest(F("sends") - release, 0)
    )
    campaign.usage_counted = used
    campaign.save(update_fields=["usage_counted"])
    return release
