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
    if target == S.FAILED:
        _notify_failed(campaign)
    return campaign


def _notify_failed(campaign: Campaign) -> None:
    """Tell the campaign's author, and the Owners and Admins, that it stopped for good."""
    from django.urls import reverse

    from engagex.accounts import roles
    from engagex.accounts.models import User
    from engagex.notifications.services import notification_send

    people = User.objects.filter(is_active=True, groups__name__in=[roles.OWNER, roles.ADMIN])
    recipients = {user.pk: user for user in people}
    if campaign.created_by_id and campaign.created_by.is_active:
        recipients[campaign.created_by_id] = campaign.created_by
    link = reverse(
        "admin:campaigns_campaign_change", args=[campaign.pk], urlconf="config.urls_tenants"
    )
    # In-app rows are written with the failure; emails go after the commit.
    notification_send(
        recipients=list(recipients.values()),
        title=f"Campaign failed: {campaign.name}",
        body=campaign.failure_reason or "The campaign stopped and will not send more.",
        link=link,
        level="error",
        email=True,
    )
