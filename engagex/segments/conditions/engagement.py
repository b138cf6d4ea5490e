"""Conditions on what contacts did with campaigns (analytics' data about campaigns' sends).

Opens are human opens: a recipient's `opened_at` is its first open that was not a machine
open (analytics records it so). `include_machine_opens` adds the open events SendGrid
flagged as machine opens (mail privacy proxies that fetch every image).
"At least K opens in N days" counts campaigns opened: a person opening one email five
times has opened one campaign.
Human opens and clicks in the last N days read the contact's engagement summary (campaigns'
`ContactEngagement`, one row per contact, kept exact by triggers): `open_times` holds the
first human open of each opened campaign, newest first, so "opened anything since S" is
`open_times[1] >= S` and "at least K campaigns since S" is `open_times[K] >= S`.
"""

from datetime import timedelta
from typing import Any

from django.core.exceptions import ValidationError
from django.db.models import Count, Exists, OuterRef, Q
from django.utils.translation import gettext_lazy as _

from engagex.analytics.models import EmailEvent
from engagex.campaigns.models import (
    OPEN_TIMES_KEPT,
    Campaign,
    CampaignRecipient,
    ContactEngagement,
)
from engagex.segments.registry import ConditionType, Operator, register_condition
from engagex.segments.registry import ValueKind as V

CAMPAIGN_GONE = _("The campaign with id {id} does not exist (any more): choose another one.")
R = CampaignRecipient
OPEN = EmailEvent.Type.OPEN
MACHINE = {"include_machine_opens": V.BOOLEAN}


def _campaign_check(campaign_id: int, ctx, path: str) -> None:
    known = ctx.cache.setdefault("campaigns", {})
    if campaign_id not in known:
        known[campaign_id] = Campaign.objects.filter(pk=campaign_id).exists()
    if not known[campaign_id]:
        raise ValidationError({f"{path}.value": [CAMPAIGN_GONE.format(id=campaign_id)]})


def _mine(model=R, **filters) -> Q:
    return Q(Exists(model.objects.filter(contact_id=OuterRef("pk"), **filters)))


def _opened(cond, *, campaign_id: int | None = None, since=None) -> Q:
    """Human opens; machine opens too when the condition asks."""
    human: dict = {"opened_at__isnull": False}
    events: dict = {"type": OPEN}
    if campaign_id is not None:
        human["campaign_id"] = events["campaign_id"] = campaign_id
    if since is not None:
        human["opened_at__gte"] = events["occurred_at__gte"] = since
    match = _mine(**human)
    if cond.get("include_machine_opens"):
        match |= _mine(EmailEvent, **events)
    return match


def _campaign(cond, ctx, path) -> Q:
    campaign_id, op = cond["value"], cond["op"]
    _campaign_check(campaign_id, ctx, path)
    received = _mine(campaign_id=campaign_id, status=R.Status.SENT)
    if op == "received":
        return received
    if op == "opened":
        return _opened(cond, campaign_id=campaign_id)
    if op == "clicked":
        return _mine(campaign_id=campaign_id, clicked_at__isnull=False)
    if op == "not_opened":
        if cond.get("include_machine_opens"):
            return received & ~_opened(cond, campaign_id=campaign_id)
        # A contact has one recipient row per campaign: received and not opened is that
        # row, sent and without a human open (one semi-join instead of a semi- and an
        # anti-join over the campaign's recipients).
        return _mine(campaign_id=campaign_id, status=R.Status.SENT, opened_at__isnull=True)
    raise ValueError(op)


def _summary(**filters) -> Q:
    return _mine(ContactEngagement, **filters)


def _opened_any(cond, ctx, path) -> Q:
    since = ctx.now - timedelta(days=cond["value"])
    if cond.get("include_machine_opens"):
        return _opened(cond, since=since)
    return _summary(open_times__0__gte=since)


def _clicked_any(cond, ctx, path) -> Q:
    return _summary(last_click_at__gte=ctx.now - timedelta(days=cond["value"]))


def _opens(cond, ctx, path) -> Q:
    count, days = cond["value"]["count"], cond["value"]["days"]
    since = ctx.now - timedelta(days=days)
    opened: Any
    if not cond.get("include_machine_opens") and count <= OPEN_TIMES_KEPT:
        # The K-th newest opened campaign was opened since then.
        return _summary(**{f"open_times__{count - 1}__gte": since})
    if cond.get("include_machine_opens"):
        opened = (
            EmailEvent.objects.filter(type=OPEN, occurred_at__gte=since, contact_id__isnull=False)
            .values("contact_id")
            .annotate(n=Count("campaign_id", distinct=True))
        )
    else:
        opened = (
            R.objects.filter(opened_at__gte=since, contact_id__isnull=False)
            .values("contact_id")
            .annotate(n=Count("id"))
        )
    return Q(pk__in=opened.filter(n__gte=count).values("contact_id"))


def _clicked_link(cond, ctx, path) -> Q:
    return _mine(EmailEvent, type=EmailEvent.Type.CLICK, url__icontains=cond["value"])


def _ever(**filters):
    def compile_(cond, ctx, path) -> Q:
        match = _mine(**filters)
        return match if cond["op"] == "ever" else ~match

    return compile_


EVER = (Operator("ever", _("ever")), Operator("never", _("never")))


def register() -> None:
    family = "engagement"
    register_condition(
        ConditionType(
            "campaign",
            _("Campaign"),
            family,
            (
                Operator("received", _("received"), V.ID),
                Operator("opened", _("opened"), V.ID),
                Operator("clicked", _("clicked"), V.ID),
                Operator("not_opened", _("received but did not open"), V.ID),
            ),
            _campaign,
            options=MACHINE,
        )
    )
    register_condition(
        ConditionType(
            "opened_any",
            _("Opened any campaign"),
            family,
            (Operator("within_last_days", _("in the last … days"), V.DAYS),),
            _opened_any,
            options=MACHINE,
        )
    )
    register_condition(
        ConditionType(
            "clicked_any",
            _("Clicked in any campaign"),
            family,
            (Operator("within_last_days", _("in the last … days"), V.DAYS),),
            _clicked_any,
        )
    )
    register_condition(
        ConditionType(
            "opens",
            _("Opened campaigns"),
            family,
            (Operator("at_least", _("at least … in the last … days"), V.OPENS),),
            _opens,
            options=MACHINE,
        )
    )
    register_condition(
        ConditionType(
            "clicked_link",
            _("Clicked a link"),
            family,
            (Operator("contains", _("containing"), V.TEXT),),
            _clicked_link,
        )
    )
    register_condition(
        ConditionType("bounced", _("Hard-bounced"), family, EVER, _ever(bounced_at__isnull=False))
    )
    register_condition(
        ConditionType(
            "complained", _("Marked as spam"), family, EVER, _ever(complained_at__isnull=False)
        )
    )
