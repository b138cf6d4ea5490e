from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import F
from django.utils.translation import gettext_lazy as _

from engagex.contacts.models import Contact, ContactGroup
from engagex.email_templates.models import EmailTemplate, TemplateVersion


class Campaign(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", _("Draft")
        SCHEDULED = "scheduled", _("Scheduled")
        SENDING = "sending", _("Sending")
        # Pausing… / Cancelling…: no batch is claimed any more; those already handed to the
        # ESP are still being answered. The final state follows once none is in flight.
        PAUSING = "pausing", _("Pausing…")
        PAUSED = "paused", _("Paused")
        SENT = "sent", _("Sent")
        CANCELLING = "cancelling", _("Cancelling…")
        CANCELLED = "cancelled", _("Cancelled")
        FAILED = "failed", _("Failed")

    name = models.CharField(_("name"), max_length=150)
    template = models.ForeignKey(
        EmailTemplate,
        on_delete=models.PROTECT,
        related_name="campaigns",
        verbose_name=_("template"),
    )
    subject_override = models.CharField(
        _("subject"), max_length=255, blank=True, help_text=_("Leave blank to use the template's.")
    )
    from_name = models.CharField(_("from name"), max_length=100)
    from_email = models.EmailField(_("from email"))
    reply_to = models.EmailField(_("reply-to"), blank=True)
    include_groups = models.ManyToManyField(
        ContactGroup,
        blank=True,
        related_name="+",
        verbose_name=_("send to lists"),
        help_text=_("Leave empty to send to every subscribed contact."),
    )
    exclude_groups = models.ManyToManyField(
        ContactGroup, blank=True, related_name="+", verbose_name=_("except lists")
    )
    send_at = models.DateTimeField(_("send at"), null=True, blank=True)
    status = models.CharField(
        _("status"), max_length=20, choices=Status.choices, default=Status.DRAFT, db_index=True
    )
    status_changed_at = models.DateTimeField(null=True, blank=True)
    failure_reason = models.TextField(blank=True)
    # The content as it was when sending started: later template edits do not leak in.
    content_subject = models.TextField(blank=True)
    content_preheader = models.TextField(blank=True)
    content_html = models.TextField(blank=True)
    content_text = models.TextField(blank=True)
    # The template version those contents came from. PROTECT: a version goes only with its
    # template, which a campaign already protects, so this never blocks a delete; it makes
    # sure the record of what went out cannot vanish underneath the campaign.
    template_version = models.ForeignKey(
        TemplateVersion,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="campaigns",
        verbose_name=_("template version"),
    )
    recipients_total = models.PositiveIntegerField(default=0, verbose_name=_("recipients total"))
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Who sent or scheduled it: told when it is cancelled, paused by the ESP, sent or failed.
    started_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    # Send tasks carry the round they were queued for; start, resume and the sweeper begin a
    # new round, and a task of an older round claims nothing more.
    send_round = models.PositiveIntegerField(default=0)
    # When a send task of the current round last showed life (or was queued).
    heartbeat_at = models.DateTimeField(null=True, blank=True)
    # The month whose usage counts this campaign, and how many of its sends it counts there.
    usage_month = models.DateField(null=True, blank=True)
    usage_counted = models.PositiveIntegerField(default=0)
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = _("campaign")
        verbose_name_plural = _("campaigns")
        ordering = ["-created_at"]
        permissions = [("send_campaign", _("Can send, schedule, pause and cancel campaigns"))]

    def __str__(self):
        return self.name

    @property
    def subject(self) -> str:
        return self.subject_override or self.template.subject


class CampaignRecipient(models.Model):
    """One contact's copy of a campaign: pending → sending → sent or failed."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Pending")
        SENDING = "sending", _("Sending")
        SENT = "sent", _("Sent")
        FAILED = "failed", _("Failed")

    campaign = models.ForeignKey(
        Campaign, on_delete=models.CASCADE, related_name="recipients", verbose_name=_("campaign")
    )
    contact = models.ForeignKey(
        Contact, null=True, on_delete=models.SET_NULL, related_name="+", verbose_name=_("contact")
    )
    email = models.EmailField(verbose_name=_("email"))
    status = models.CharField(
        max_length=10, choices=Status.choices, default=Status.PENDING, verbose_name=_("status")
    )
    attempt = models.UUIDField(null=True, blank=True, verbose_name=_("attempt"))
    claimed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("claimed at"))
    sent_at = models.DateTimeField(null=True, blank=True, verbose_name=_("sent at"))
    message_id = models.CharField(max_length=100, blank=True, verbose_name=_("message ID"))
    error = models.TextField(blank=True, verbose_name=_("error"))
    unsubscribed_at = models.DateTimeField(null=True, blank=True, verbose_name=_("unsubscribed at"))
    # Outcomes, from SendGrid's events (first occurrence of each).
    delivered_at = models.DateTimeField(null=True, blank=True, verbose_name=_("delivered at"))
    opened_at = models.DateTimeField(null=True, blank=True, verbose_name=_("opened at"))
    clicked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("clicked at"))
    bounced_at = models.DateTimeField(null=True, blank=True, verbose_name=_("bounced at"))
    bounce_type = models.CharField(
        max_length=10, blank=True, default="", db_default="", verbose_name=_("bounce type")
    )
    complained_at = models.DateTimeField(null=True, blank=True, verbose_name=_("complained at"))
    dropped_at = models.DateTimeField(null=True, blank=True, verbose_name=_("dropped at"))

    class Meta:
        verbose_name = _("recipient")
        verbose_name_plural = _("recipients")
        constraints = [
            models.UniqueConstraint(
                fields=["campaign", "contact"], name="campaign_recipient_unique"
            ),
        ]
        indexes = [
            models.Index(
                fields=["campaign", "id"],
                condition=models.Q(status="pending"),
                name="recipient_pending_idx",
            ),
            models.Index(fields=["campaign", "status"], name="recipient_status_idx"),
            models.Index(fields=["contact"], name="recipient_contact_idx"),
            # Segment conditions on engagement (engagex.segments), each over the few rows
            # with the outcome: who opened or clicked, which campaign and when.
            models.Index(
                fields=["opened_at"],
                include=["contact", "campaign"],
                condition=models.Q(opened_at__isnull=False),
                name="recipient_opened_idx",
            ),
            models.Index(
                fields=["campaign", "contact"],
                condition=models.Q(opened_at__isnull=False),
                name="recipient_campaign_opened_idx",
            ),
            models.Index(
                fields=["clicked_at"],
                include=["contact"],
                condition=models.Q(clicked_at__isnull=False),
                name="recipient_clicked_idx",
            ),
            models.Index(
                fields=["campaign", "contact"],
                condition=models.Q(clicked_at__isnull=False),
                name="recipient_campaign_clicked_idx",
            ),
            models.Index(
                fields=["contact"],
                condition=(
                    models.Q(bounced_at__isnull=False) | models.Q(complained_at__isnull=False)
                ),
                name="recipient_bounced_idx",
            ),
        ]

    def __str__(self):
        return self.email


# How many of a contact's opened campaigns `ContactEngagement.open_times` keeps (the newest):
# "opened at least K campaigns in the last N days" reads it for K up to this.
OPEN_TIMES_KEPT = 50


class ContactEngagement(models.Model):
    """One row per contact who ever opened or clicked: what segments ask of engagement.

    Derived from the contact's recipients and kept exact by database triggers on them (see
    migration 0008), whatever writes an outcome (events, a resend, a test): a segment reads
    one row per contact instead of grouping millions of recipients.
    """

    contact = models.OneToOneField(
        Contact,
        primary_key=True,
        on_delete=models.CASCADE,
        related_name="+",
        verbose_name=_("contact"),
    )
    last_click_at = models.DateTimeField(null=True, verbose_name=_("last click"))
    # The first human open of each campaign opened, newest first, at most OPEN_TIMES_KEPT
    # (the first is the last time the contact opened anything).
    open_times = ArrayField(
        models.DateTimeField(), default=list, verbose_name=_("times of opened campaigns")
    )
    # The ids of those campaigns, in the same order: an open already counted is not added
    # again (say by two rows of one statement).
    open_campaigns = ArrayField(
        models.BigIntegerField(), default=list, verbose_name=_("opened campaigns")
    )

    class Meta:
        verbose_name = _("contact engagement")
        verbose_name_plural = _("contact engagement")
        indexes = [
            # "Opened / clicked in the last N days": a range for short windows, and the
            # statistics that size the join for long ones (without them PostgreSQL guesses a
            # third of the rows and its hash spills to disk).
            models.Index(F("open_times__0"), name="engagement_last_open_idx"),
            models.Index(fields=["last_click_at"], name="engagement_last_click_idx"),
        ]

    def __str__(self):
        return str(self.contact_id)


class MonthlySendUsage(models.Model):
    """Emails a workspace has committed to send in a calendar month."""

    month = models.DateField(unique=True)
    sends = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("monthly sends")
        verbose_name_plural = _("monthly sends")

    def __str__(self):
        return f"{self.month:%Y-%m}: {self.sends}"
