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
from django.db.models import Count, Q
from django.utils.translation import gettext_lazy as _

from engagex.analytics.models import EmailEvent
from engagex.campaigns.models import (
    OPEN_TIMES_KEPT,
    Campaign,
    CampaignRecipient,
    ContactEngagement,
)
from engagex.segments.registry import ConditionType, Members, Operator, register_condition
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
    return Members(model.objects.filter(**filters)).q()


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


def _campaign_members(cond, ctx, path) -> Members | None:
    """A campaign's recipients (one row per contact) with the outcome asked; None for the
    operators that include machine opens, which also read the events."""
    campaign_id, op = cond["value"], cond["op"]
    _campaign_check(campaign_id, ctx, path)
    if cond.get("include_machine_opens") and op in {"opened", "not_opened"}:
        return None
    mine = R.objects.filter(campaign_id=campaign_id)
    if op == "received":
        return Members(mine.filter(status=R.Status.SENT))
    if op == "opened":
        return Members(mine.filter(opened_at__isnull=False))
    if op == "clicked":
        return Members(mine.filter(clicked_at__isnull=False))
    if op == "not_opened":
        # A contact has one recipient row per campaign: received and not opened is that
        # row, sent and without a human open (one semi-join instead of a semi- and an
        # anti-join over the campaign's recipients).
        return Members(mine.filter(status=R.Status.SENT, opened_at__isnull=True))
    raise ValueError(op)


def _campaign(cond, ctx, path) -> Q:
    members = _campaign_members(cond, ctx, path)
    if members is not None:
        return members.q()
    campaign_id = cond["value"]
    if cond["op"] == "opened":
        return _opened(cond, campaign_id=campaign_id)
    received = _mine(campaign_id=campaign_id, status=R.Status.SENT)
    return received & ~_opened(cond, campaign_id=campaign_id)


def _summary(**filters) -> Members:
    return Members(ContactEngagement.objects.filter(**filters))


def _opened_any_members(cond, ctx, path) -> Members | None:
    if cond.get("include_machine_opens"):
        return None
    return _summary(open_times__0__gte=ctx.now - timedelta(days=cond["value"]))


def _opened_any(cond, ctx, path) -> Q:
    members = _opened_any_members(cond, ctx, path)
    if members is not None:
        return members.q()
    return _opened(cond, since=ctx.now - timedelta(days=cond["value"]))


def _clicked_any_members(cond, ctx, path) -> Members:
    return _summary(last_click_at__gte=ctx.now - timedelta(days=cond["value"]))


def _clicked_any(cond, ctx, path) -> Q:
    return _clicked_any_members(cond, ctx, path).q()


def _opens_members(cond, ctx, path) -> Members | None:
    count, days = cond["value"]["count"], cond["value"]["days"]
    if cond.get("include_machine_opens") or count > OPEN_TIMES_KEPT:
        return None
    # The K-th newest opened campaign was opened since then.
    return _summary(**{f"open_times__{count - 1}__gte": ctx.now - timedelta(days=days)})


def _opens(cond, ctx, path) -> Q:
    members = _opens_members(cond, ctx, path)
    if members is not None:
        return members.q()
    count, days = cond["value"]["count"], cond["value"]["days"]
    since = ctx.now - timedelta(days=days)
    opened: Any
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


def _clicked_link_members(cond, ctx, path) -> Members:
    clicks = EmailEvent.objects.filter(type=EmailEvent.Type.CLICK, url__icontains=cond["value"])
    return Members(clicks, distinct=False, checked=False)


def _clicked_link(cond, ctx, path) -> Q:
    return _clicked_link_members(cond, ctx, path).q()


def _ever(**filters):
    def members(cond, ctx, path) -> Members:
        rows = R.objects.filter(**filters)
        return Members(rows, negated=cond["op"] != "ever", distinct=False)

    def compile_(cond, ctx, path) -> Q:
        return members(cond, ctx, path).q()

    return compile_, members


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
            members=_campaign_members,
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
            members=_opened_any_members,
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
            members=_clicked_any_members,
        )
    )
    register_condition(
        ConditionType(
            "opens",
            _("Opened campaigns"),
            family,
            (Operator("at_least", _("at least … in the last … days"), V.OPENS),),
            _opens,
            members=_opens_members,
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
            members=_clicked_link_members,
        )
    )
    for field, label, filters in (
        ("bounced", _("Hard-bounced"), {"bounced_at__isnull": False}),
        ("complained", _("Marked as spam"), {"complained_at__isnull": False}),
    ):
        compile_, members = _ever(**filters)
        register_condition(ConditionType(field, label, family, EVER, compile_, members=members))
