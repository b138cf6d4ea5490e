from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from django_tenants.utils import get_public_schema_name
from unfold.admin import ModelAdmin, TabularInline
from unfold.decorators import action, display

from tenants.forms import TenantCreateForm
from tenants.models import Domain, Tenant
from tenants.selectors import workspace_contents, workspace_list, workspace_url
from tenants.services import (
    tenant_create,
    tenant_delete,
    tenant_owner_invitation_resend,
    tenant_reactivate,
    tenant_suspend,
)


class DomainInline(TabularInline):
    model = Domain
    extra = 0
    fields = ["domain", "is_primary"]
    readonly_fields = ["domain", "is_primary"]
    can_delete = False

    def has_add_permission(self, request, obj=None):
        return False


@admin.register(Tenant)
class TenantAdmin(ModelAdmin):
    list_display = ["name", "slug", "workspace_link", "status_badge", "owner_email", "created_at"]
    list_filter = ["status"]
    search_fields = ["name", "slug", "owner_email", "domains__domain"]
    ordering = ["name"]
    readonly_fields = [
        "slug",
        "schema_name",
        "workspace_link",
        "owner_email",
        "status_badge",
        "status_reason",
        "status_changed_at",
        "created_at",
    ]
    inlines = [DomainInline]
    actions = ["suspend_selected", "reactivate_selected"]
    actions_detail = ["suspend_detail", "reactivate_detail", "resend_invitation_detail"]

    def get_queryset(self, request):
        return workspace_list().prefetch_related("domains")

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = TenantCreateForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "slug", "owner_email", "owner_name"]
        return ["name", *self.readonly_fields]

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj else []

    def get_inlines(self, request, obj):
        return self.inlines if obj else []

    def get_actions(self, request):
        actions = super().get_actions(request)
        # A bulk delete would skip dropping schemas; workspaces are deleted one by one.
        actions.pop("delete_selected", None)
        return actions

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
        self.message_user(
            request,
            format_html(
                _("Workspace ready at {}. An invitation was emailed to {}; set-password link: {}"),
                workspace_url(provisioned.tenant, "/admin/"),
                provisioned.owner.email,
                provisioned.set_password_url,
            ),
            messages.SUCCESS,
        )

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
        # Domains go with their workspace, though nobody may delete one on its own.
        perms_needed.discard(Domain._meta.verbose_name)
        return deleted, model_count, perms_needed, protected

    def delete_view(self, request, object_id, extra_context=None):
        tenant = self.get_object(request, object_id)
        if tenant is not None:
            extra_context = {
                **(extra_context or {}),
                "workspace": tenant,
                "workspace_contents": workspace_contents(tenant),
                "workspace_domains": [d.domain for d in tenant.domains.all()],
            }
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

    @action(description=_("Suspend"), url_path="suspend", permissions=["change"])
    def suspend_detail(self, request, object_id):
        return self._status_change(request, object_id, tenant_suspend, _("suspended"))

    @action(description=_("Reactivate"), url_path="reactivate", permissions=["change"])
    def reactivate_detail(self, request, object_id):
        return self._status_change(request, object_id, tenant_reactivate, _("reactivated"))

    @action(
        description=_("Resend owner invitation"),
        url_path="resend-invitation",
        permissions=["change"],
    )
    def resend_invitation_detail(self, request, object_id):
        tenant = self.get_object(request, object_id)
        link = tenant_owner_invitation_resend(tenant=tenant)
        self.message_user(
            request,
            _("Invitation sent to %(email)s. Link: %(link)s")
            % {"email": tenant.owner_email, "link": link},
            messages.SUCCESS,
        )
        return redirect(reverse("admin:tenants_tenant_change", args=[object_id]))

    def _status_change(self, request, object_id, service, verb):
        tenant = self.get_object(request, object_id)
        try:
            service(tenant=tenant)
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
        else:
            self.message_user(
                request, _("Workspace “%(name)s” %(verb)s.") % {"name": tenant.name, "verb": verb}
            )
        return redirect(reverse("admin:tenants_tenant_change", args=[object_id]))


@admin.register(Domain)
class DomainAdmin(ModelAdmin):
    list_display = ["domain", "tenant", "is_primary"]
    list_filter = ["is_primary"]
    search_fields = ["domain", "tenant__name"]
    list_select_related = ["tenant"]
    readonly_fields = ["domain", "tenant", "is_primary"]

    def has_add_permission(self, request):
        # Workspace domains are created with the workspace.
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
