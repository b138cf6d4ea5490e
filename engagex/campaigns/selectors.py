from typing import TYPE_CHECKING

from django.db.models import Count, IntegerField, OuterRef, Q, QuerySet, Subquery
from django.db.models.functions import Coalesce
from django.utils.translation import gettext_lazy as _

from engagex.campaigns.models import Campaign, CampaignRecipient
from engagex.contacts.history import CampaignHistoryRow

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


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


def contact_campaign_history(*, contact, limit: int | None = 20) -> list[CampaignRecipient]:
    """The contact's most recent campaign copies (all of them when `limit` is None), newest
    first."""
    copies = CampaignRecipient.objects.filter(contact=contact).select_related("campaign")
    return list(copies.order_by("-id")[:limit])


OUTCOME_ORDER = [
    ("complained_at", _("Complained")),
    ("unsubscribed_at", _("Unsubscribed")),
    ("bounced_at", _("Bounced")),
    ("clicked_at", _("Clicked")),
    ("opened_at", _("Opened")),
    ("delivered_at", _("Delivered")),
    ("dropped_at", _("Dropped")),
]


# The recipient list's outcome filter.
OUTCOMES = {
    "delivered": Q(delivered_at__isnull=False),
    "opened": Q(opened_at__isnull=False),
    "clicked": Q(clicked_at__isnull=False),
    "bounced": Q(bounced_at__isnull=False),
    "complained": Q(complained_at__isnull=False),
    "unsubscribed": Q(unsubscribed_at__isnull=False),
    "dropped": Q(dropped_at__isnull=False),
    "not_sent": Q(status="failed"),
    "no_event_yet": Q(status="sent", delivered_at__isnull=True, bounced_at__isnull=True,
                      dropped_at__isnull=True),
}  # fmt: skip


# How the outcome filter names each choice.
OUTCOME_LABELS = {
    "delivered": _("Delivered"),
    "opened": _("Opened"),
    "clicked": _("Clicked"),
    "bounced": _("Bounced"),
    "complained": _("Complained"),
    "unsubscribed": _("Unsubscribed"),
    "dropped": _("Dropped"),
    "not_sent": _("Not sent"),
    "no_event_yet": _("No event yet"),
}


def recipient_outcomes(queryset, outcome: str | None):
    """Recipients whose copy reached `outcome` (all of them for an unknown one)."""
    return queryset.filter(OUTCOMES[outcome]) if outcome in OUTCOMES else queryset


def recipient_outcome(recipient: CampaignRecipient) -> "StrOrPromise":
    """The furthest thing that happened to one copy of a campaign, for lists and histories."""
    for field, label in OUTCOME_ORDER:
        if getattr(recipient, field):
            return label
    return recipient.get_status_display()


def contact_history_rows(*, contact, limit: int | None = 20) -> list[CampaignHistoryRow]:
    """The contact's recent campaigns as the contact page shows them (see contacts.history)."""
    return [
        CampaignHistoryRow(
            campaign=r.campaign.name, outcome=recipient_outcome(r), sent_at=r.sent_at
        )
        for r in contact_campaign_history(contact=contact, limit=limit)
    ]


def monthly_sends(*, today=None) -> int:
    """Emails the current workspace has counted against this calendar month."""
    from django.utils import timezone

    from engagex.campaigns.models import MonthlySendUsage

    month = (today or timezone.now().date()).replace(day=1)
    usage = MonthlySendUsage.objects.filter(month=month).only("sends").first()
    return usage.sends if usage else 0
