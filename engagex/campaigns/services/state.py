"""The campaign state machine: draft → scheduled → sending → sent; paused, cancelled, failed."""

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext_lazy

from engagex.campaigns.models import Campaign

S = Campaign.Status
TRANSITIONS = {
    S.DRAFT: {S.SCHEDULED, S.SENDING, S.CANCELLED},
    S.SCHEDULED: {S.DRAFT, S.SENDING, S.CANCELLED},
    S.SENDING: {S.PAUSED, S.SENT, S.CANCELLED, S.FAILED},
    S.PAUSED: {S.SENDING, S.CANCELLED},
    S.SENT: set(),
    S.CANCELLED: set(),
    S.FAILED: set(),
}
NOT_ALLOWED = gettext_lazy("A {current} campaign cannot be {target}.")
VERBS = {
    S.DRAFT: "moved back to draft",
    S.SCHEDULED: "scheduled",
    S.SENDING: "sent",
    S.PAUSED: "paused",
    S.SENT: "marked sent",
    S.CANCELLED: "cancelled",
    S.FAILED: "marked failed",
}


def campaign_locked(campaign_id: int) -> Campaign:
    """Fetch the campaign row locked for this transaction (two clicks, two workers: one wins)."""
    return Campaign.objects.select_for_update().select_related("template").get(pk=campaign_id)


def campaign_transition(campaign: Campaign, target: str, *, reason: str = "") -> Campaign:
    """Move a (locked) campaign to `target`, or raise ValidationError saying why not."""
    if target not in TRANSITIONS[campaign.status]:
        raise ValidationError(
            NOT_ALLOWED.format(current=campaign.get_status_display().lower(), target=VERBS[target])
        )
    now = timezone.now()
    campaign.status = target
    campaign.status_changed_at = now
    fields = ["status", "status_changed_at", "updated_at"]
    if reason or target == S.SENDING:
        campaign.failure_reason = reason
        fields.append("failure_reason")
    if target in {S.SENT, S.CANCELLED, S.FAILED}:
        campaign.finished_at = now
        fields.append("finished_at")
    campaign.save(update_fields=fields)
    return campaign
