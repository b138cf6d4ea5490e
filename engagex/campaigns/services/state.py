"""The campaign state machine: draft → scheduled → sending → sent; paused, cancelled, failed.

Pause and cancel go through Pausing… / Cancelling… while batches already handed to the ESP
are still being answered; the last of them to settle completes the move (`campaign_settle`).
"""

from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.formats import number_format
from django.utils.translation import gettext, gettext_lazy, pgettext_lazy

from engagex.campaigns.models import Campaign, CampaignRecipient
from engagex.core.tenancy import workspace_language

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

S = Campaign.Status
# Keyed by plain str: a campaign's `status` field holds the value, not the enum member.
TRANSITIONS: dict[str, set[str]] = {
    S.DRAFT: {S.SCHEDULED, S.SENDING, S.CANCELLED},
    S.SCHEDULED: {S.DRAFT, S.SENDING, S.CANCELLED},
    S.SENDING: {S.PAUSING, S.PAUSED, S.SENT, S.CANCELLING, S.CANCELLED, S.FAILED},
    # Resuming waits for "Paused": old tasks' batches and new ones never overlap.
    S.PAUSING: {S.PAUSED, S.CANCELLING, S.CANCELLED},
    S.PAUSED: {S.SENDING, S.CANCELLING, S.CANCELLED},
    S.SENT: set(),
    S.CANCELLING: {S.CANCELLED},
    S.CANCELLED: set(),
    S.FAILED: set(),
}
ENDED = {S.SENT, S.CANCELLED, S.FAILED}
# A pause or cancel waits in the first state while batches are with the ESP.
SETTLING: dict[str, str] = {S.PAUSED: S.PAUSING, S.CANCELLED: S.CANCELLING}
SETTLED: dict[str, str] = {S.PAUSING: S.PAUSED, S.CANCELLING: S.CANCELLED}
NOT_ALLOWED = gettext_lazy("This campaign is “{current}”: it cannot be {target}.")
VERBS: dict[str, "StrOrPromise"] = {
    S.DRAFT: pgettext_lazy("campaign action", "moved back to draft"),
    S.SCHEDULED: pgettext_lazy("campaign action", "scheduled"),
    S.SENDING: pgettext_lazy("campaign action", "sent"),
    S.PAUSING: pgettext_lazy("campaign action", "paused"),
    S.PAUSED: pgettext_lazy("campaign action", "paused"),
    S.SENT: pgettext_lazy("campaign action", "marked sent"),
    S.CANCELLING: pgettext_lazy("campaign action", "cancelled"),
    S.CANCELLED: pgettext_lazy("campaign action", "cancelled"),
    S.FAILED: pgettext_lazy("campaign action", "marked failed"),
}


def campaign_locked(campaign_id: int) -> Campaign:
    """Fetch the campaign row locked for this transaction (two clicks, two workers: one wins).

    Send tasks claim batches under a KEY SHARE lock on this row, so a pause or cancel that
    holds this lock waits for claims under way, and every claim after it sees its status.
    """
    return Campaign.objects.select_for_update().select_related("template").get(pk=campaign_id)


def campaign_in_flight(campaign_id: int) -> int:
    """Recipients claimed by a send task and not yet answered by the ESP."""
    return CampaignRecipient.objects.filter(
        campaign_id=campaign_id, status=CampaignRecipient.Status.SENDING
    ).count()


def campaign_transition(campaign: Campaign, target: str, *, reason: str = "") -> Campaign:
    """Move a (locked) campaign to `target`, or raise ValidationError saying why not."""
    if target not in TRANSITIONS[campaign.status]:
        current = campaign.get_status_display().rstrip("…")
        raise ValidationError(NOT_ALLOWED.format(current=current, target=VERBS[target]))
    now = timezone.now()
    campaign.status = target
    campaign.status_changed_at = now
    fields = ["status", "status_changed_at", "updated_at"]
    if reason or target == S.SENDING:
        campaign.failure_reason = reason
        fields.append("failure_reason")
    if target in ENDED:
        campaign.finished_at = now
        fields.append("finished_at")
    campaign.save(update_fields=fields)
    if target == S.FAILED:
        _notify_failed(campaign)
    elif target == S.CANCELLED and campaign.started_at:
        _notify_cancelled(campaign)
    elif target == S.PAUSED and campaign.failure_reason:
        _notify_paused(campaign)  # paused by the pipeline (the ESP kept failing), not a person
    return campaign


def campaign_stop(campaign: Campaign, target: str, *, reason: str = "") -> Campaign:
    """Pause or cancel a (locked) campaign: at once when nothing is with the ESP, else through
    Pausing… / Cancelling… until the batches in flight are answered."""
    if target in SETTLING and campaign_in_flight(campaign.pk):
        target = SETTLING[target]
    return campaign_transition(campaign, target, reason=reason)


def campaign_starter(campaign: Campaign):
    """The person who sent or scheduled the campaign (its author when unknown), if active."""
    person = campaign.started_by or campaign.created_by
    return person if person is not None and person.is_active else None


def _link(campaign: Campaign) -> str:
    from django.urls import reverse

    return reverse(
        "admin:campaigns_campaign_change", args=[campaign.pk], urlconf="config.urls_tenants"
    )


def _number(count: int) -> str:
    return number_format(count, force_grouping=True)


def _counts(campaign: Campaign) -> dict:
    from django.db.models import Count

    return dict(
        CampaignRecipient.objects.filter(campaign=campaign)
        .values_list("status")
        .annotate(n=Count("pk"))
    )


@workspace_language()
def _notify_failed(campaign: Campaign) -> None:
    """Tell the person who started it, and the Owners and Admins, that it stopped for good."""
    from engagex.accounts import roles
    from engagex.accounts.models import User
    from engagex.notifications.services import notification_send

    people = User.objects.filter(is_active=True, groups__name__in=[roles.OWNER, roles.ADMIN])
    recipients = {user.pk: user for user in people}
    if starter := campaign_starter(campaign):
        recipients[starter.pk] = starter
    # In-app rows are written with the failure; emails go after the commit.
    notification_send(
        recipients=list(recipients.values()),
        title=gettext("Campaign failed: %(name)s") % {"name": campaign.name},
        body=campaign.failure_reason or gettext("The campaign stopped and will not send more."),
        link=_link(campaign),
        level="error",
        email=True,
    )


@workspace_language()
def _notify_cancelled(campaign: Campaign) -> None:
    from engagex.notifications.services import notification_send

    starter = campaign_starter(campaign)
    if starter is None:
        return
    counts = _counts(campaign)
    sent = counts.get(CampaignRecipient.Status.SENT, 0)
    notification_send(
        recipients=[starter],
        title=gettext("Campaign cancelled: %(name)s") % {"name": campaign.name},
        body=gettext("%(sent)s sent before it stopped; %(unsent)s will not get it.")
        % {"sent": _number(sent), "unsent": _number(sum(counts.values()) - sent)},
        link=_link(campaign),
        level="warning",
        email=True,
    )


@workspace_language()
def _notify_paused(campaign: Campaign) -> None:
    from engagex.notifications.services import notification_send

    starter = campaign_starter(campaign)
    if starter is None:
        return
    counts = _counts(campaign)
    notification_send(
        recipients=[starter],
        title=gettext("Campaign paused: %(name)s") % {"name": campaign.name},
        body=gettext("%(reason)s %(sent)s sent so far; %(waiting)s wait until it is resumed.")
        % {
            "reason": campaign.failure_reason,
            "sent": _number(counts.get(CampaignRecipient.Status.SENT, 0)),
            "waiting": _number(counts.get(CampaignRecipient.Status.PENDING, 0)),
        },
        link=_link(campaign),
        level="warning",
        email=True,
    )
