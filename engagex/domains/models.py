from django.conf import settings
from django.db import models
from django.db.models.functions import Lower
from django.utils.translation import gettext_lazy as _


class SendingDomain(models.Model):
    """A domain the workspace sends from, with the DNS records that authenticate it."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Not verified yet")
        VERIFIED = "verified", _("Verified")
        FAILED = "failed", _("Verification failing")

    domain = models.CharField(_("domain"), max_length=253)
    status = models.CharField(
        max_length=20, choices=Status.choices, default=Status.PENDING, verbose_name=_("status")
    )
    # [{"kind", "type", "host", "value", "required", "status", "found"}], as last checked.
    records = models.JSONField(default=list, verbose_name=_("records"))
    sendgrid_id = models.CharField(max_length=40, blank=True, verbose_name=_("SendGrid ID"))
    # Demo and test domains that cannot be looked up: verified by hand, never re-checked.
    dns_check_exempt = models.BooleanField(default=False, verbose_name=_("DNS check exempt"))
    last_checked_at = models.DateTimeField(null=True, blank=True, verbose_name=_("last checked at"))
    verified_at = models.DateTimeField(null=True, blank=True, verbose_name=_("verified at"))
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        verbose_name = _("sender domain")
        verbose_name_plural = _("sender domains")
        ordering = ["domain"]
        constraints = [
            models.UniqueConstraint(Lower("domain"), name="domains_sendingdomain_unique"),
        ]

    def __str__(self):
        return self.domain

    @property
    def is_verified(self) -> bool:
        return self.status == self.Status.VERIFIED
