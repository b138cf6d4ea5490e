from django.db.models import Count, IntegerField, OuterRef, QuerySet, Subquery
from django.db.models.functions import Coalesce

from engagex.campaigns.models import Campaign, CampaignRecipient


def campaign_list() -> QuerySet[Campaign]:
    """Campaigns with `in_flight`: recipients handed to the ESP and not yet answered."""
    flying = (
        CampaignRecipient.objects.filter(campaign=OuterRef("pk"), status="sending")
        .order_by()
        .values("campaign")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return Campaign.objects.annotate(
        in_flight=Coalesce(Subquery(flying, output_field=IntegerField()), 0)
    )


def campaign_progress(campaign: Campaign) -> dict:
    """Recipient counts by status (in flight: with the ESP), plus the percentage settled."""
    counts = dict(
        CampaignRecipient.objects.filter(campaign=campaign)
        .values_list("status")
        .annotate(n=Count("pk"))
    )
    total = campaign.recipients_total or sum(counts.values())
    settled = counts.get("sent", 0) + counts.get("failed", 0)
    return {
        "pending": counts.get("pending", 0),
        "in_flight": counts.get("sending", 0),
        "sent": counts.get("sent", 0),
        "failed": counts.get("failed", 0),
        "total": total,
        "percent": round(100 * settled / total) if total else 0,
    }


def contact_campaign_history(*, contact, limit: int = 20) -> list[CampaignRecipient]:
    """The contact's most recent campaign copies, newest first."""
    return list(
        CampaignRecipient.objects.filter(contact=contact)
        .select_related("campaign")
        .order_by("-id")[:limit]
    )


OUTCOME_ORDER = [
    ("complained_at", "Complained"),
    ("unsubscribed_at", "Unsubscribed"),
    ("bounced_at", "Bounced"),
    ("clicked_at", "Clicked"),
    ("opened_at", "Opened"),
    ("delivered_at", "Delivered"),
    ("dropped_at", "Dropped"),
]


def recipient_outcome(recipient: CampaignRecipient) -> str:
    """The furthest thing that happened to one copy of a campaign, for lists and histories."""
    for field, label in OUTCOME_ORDER:
        if getattr(recipient, field):
            return label
    return recipient.get_status_display()


def monthly_sends(*, today=None) -> int:
    """Emails the current workspace has counted against this calendar month."""
    from django.utils import timezone

    from engagex.campaigns.models import MonthlySendUsage

    month = (today or timezone.now().date()).replace(day=1)
    usage = MonthlySendUsage.objects.filter(month=month).only("sends").first()
    return usage.sends if usage else 0
