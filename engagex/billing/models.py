"""Plans and each workspace's billing state. Shared app: these rows live in `public`."""

from typing import TYPE_CHECKING

from django.db import models
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from tenants.models import Tenant

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


class Plan(models.Model):
    """A tier with its limits and Stripe prices, edited by platform superusers."""

    code = models.SlugField(_("code"), max_length=30, unique=True)
    name = models.CharField(_("name"), max_length=60)
    description = models.CharField(_("description"), max_length=255, blank=True)
    position = models.PositiveSmallIntegerField(_("position"), default=0)
    is_trial = models.BooleanField(
        _("free trial"), default=False, help_text=_("New workspaces start on the trial plan.")
    )
    trial_days = models.PositiveSmallIntegerField(_("trial days"), default=0)
    monthly_price = models.DecimalField(
        _("monthly price"),
        max_digits=9,
        decimal_places=2,
        default=0,
        help_text=_("Shown to people; Stripe charges its Price."),
    )
    currency = models.CharField(_("currency"), max_length=3, default="USD")
    stripe_price_monthly = models.CharField(
        _("Stripe monthly price ID"), max_length=100, blank=True, help_text="price_…"
    )
    stripe_price_yearly = models.CharField(
        _("Stripe yearly price ID"), max_length=100, blank=True, help_text="price_…"
    )
    contact_limit = models.PositiveIntegerField(
        _("contacts"), null=True, blank=True, help_text=_("Empty means unlimited.")
    )
    monthly_send_limit = models.PositiveIntegerField(
        _("emails per month"), null=True, blank=True, help_text=_("Empty means unlimited.")
    )
    seat_limit = models.PositiveIntegerField(
        _("team seats"), null=True, blank=True, help_text=_("Empty means unlimited.")
    )
    sender_domain_limit = models.PositiveIntegerField(
        _("sender domains"), null=True, blank=True, help_text=_("Empty means unlimited.")
    )
    api_access = models.BooleanField(_("API access"), default=False)
    is_public = models.BooleanField(
        _("offered"), default=True, help_text=_("Workspaces can choose it on their Billing page.")
    )

    class Meta:
        verbose_name = _("plan")
        verbose_name_plural = _("plans")
        ordering = ["position", "name"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_trial"],
                condition=models.Q(is_trial=True),
                name="billing_one_trial_plan",
            )
        ]

    def __str__(self):
        return self.name

    def price_for(self, interval: str) -> str:
        return self.stripe_price_yearly if interval == "year" else self.stripe_price_monthly


class BillingAccount(models.Model):
    """One workspace's plan and subscription state, as Stripe (or a superuser) last set it."""

    class Status(models.TextChoices):
        TRIALING = "trialing", _("Free trial")
        ACTIVE = "active", _("Active")
        PAST_DUE = "past_due", _("Payment overdue")
        CANCELLED = "cancelled", _("Cancelled")
        EXPIRED = "expired", _("Trial ended")
        COMPED = "comped", _("Complimentary")

    tenant = models.OneToOneField(
        Tenant, on_delete=models.CASCADE, related_name="billing", verbose_name=_("tenant")
    )
    plan = models.ForeignKey(
        Plan, on_delete=models.PROTECT, related_name="accounts", verbose_name=_("plan")
    )
    status = models.CharField(
        max_length=20,
        choices=Status.choices,
        default=Status.TRIALING,
        db_index=True,
        verbose_name=_("status"),
    )
    interval = models.CharField(max_length=5, default="month", verbose_name=_("interval"))
    trial_ends_at = models.DateTimeField(null=True, blank=True, verbose_name=_("trial ends at"))
    # The last trial warning sent (days before the end), so each goes out once.
    trial_warning_sent = models.PositiveSmallIntegerField(
        null=True, blank=True, verbose_name=_("trial warning sent")
    )
    past_due_since = models.DateTimeField(null=True, blank=True, verbose_name=_("past due since"))
    grace_ends_at = models.DateTimeField(null=True, blank=True, verbose_name=_("grace ends at"))
    current_period_end = models.DateTimeField(
        null=True, blank=True, verbose_name=_("current period end")
    )
    cancel_at_period_end = models.BooleanField(
        default=False, verbose_name=_("cancel at period end")
    )
    stripe_customer_id = models.CharField(
        max_length=255, blank=True, db_index=True, verbose_name=_("Stripe customer ID")
    )
    stripe_subscription_id = models.CharField(
        max_length=255, blank=True, db_index=True, verbose_name=_("Stripe subscription ID")
    )
    comped_reason = models.CharField(max_length=255, blank=True, verbose_name=_("comped reason"))
    # Refreshed by the daily schedule for the platform overview (counting needs each schema).
    contacts_count = models.PositiveIntegerField(default=0, verbose_name=_("contacts count"))
    usage_refreshed_at = models.DateTimeField(
        null=True, blank=True, verbose_name=_("usage refreshed at")
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("subscription")
        verbose_name_plural = _("subscriptions")
        ordering = ["tenant__name"]

    def __str__(self):
        return f"{self.tenant}: {self.plan}"

    @property
    def is_read_only(self) -> bool:
        """Cancelled, expired, or overdue past the grace period: export only, no sending."""
        if self.status in (self.Status.CANCELLED, self.Status.EXPIRED):
            return True
        if self.status == self.Status.PAST_DUE:
            return self.grace_ends_at is not None and self.grace_ends_at <= timezone.now()
        return False


def status_label(value: str) -> "StrOrPromise":
    return dict(BillingAccount.Status.choices).get(value, value)


class PlanChange(models.Model):
    """Audit trail of every plan or status change, whoever made it."""

    class Source(models.TextChoices):
        SIGNUP = "signup", _("Sign-up")
        STRIPE = "stripe", _("Stripe")
        SUPERUSER = "superuser", _("Platform superuser")
        SCHEDULE = "schedule", _("Schedule")

    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="plan_changes", verbose_name=_("tenant")
    )
    source = models.CharField(max_length=20, choices=Source.choices, verbose_name=_("source"))
    actor = models.CharField(
        max_length=254, blank=True, help_text=_("Who, or which event."), verbose_name=_("actor")
    )
    from_plan = models.CharField(max_length=60, blank=True, verbose_name=_("from plan"))
    to_plan = models.CharField(max_length=60, verbose_name=_("to plan"))
    from_status = models.CharField(max_length=20, blank=True, verbose_name=_("from status"))
    to_status = models.CharField(max_length=20, verbose_name=_("to status"))
    reason = models.CharField(max_length=255, blank=True, verbose_name=_("reason"))
    created_at = models.DateTimeField(
        default=timezone.now, db_index=True, verbose_name=_("created at")
    )

    class Meta:
        verbose_name = _("plan change")
        verbose_name_plural = _("plan changes")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return f"{self.tenant}: {self.from_plan or '—'} → {self.to_plan} ({self.to_status})"


class UsagePeriod(models.Model):
    """A closed monthly usage period of one workspace, kept when the month rolls over."""

    tenant = models.ForeignKey(
        Tenant, on_delete=models.CASCADE, related_name="usage_periods", verbose_name=_("tenant")
    )
    month = models.DateField(verbose_name=_("month"))
    emails_sent = models.PositiveBigIntegerField(default=0, verbose_name=_("emails sent"))
    contacts = models.PositiveIntegerField(default=0, verbose_name=_("contacts"))
    plan = models.CharField(max_length=60, verbose_name=_("plan"))

    class Meta:
        verbose_name = _("usage period")
        verbose_name_plural = _("usage periods")
        ordering = ["-month"]
        constraints = [
            models.UniqueConstraint(fields=["tenant", "month"], name="billing_usage_period_unique")
        ]

    def __str__(self):
        return f"{self.tenant} {self.month:%Y-%m}"
