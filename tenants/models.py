from django.conf import settings
from django.db import models
from django.utils.translation import gettext_lazy as _
from django_tenants.models import DomainMixin, TenantMixin


# Referenced by the early migrations that gave workspaces their own limits; plans hold them now.
def default_contact_limit() -> int:
    return 100_000


def default_monthly_send_limit() -> int:
    return 500_000


class Tenant(TenantMixin):
    """A customer organisation: one workspace, one PostgreSQL schema."""

    class Status(models.TextChoices):
        ACTIVE = "active", _("Active")
        SUSPENDED = "suspended", _("Suspended")

    name = models.CharField(_("organisation name"), max_length=100)
    slug = models.SlugField(_("workspace slug"), max_length=40, unique=True)
    owner_email = models.EmailField(_("owner email"))
    status = models.CharField(
        max_length=20,
        choices=Status.choices,
        default=Status.ACTIVE,
        db_index=True,
        verbose_name=_("status"),
    )
    status_changed_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("status changed at")
    )
    status_reason = models.CharField(max_length=255, blank=True, verbose_name=_("status reason"))
    timezone = models.CharField(_("time zone"), max_length=64, default="UTC")
    default_language = models.CharField(
        _("default language"),
        max_length=8,
        choices=settings.LANGUAGES,
        default="en",
        help_text=_("The console's and emails' language unless a person picks another."),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))

    # Cloned from settings.TENANT_BASE_SCHEMA; deleting a workspace drops its schema.
    auto_create_schema = True
    auto_drop_schema = True

    class Meta:
        verbose_name = _("workspace")
        verbose_name_plural = _("workspaces")
        ordering = ["name"]

    def __str__(self):
        return self.name

    @property
    def is_suspended(self) -> bool:
        return self.status == self.Status.SUSPENDED

    @property
    def email(self) -> str:
        """The address Stripe bills (dj-stripe's subscriber model needs one)."""
        return self.owner_email

    @property
    def primary_domain_name(self) -> str:
        return f"{self.slug}.{settings.BASE_DOMAIN}"


class Domain(DomainMixin):
    class Meta:
        verbose_name = _("domain")
        verbose_name_plural = _("domains")

    def __str__(self):
        return self.domain


class DailySends(models.Model):
    """Emails a workspace sent per day, kept in the public schema for the platform dashboard."""

    tenant = models.ForeignKey(Tenant, on_delete=models.CASCADE, related_name="daily_sends")
    day = models.DateField()
    sends = models.PositiveBigIntegerField(default=0)

    class Meta:
        verbose_name = _("daily sends")
        verbose_name_plural = _("daily sends")
        constraints = [
            models.UniqueConstraint(fields=["tenant", "day"], name="daily_sends_tenant_day_unique")
        ]

    def __str__(self):
        return f"{self.tenant_id} {self.day}: {self.sends}"
