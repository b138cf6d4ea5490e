from django.db import models
from django.utils.translation import gettext_lazy as _

from engagex.campaigns.models import Campaign


class EmailEvent(models.Model):
    """One SendGrid event about one recipient, stored once (by SendGrid's event id)."""

    class Type(models.TextChoices):
        PROCESSED = "processed", _("Processed")
        DELIVERED = "delivered", _("Delivered")
        DEFERRED = "deferred", _("Deferred")
        BOUNCE = "bounce", _("Bounce")
        DROPPED = "dropped", _("Dropped")
        OPEN = "open", _("Open")
        CLICK = "click", _("Click")
        SPAMREPORT = "spamreport", _("Spam report")
        UNSUBSCRIBE = "unsubscribe", _("Unsubscribe")

    event_id = models.CharField(max_length=100, unique=True)
    type = models.CharField(max_length=20, choices=Type.choices)
    # Plain ids: events are written in bulk and the rows they name are checked at ingest.
    campaign_id = models.BigIntegerField()
    recipient_id = models.BigIntegerField()
    contact_id = models.BigIntegerField(null=True)
    occurred_at = models.DateTimeField()
    received_at = models.DateTimeField()
    url = models.TextField(blank=True)
    bounce_type = models.CharField(max_length=10, blank=True)
    reason = models.TextField(blank=True)
    machine_open = models.BooleanField(default=False)

    class Meta:
        verbose_name = _("email event")
        verbose_name_plural = _("email events")
        indexes = [
            models.Index(fields=["campaign_id", "type"], name="event_campaign_type_idx"),
            models.Index(fields=["recipient_id", "type"], name="event_recipient_idx"),
            # "Clicked a link containing …" (segments) reads clicks only, in this index alone:
            # the events of a send are mostly processed, delivered and open events.
            models.Index(
                fields=["contact_id"],
                include=["url"],
                condition=models.Q(type="click"),
                name="event_click_contact_idx",
            ),
        ]

    def __str__(self):
        return f"{self.type} {self.recipient_id}"


class CampaignStats(models.Model):
    """Counters kept up to date by event ingestion, so reports never scan the events."""

    campaign = models.OneToOneField(
        Campaign, on_delete=models.CASCADE, primary_key=True, related_name="stats"
    )
    delivered = models.PositiveIntegerField(default=0)
    opens_total = models.PositiveIntegerField(default=0)
    opens_unique = models.PositiveIntegerField(default=0)
    machine_opens = models.PositiveIntegerField(default=0)
    clicks_total = models.PositiveIntegerField(default=0)
    clicks_unique = models.PositiveIntegerField(default=0)
    bounces_hard = models.PositiveIntegerField(default=0)
    bounces_soft = models.PositiveIntegerField(default=0)
    complaints = models.PositiveIntegerField(default=0)
    unsubscribes = models.PositiveIntegerField(default=0)
    dropped = models.PositiveIntegerField(default=0)
    deferred = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = _("campaign statistics")
        verbose_name_plural = _("campaign statistics")

    def __str__(self):
        return f"Stats of {self.campaign_id}"

    def rate(self, value: int) -> float:
        return round(100 * value / self.delivered, 1) if self.delivered else 0.0


class CampaignActivity(models.Model):
    """Human opens and clicks per campaign per hour (for the chart)."""

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="activity")
    hour = models.DateTimeField()
    opens = models.PositiveIntegerField(default=0)
    clicks = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "hour"], name="activity_campaign_hour_unique"
            )
        ]

    def __str__(self):
        return f"{self.campaign_id} {self.hour:%Y-%m-%d %H}"


class CampaignLink(models.Model):
    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="links")
    url_hash = models.CharField(max_length=32)
    url = models.TextField()
    clicks_total = models.PositiveIntegerField(default=0)
    clicks_unique = models.PositiveIntegerField(default=0)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "url_hash"], name="link_campaign_url_unique"
            )
        ]

    def __str__(self):
        return self.url
