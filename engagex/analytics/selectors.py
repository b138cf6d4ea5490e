"""Reads for reports and dashboards; all served from pre-aggregated tables."""

import json
from datetime import timedelta

from django.core.cache import cache
from django.db.models import Count, Q, Sum
from django.db.models.functions import TruncDate
from django.utils import timezone, translation
from django.utils.formats import date_format
from django.utils.translation import gettext as _

from engagex.analytics.models import CampaignActivity, CampaignLink, CampaignStats
from engagex.campaigns.models import Campaign, CampaignRecipient, MonthlySendUsage
from engagex.contacts.models import Contact, ContactStatus, ImportJob


def campaign_report(campaign: Campaign) -> dict:
    """Counters and rates over delivered for one campaign."""
    stats = CampaignStats.objects.filter(campaign=campaign).first() or CampaignStats(
        campaign=campaign
    )
    sent = CampaignRecipient.objects.filter(campaign=campaign, status="sent").count()
    rows = [
        ("sent", _("Sent"), sent, None),
        ("delivered", _("Delivered"), stats.delivered, _pct(stats.delivered, sent)),
        ("opens_unique", _("Unique opens"), stats.opens_unique, stats.rate(stats.opens_unique)),
        ("opens_total", _("Total opens"), stats.opens_total, None),
        ("machine_opens", _("Machine opens"), stats.machine_opens, None),
        ("clicks_unique", _("Unique clicks"), stats.clicks_unique, stats.rate(stats.clicks_unique)),
        ("clicks_total", _("Total clicks"), stats.clicks_total, None),
        ("bounces_hard", _("Hard bounces"), stats.bounces_hard, _pct(stats.bounces_hard, sent)),
        ("bounces_soft", _("Soft bounces"), stats.bounces_soft, None),
        ("complaints", _("Complaints"), stats.complaints, stats.rate(stats.complaints)),
        ("unsubscribes", _("Unsubscribes"), stats.unsubscribes, stats.rate(stats.unsubscribes)),
    ]
    return {"stats": stats, "rows": rows, "sent": sent}


def _pct(part: int, whole: int) -> float | None:
    return round(100 * part / whole, 1) if whole else None


def campaign_activity_chart(campaign: Campaign) -> str:
    """Chart.js data: human opens and clicks per hour."""
    points = list(CampaignActivity.objects.filter(campaign=campaign).order_by("hour")[: 24 * 14])
    return json.dumps(
        {
            "labels": [date_format(timezone.localtime(p.hour), "j M H:00") for p in points],
            "datasets": [
                {"label": str(_("Opens")), "data": [p.opens for p in points]},
                {"label": str(_("Clicks")), "data": [p.clicks for p in points]},
            ],
        }
    )


def campaign_top_links(campaign: Campaign, limit: int = 10) -> list[CampaignLink]:
    return list(CampaignLink.objects.filter(campaign=campaign).order_by("-clicks_total")[:limit])


# --- workspace dashboard ---------------------------------------------------------------------
def workspace_dashboard(schema: str, limit: int, days: int = 30) -> dict:
    """Figures for the workspace home page; cached a minute per workspace."""
    key = f"dashboard:{schema}:{translation.get_language()}"
    data = cache.get(key)
    if data is None:
        data = _workspace_dashboard(limit, days)
        cache.set(key, data, 60)
    return data


def _workspace_dashboard(limit: int, days: int) -> dict:
    since = timezone.now() - timedelta(days=days)
    totals = Contact.objects.aggregate(
        contacts=Count("pk"), subscribed=Count("pk", filter=Q(status=ContactStatus.SUBSCRIBED))
    )
    added = dict(
        Contact.objects.filter(created_at__gte=since)
        .annotate(day=TruncDate("created_at"))
        .values_list("day")
        .annotate(n=Count("pk"))
    )
    left = dict(
        Contact.objects.filter(status_changed_at__gte=since)
        .exclude(status=ContactStatus.SUBSCRIBED)
        .annotate(day=TruncDate("status_changed_at"))
        .values_list("day")
        .annotate(n=Count("pk"))
    )
    labels = [(since + timedelta(days=i + 1)).date() for i in range(days)]
    growth = {
        "labels": [date_format(d, "j M") for d in labels],
        "datasets": [
            {"label": _("New contacts"), "data": [added.get(d, 0) for d in labels]},
            {
                "label": _("Unsubscribed, bounced or complained"),
                "data": [left.get(d, 0) for d in labels],
            },
        ],
    }
    month = timezone.now().date().replace(day=1)
    usage = (
        MonthlySendUsage.objects.filter(month=month).values_list("sends", flat=True).first() or 0
    )
    campaigns = []
    for campaign in Campaign.objects.exclude(status="draft").order_by("-created_at")[:5]:
        stats = CampaignStats.objects.filter(campaign=campaign).first() or CampaignStats()
        campaigns.append(
            {
                "pk": campaign.pk,
                "name": campaign.name,
                "status": str(campaign.get_status_display()),
                "recipients": campaign.recipients_total,
                "open_rate": stats.rate(stats.opens_unique),
                "click_rate": stats.rate(stats.clicks_unique),
                "bounce_rate": _pct(stats.bounces_hard, campaign.recipients_total) or 0.0,
            }
        )
    imports = [
        {**job, "status_label": str(ImportJob.Status(job["status"]).label)}
        for job in ImportJob.objects.order_by("-created_at").values(
            "pk", "original_name", "status", "counts", "created_at"
        )[:5]
    ]
    return {
        "totals": totals,
        "growth": json.dumps(growth),
        "sends": usage,
        "send_limit": limit,
        "send_percent": min(100, round(100 * usage / limit)) if limit else 0,
        "campaigns": campaigns,
        "imports": imports,
    }


# --- platform dashboard ----------------------------------------------------------------------
def platform_dashboard(days: int = 30) -> dict:
    from django_q.models import Failure

    from tenants.models import DailySends, Tenant
    from tenants.selectors import workspace_list

    since = timezone.now().date() - timedelta(days=days - 1)
    by_status = dict(workspace_list().values_list("status").annotate(n=Count("pk")))
    per_day = dict(
        DailySends.objects.filter(day__gte=since).values_list("day").annotate(n=Sum("sends"))
    )
    labels = [since + timedelta(days=i) for i in range(days)]
    top = (
        DailySends.objects.filter(day__gte=since)
        .values("tenant__name", "tenant__slug")
        .annotate(sends=Sum("sends"))
        .order_by("-sends")[:10]
    )
    return {
        "by_status": [(label, by_status.get(value, 0)) for value, label in Tenant.Status.choices],
        "workspaces": sum(by_status.values()),
        "sends_chart": json.dumps(
            {
                "labels": [date_format(d, "j M") for d in labels],
                "datasets": [
                    {"label": str(_("Emails sent")), "data": [per_day.get(d, 0) for d in labels]}
                ],
            }
        ),
        "sends_total": sum(per_day.values()),
        "top": list(top),
        "failures": list(Failure.objects.order_by("-stopped")[:10]),
    }
