"""Resend to non-openers: a linked campaign to the original's recipients with no human open.

Who gets it is decided when it sends (its audience snapshot), not when it is created: a
recipient who opens the original in the meantime is left out.
"""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Exists, OuterRef, Q
from django.utils import timezone
from django.utils.translation import gettext_lazy

from engagex.campaigns.models import Campaign, CampaignRecipient
from engagex.campaigns.services.campaigns import campaign_duplicate, campaign_schedule
from engagex.campaigns.services.drafts import campaign_update
from engagex.core.tenancy import workspace_language
from engagex.segments.models import Resend

NOT_SENT = gettext_lazy("Only a sent campaign can be resent to those who did not open it.")
ALREADY = gettext_lazy("This campaign was already resent to its non-openers: “{name}”.")
BAD_HOURS = gettext_lazy("Enter a whole number of hours from 1 to 720.")
RESEND_NAME = gettext_lazy("{name} — to non-openers")


def non_openers(original_id: int) -> Q:
    """Contacts the original was sent to who have not opened it (machine opens don't count)."""
    return Q(
        Exists(
            CampaignRecipient.objects.filter(
                campaign_id=original_id,
                contact_id=OuterRef("pk"),
                status=CampaignRecipient.Status.SENT,
                opened_at__isnull=True,
            )
        )
    )


@transaction.atomic
def campaign_resend_non_openers(
    *, campaign: Campaign, after_hours: int, subject: str = "", user=None
) -> Campaign:
    """Create the linked campaign; schedule it `after_hours` after the original started
    (a draft to send now when that time has passed)."""
    if campaign.status != Campaign.Status.SENT:
        raise ValidationError(NOT_SENT)
    if not isinstance(after_hours, int) or not 1 <= after_hours <= 720:
        raise ValidationError({"after_hours": [BAD_HOURS]})
    existing = Resend.objects.filter(original=campaign).select_related("campaign").first()
    if existing is not None:
        raise ValidationError(ALREADY.format(name=existing.campaign.name))
    copy = campaign_duplicate(campaign=campaign, user=user)
    with workspace_language():
        name = str(RESEND_NAME).format(name=campaign.name)
    copy = campaign_update(
        campaign=copy,
        name=name[: Campaign._meta.get_field("name").max_length],
        subject_override=subject or campaign.subject_override,
        # Only the original's non-openers (the resend's audience source adds them at send).
        include_groups=[],
        exclude_groups=[],
        include_segments=[],
        exclude_segments=[],
    )
    Resend.objects.create(original=campaign, campaign=copy, after_hours=after_hours)
    send_at = (campaign.started_at or timezone.now()) + timedelta(hours=after_hours)
    if send_at > timezone.now() + timedelta(minutes=1):
        copy = campaign_schedule(campaign=copy, send_at=send_at, user=user)
    return copy


def resend_of(campaign_id: int) -> Resend | None:
    """The resend made from this campaign, if any."""
    return Resend.objects.filter(original_id=campaign_id).select_related("campaign").first()


def resend_original(campaign_id: int) -> int | None:
    return (
        Resend.objects.filter(campaign_id=campaign_id).values_list("original_id", flat=True).first()
    )
