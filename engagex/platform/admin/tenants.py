import copy

from django.contrib import admin, messages
from django.http import QueryDict
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django_tenants.utils import get_public_schema_name
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import action, display

from engagex.billing.models import BillingAccount, PlanChange, UsagePeriod
from engagex.core.admin import ReadOnlyModelAdmin, ServiceErrorsAdminMixin, confirm_response
from engagex.platform.forms import (
    SuspendForm,
    TenantChangeForm,
    TenantCreateForm,
    WorkspaceDeleteForm,
)
from engagex.platform.provisioning import (
    tenant_create,
    tenant_delete,
    tenant_owner_invitation_resend,
    tenant_reactivate,
    tenant_suspend,
)
from engagex.platform.selectors import workspace_contents
from tenants.models import Domain, Tenant
from tenants.selectors import workspace_list, workspace_url


class DomainInline(TabularInline):
    model = Domain
    extra = 0
    fields = ["domain", "is_primary"]
    readonly_fields = ["domain", "is_primary"]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Tenant)
class TenantAdmin(ServiceErrorsAdminMixin, ModelAdmin):
    list_display = ["name", "slug", "workspace_link", "status_badge", "owner_email", "created_at"]
    list_filter = ["status"]
    search_fields = ["name", "slug", "owner_email", "domains__domain"]
    ordering = ["name"]
    readonly_fields = [
        "slug",
        "schema_name",
        "workspace_link",
        "owner_email",
        "status",
        "status_reason",
        "status_changed_at",
        "created_at",
        "subscription",
    ]
    inlines = [DomainInline]
    actions = ["suspend_selected", "reactivate_selected"]
    actions_detail = ["suspend_detail", "reactivate_detail", "resend_invitation_detail"]

    def get_queryset(self, request):
        return workspace_list().prefetch_related("domains")

    def get_form(self, request, obj=None, **kwargs):
        kwargs["form"] = TenantCreateForm if obj is None else TenantChangeForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "slug", "owner_email", "owner_name"]
        return [*TenantChangeForm.Meta.fields, *self.readonly_fields]

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj else []

    def get_inlines(self, request, obj):
        return self.inlines if obj else []

    def get_actions(self, request):
        actions = super().get_actions(request)
        # A bulk delete would skip dropping schemas; workspaces are deleted one by one.
        actions.pop("delete_selected", None)
        return actions

    @display(description=_("Subscription"))
    def subscription(self, obj):
        account = BillingAccount.objects.select_related("plan").filter(tenant=obj).first()
        if account is None:
            return "—"
        return format_html(
            '<a class="text-primary-600 underline" href="{}">{} — {}</a>',
            reverse("admin:billing_billingaccount_change", args=[account.pk]),
            account.plan,
            account.get_status_display(),
        )

    @display(description=_("Console"))
    def workspace_link(self, obj):
        url = workspace_url(obj, "/admin/")
        return format_html('<a href="{}" target="_blank" class="text-primary-600">{}</a>', url, url)

    @display(
        description=_("Status"),
        label={Tenant.Status.ACTIVE: "success", Tenant.Status.SUSPENDED: "danger"},
    )
    def status_badge(self, obj):
        return obj.status, obj.get_status_display()

    def save_model(self, request, obj, form, change):
        if change:
            super().save_model(request, obj, form, change)
            return
        data = form.cleaned_data
        provisioned = tenant_create(
            name=data["name"],
            slug=data["slug"],
            owner_email=data["owner_email"],
            owner_name=data.get("owner_name", ""),
        )
        obj.pk = provisioned.tenant.pk
        console = workspace_url(provisioned.tenant, "/admin/")
        self.message_user(
            request,
            format_html(
                _(
                    'Workspace ready at <a href="{}" class="underline">{}</a>. An invitation was '
                    'emailed to {}; you can also send them <a href="{}" class="underline">their '
                    "set-password link</a> yourself."
                ),
                console,
                console,
                provisioned.owner.email,
                provisioned.set_password_url,
            ),
            messages.SUCCESS,
        )

    def response_add(self, request, obj, post_url_continue=None):
        # save_model already said what happened, with the links the user needs.
        return redirect(reverse("admin:tenants_tenant_change", args=[obj.pk]))

    def save_related(self, request, form, formsets, change):
        if change:
            super().save_related(request, form, formsets, change)

    def delete_model(self, request, obj):
        tenant_delete(tenant=obj)

    def has_delete_permission(self, request, obj=None):
        if obj is not None and obj.schema_name == get_public_schema_name():
            return False
        return super().has_delete_permission(request, obj)

    def get_deleted_objects(self, objs, request):
        deleted, model_count, perms_needed, protected = super().get_deleted_objects(objs, request)
        # Domains and billing records go with their workspace, though nobody may delete
        # one on its own.
        for model in (Domain, BillingAccount, PlanChange, UsagePeriod):
            perms_needed.discard(model._meta.verbose_name)
        return deleted, model_count, perms_needed, protected

    def delete_view(self, request, object_id, extra_context=None):
        tenant = self.get_object(request, object_id)
        if tenant is None or not self.has_delete_permission(request, tenant):
            return super().delete_view(request, object_id, extra_context)
        posted = request.method == "POST"
        form = WorkspaceDeleteForm(request.POST if posted else None, tenant=tenant)
        extra_context = {
            **(extra_context or {}),
            "workspace": tenant,
            "workspace_contents": workspace_contents(tenant),
            "workspace_domains": [d.domain for d in tenant.domains.all()],
            "delete_form": form,
        }
        if posted and not form.is_valid():
            # Django's view deletes on any POST: show the page again, with the error.
            unconfirmed = copy.copy(request)
            unconfirmed.POST = QueryDict()
            response = super().delete_view(unconfirmed, object_id, extra_context)
            response.status_code = 400
            return response
        return super().delete_view(request, object_id, extra_context)

    @admin.action(description=_("Suspend selected workspaces"))
    def suspend_selected(self, request, queryset):
        for tenant in queryset:
            tenant_suspend(tenant=tenant)
        self.message_user(
            request, _("%d workspace(s) suspended.") % len(queryset), messages.SUCCESS
        )

    @admin.action(description=_("Reactivate selected workspaces"))
    def reactivate_selected(self, request, queryset):
        for tenant in queryset:
            tenant_reactivate(tenant=tenant)
        self.message_user(
            request, _("%d workspace(s) reactivated.") % len(queryset), messages.SUCCESS
        )

    @action(description=_("Suspend"), url_path="suspend", permissions=["suspend_detail"])
    def suspend_detail(self, request, object_id):
        tenant = self.get_object(request, object_id)
        form = SuspendForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            tenant_suspend(tenant=tenant, reason=form.cleaned_data["reason"])
            self.message_user(
                request, _("Workspace “%s” suspended.") % tenant.name, messages.SUCCESS
            )
            return redirect(reverse("admin:tenants_tenant_change", args=[object_id]))
        context = {
            **self.admin_site.each_context(request),
            "title": _("Suspend “%s”") % tenant.name,
            "opts": self.model._meta,
            "original": tenant,
            "form": form,
        }
        return TemplateResponse(request, "admin/tenants/tenant/suspend.html", context)

    def has_suspend_detail_permission(self, request, object_id=None):
        return self._status_is(request, object_id, Tenant.Status.ACTIVE)

    @action(description=_("Reactivate"), url_path="reactivate", permissions=["reactivate_detail"])
    def reactivate_detail(self, request, object_id):
        tenant = self.get_object(request, object_id)
        if request.method != "POST":
            return self._confirm(
                request, tenant, _("Reactivate “%s”?") % tenant.name,
                _("Its staff can use the console, campaigns and API again."),
            )  # fmt: skip
        tenant_reactivate(tenant=tenant)
        self.message_user(request, _("Workspace “%s” reactivated.") % tenant.name, messages.SUCCESS)
        return redirect(reverse("admin:tenants_tenant_change", args=[object_id]))

    def _confirm(self, request, tenant, title, text):
        cancel_url = reverse("admin:tenants_tenant_change", args=[tenant.pk])
        return confirm_response(self, request, title=title, text=text, cancel_url=cancel_url)

    def has_reactivate_detail_permission(self, request, object_id=None):
        return self._status_is(request, object_id, Tenant.Status.SUSPENDED)

    def _status_is(self, request, object_id, status) -> bool:
        if not self.has_change_permission(request):
            return False
        if object_id is None:
            return True
        return workspace_list().filter(pk=object_id, status=status).exists()

    @action(
        description=_("Resend owner invitation"),
        url_path="resend-invitation",
        permissions=["change"],
    )
    def resend_invitation_detail(self, request, object_id):
        tenant = self.get_object(request, object_id)
        if request.method != "POST":
            return self._confirm(
                request, tenant, _("Email the Owner a new set-password link?"),
                _("The Owner of “%s” gets an email with a link that works once.") % tenant.name,
            )  # fmt: skip
        link = tenant_owner_invitation_resend(tenant=tenant)
        self.message_user(
            request,
            _("Invitation sent to %(email)s. Link: %(link)s")
            % {"email": tenant.owner_email, "link": link},
            messages.SUCCESS,
        )
        return redirect(reverse("admin:tenants_tenant_change", args=[object_id]))


@admin.register(Domain)
class DomainAdmin(ReadOnlyModelAdmin):
    """Workspace domains are created and removed with their workspace."""

    list_display = ["domain", "workspace", "is_primary"]
    list_filter = ["is_primary"]
    search_fields = ["domain", "tenant__name"]
    list_select_related = ["tenant"]
    readonly_fields = ["domain", "workspace", "is_primary"]

    @display(description=_("Workspace"), ordering="tenant__name")
    def workspace(self, obj):
        return obj.tenant
