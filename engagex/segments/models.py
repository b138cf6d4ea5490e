from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _

from engagex.campaigns.models import Campaign


def empty_rule() -> dict:
    return {"version": 1, "match": "all", "conditions": []}


class Segment(models.Model):
    """A saved rule: who matches is worked out each time it is used, never stored."""

    name = models.CharField(_("name"), max_length=120, unique=True)
    description = models.CharField(_("description"), max_length=255, blank=True)
    rule = models.JSONField(_("rule"), default=empty_rule)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(_("created"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated"), auto_now=True)

    class Meta:
        verbose_name = _("segment")
        verbose_name_plural = _("segments")
        ordering = ["name"]

    def __str__(self):
        return self.name


class CampaignSegment(models.Model):
    """A segment a campaign sends to (or excludes). Kept here, not on Campaign: campaigns
    sits below segments in the stack and learns about them through its audience hook."""

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="+", verbose_name=_("campaign")
    )
    segment = models.ForeignKey(
        Segment, on_delete=models.PROTECT, related_name="campaign_uses", verbose_name=_("segment")
    )
    exclude = models.BooleanField(_("exclude"), default=False)

    class Meta:
        verbose_name = _("campaign segment")
        verbose_name_plural = _("campaign segments")
        constraints = [
            models.UniqueConstraint(fields=["campaign", "segment"], name="campaign_segment_unique")
        ]

    def __str__(self):
        return f"{self.campaign_id} · {self.segment}"


class Resend(models.Model):
    """A campaign sent again to the recipients of another who did not open it (human opens)."""

    original = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="+", verbose_name=_("original campaign")
    )
    campaign = models.OneToOneField(
        Campaign, on_delete=models.CASCADE, related_name="+", verbose_name=_("resend")
    )
    after_hours = models.PositiveSmallIntegerField(_("after (hours)"))
    created_at = models.DateTimeField(_("created"), auto_now_add=True)

    class Meta:
        verbose_name = _("resend to non-openers")
        verbose_name_plural = _("resends to non-openers")

    def __str__(self):
        return f"{self.original_id} → {self.campaign_id}"
