"""Platform admin: plans, every workspace's subscription and usage, overrides, audit trail."""

from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.db.models import Count, OuterRef, Subquery, Sum
from django.db.models.functions import Coalesce
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils import timezone
from django.utils.html import format_html, format_html_join
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.decorators import action, display

from engagex.billing.forms import PlanOverrideForm
from engagex.billing.models import BillingAccount, Plan, PlanChange, UsagePeriod, status_label
from engagex.billing.services.accounts import billing_plan_override
from engagex.core.admin import ReadOnlyModelAdmin, confirm_response
from engagex.core.formats import number
from engagex.platform.schedules import billing_usage_refresh
from engagex.platform.stripe_sync import (
    billing_configured,
    billing_override_end,
    billing_subscription_sync,
)
from tenants.models import DailySends

STATUS_COLOURS = {
    "trialing": "info",
    "active": "success",
    "comped": "success",
    "past_due": "warning",
    "cancelled": "danger",
    "expired": "danger",
}


def _limit(value):
    return "∞" if value is None else number(value)


@admin.register(Plan)
class PlanAdmin(ModelAdmin):
    list_display = [
        "name", "monthly_price", "contacts", "emails", "seats", "domains", "api_access",
        "workspaces",
    ]  # fmt: skip
    ordering = ["position"]
    fieldsets = [
        (None, {"fields": ["name", "code", "description", "position", "is_public"]}),
        (_("Trial"), {"fields": ["is_trial", "trial_days"]}),
        (
            _("Price"),
            {
                "fields": [
                    "monthly_price", "currency", "stripe_price_monthly", "stripe_price_yearly",
                ]
            },
        ),
        (
            _("Limits"),
            {
                "fields": [
                    "contact_limit", "monthly_send_limit", "seat_limit", "sender_domain_limit",
                    "api_access",
                ]
            },
        ),
    ]  # fmt: skip

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(n_accounts=Count("accounts"))

    @display(description=_("contacts"))
    def contacts(self, obj):
        return _limit(obj.contact_limit)

    @display(description=_("emails / month"))
    def emails(self, obj):
        return _limit(obj.monthly_send_limit)

    @display(description=_("seats"))
    def seats(self, obj):
        return _limit(obj.seat_limit)

    @display(description=_("domains"))
    def domains(self, obj):
        return _limit(obj.sender_domain_limit)

    @display(description=_("workspaces"), ordering="n_accounts")
    def workspaces(self, obj):
        return obj.n_accounts

    def has_delete_permission(self, request, obj=None):
        # Plans in use are kept: their workspaces would lose their limits.
        return super().has_delete_permission(request, obj) and not (obj and obj.accounts.exists())


@admin.register(BillingAccount)
class BillingAccountAdmin(ReadOnlyModelAdmin):
    list_display = [
        "tenant", "plan", "status_badge", "trial_ends_at", "contacts_usage", "sends_usage",
        "current_period_end", "stripe_customer_id",
    ]  # fmt: skip
    list_filter = ["status", "plan"]
    search_fields = ["tenant__name", "tenant__slug", "stripe_customer_id", "stripe_subscription_id"]
    list_select_related = ["tenant", "plan"]
    readonly_fields = [
        "tenant", "plan", "status", "interval", "trial_ends_at", "trial_warning_sent",
        "past_due_since", "grace_ends_at", "current_period_end", "cancel_at_period_end",
        "stripe_customer_id", "stripe_subscription_id", "comped_reason", "contacts_count",
        "usage_refreshed_at", "updated_at", "audit_trail",
    ]  # fmt: skip
    fieldsets = [
        (None, {"fields": ["tenant", "plan", "status", "interval", "comped_reason"]}),
        (
            _("Dates"),
            {
                "fields": [
                    "trial_ends_at", "trial_warning_sent", "past_due_since", "grace_ends_at",
                    "current_period_end", "cancel_at_period_end",
                ]
            },
        ),
        (_("Stripe"), {"fields": ["stripe_customer_id", "stripe_subscription_id"]}),
        (_("Usage"), {"fields": ["contacts_count", "usage_refreshed_at", "updated_at"]}),
        (_("Audit trail"), {"fields": ["audit_trail"]}),
    ]  # fmt: skip
    actions_list = ["refresh_usage"]
    actions_detail = ["override_detail", "override_end_detail", "resync_detail"]

    def get_queryset(self, request):
        month = timezone.now().date().replace(day=1)
        sends = (
            DailySends.objects.filter(tenant=OuterRef("tenant"), day__gte=month)
            .values("tenant")
            .annotate(total=Sum("sends"))
            .values("total")
        )
        return (
            super()
            .get_queryset(request)
            .select_related("tenant", "plan")
            .annotate(sends_this_month=Coalesce(Subquery(sends), 0))
        )

    @display(description=_("audit trail"))
    def audit_trail(self, obj):
        rows = format_html_join(
            "",
            '<tr class="border-t border-base-200 dark:border-base-800">'
            '<td class="py-1 pr-4">{}</td><td class="pr-4">{}</td><td class="pr-4">{}</td>'
            '<td class="pr-4">{} → {}</td><td class="pr-4">{} → {}</td><td>{}</td></tr>',
            (
                (
                    f"{change.created_at:%Y-%m-%d %H:%M}",
                    change.get_source_display(),
                    change.actor,
                    change.from_plan or "—",
                    change.to_plan,
                    status_label(change.from_status) if change.from_status else "—",
                    status_label(change.to_status),
                    change.reason,
                )  # fmt: skip
                for change in obj.tenant.plan_changes.all()[:50]
            ),
        )
        return format_html(
            '<table class="w-full text-sm"><thead><tr class="text-left"><th>{}</th><th>{}</th>'
            "<th>{}</th><th>{}</th><th>{}</th><th>{}</th></tr></thead><tbody>{}</tbody></table>",
            _("When"), _("Source"), _("Who"), _("Plan"), _("Status"), _("Reason"), rows,
        )  # fmt: skip

    @display(description=_("status"), label=STATUS_COLOURS, ordering="status")
    def status_badge(self, obj):
        return obj.status, obj.get_status_display()

    @display(description=_("contacts"))
    def contacts_usage(self, obj):
        return f"{number(obj.contacts_count)} / {_limit(obj.plan.contact_limit)}"

    @display(description=_("emails this month"))
    def sends_usage(self, obj):
        return f"{number(obj.sends_this_month)} / {_limit(obj.plan.monthly_send_limit)}"

    @action(
        description=_("Refresh contact counts"),
        url_path="refresh-usage",
        permissions=["billing_manage"],
    )
    def refresh_usage(self, request):
        if request.method != "POST":
            return confirm_response(
                self, request, title=_("Refresh every workspace's contact count?"),
                text=_("Counts the contacts in each workspace's schema, like the daily run."),
                cancel_url=reverse("admin:billing_billingaccount_changelist"),
            )  # fmt: skip
        refreshed = billing_usage_refresh()
        self.message_user(request, _("Refreshed %d workspace(s).") % refreshed, messages.SUCCESS)
        return redirect("admin:billing_billingaccount_changelist")

    @action(description=_("Override plan"), url_path="override", permissions=["billing_manage"])
    def override_detail(self, request, object_id):
        account = self.get_object(request, object_id)
        form = PlanOverrideForm(request.POST or None, initial={"plan": account.plan})
        if request.method == "POST" and form.is_valid():
            try:
                billing_plan_override(
                    tenant=account.tenant,
                    plan=form.cleaned_data["plan"],
                    reason=form.cleaned_data["reason"],
                    actor=request.user.email,
                )
            except ValidationError as error:
                form.add_error(None, error)
            else:
                self.message_user(
                    request,
                    _("“%(workspace)s” is on %(plan)s, complimentary.")
                    % {"workspace": account.tenant, "plan": form.cleaned_data["plan"]},
                    messages.SUCCESS,
                )
                return redirect("admin:billing_billingaccount_change", object_id)
        context = {
            **self.admin_site.each_context(request),
            "title": _("Override the plan of “%s”") % account.tenant,
            "opts": self.model._meta,
            "original": account,
            "form": form,
        }
        return TemplateResponse(request, "admin/billing/billingaccount/override.html", context)

    @action(
        description=_("End override"), url_path="override-end", permissions=["override_end_detail"]
    )
    def override_end_detail(self, request, object_id):
        account = self.get_object(request, object_id)
        if request.method != "POST":
            return confirm_response(
                self, request, title=_("End the complimentary plan of “%s”?") % account.tenant,
                text=_("It returns to its Stripe subscription, or turns read-only without one."),
                cancel_url=reverse("admin:billing_billingaccount_change", args=[object_id]),
                danger=True,
            )  # fmt: skip
        billing_override_end(tenant=account.tenant, actor=request.user.email)
        self.message_user(request, _("Override ended."), messages.SUCCESS)
        return redirect("admin:billing_billingaccount_change", object_id)

    def has_billing_manage_permission(self, request, object_id=None):
        """Comps, resyncs and recounts change what a workspace pays: platform superusers only."""
        return request.user.is_superuser

    def has_override_end_detail_permission(self, request, object_id=None):
        if not request.user.is_superuser:
            return False
        if object_id is None:
            return True
        return BillingAccount.objects.filter(
            pk=object_id, status=BillingAccount.Status.COMPED
        ).exists()

    @action(description=_("Sync from Stripe"), url_path="resync", permissions=["resync_detail"])
    def resync_detail(self, request, object_id):
        account = self.get_object(request, object_id)
        if request.method != "POST":
            return confirm_response(
                self, request, title=_("Sync “%s” from Stripe?") % account.tenant,
                text=_("Fetches the subscription as Stripe holds it now and applies it."),
                cancel_url=reverse("admin:billing_billingaccount_change", args=[object_id]),
            )  # fmt: skip
        try:
            billing_subscription_sync(
                subscription_id=account.stripe_subscription_id, event_id=request.user.email
            )
        except Exception as error:  # noqa: BLE001 - Stripe's errors are shown to the superuser
            self.message_user(request, _("Stripe said: %s") % error, messages.ERROR)
        else:
            self.message_user(request, _("Synced from Stripe."), messages.SUCCESS)
        return redirect("admin:billing_billingaccount_change", object_id)

    def has_resync_detail_permission(self, request, object_id=None):
        if not request.user.is_superuser or not billing_configured():
            return False
        if object_id is None:
            return True
        return (
            BillingAccount.objects.filter(pk=object_id).exclude(stripe_subscription_id="").exists()
        )


@admin.register(PlanChange)
class PlanChangeAdmin(ReadOnlyModelAdmin):
    list_display = ["created_at", "tenant", "source", "actor", "plans", "statuses", "reason"]
    list_filter = ["source", "to_status"]
    search_fields = ["tenant__name", "tenant__slug", "actor", "reason"]
    list_select_related = ["tenant"]

    @display(description=_("plan"))
    def plans(self, obj):
        return f"{obj.from_plan or '—'} → {obj.to_plan}"

    @display(description=_("status"))
    def statuses(self, obj):
        before = status_label(obj.from_status) if obj.from_status else "—"
        return f"{before} → {status_label(obj.to_status)}"


@admin.register(UsagePeriod)
class UsagePeriodAdmin(ReadOnlyModelAdmin):
    list_display = ["month", "tenant", "plan", "emails_sent", "contacts"]
    list_filter = ["month"]
    search_fields = ["tenant__name", "tenant__slug"]
    list_select_related = ["tenant"]
