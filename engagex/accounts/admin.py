from django.contrib import admin, messages
from django.contrib.auth.models import Group
from django.db.models import Count
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.decorators import display

from engagex.accounts import roles
from engagex.accounts.forms import MemberChangeForm, MemberCreateForm, PlatformUserCreateForm
from engagex.accounts.models import Role, User
from engagex.accounts.services import (
    member_invitation_send,
    user_create,
    user_set_password_path,
    user_update,
)
from engagex.core.admin import ReadOnlyModelAdmin
from engagex.core.admin_callbacks import workspace_title
from engagex.core.sites import workspace_site

admin.site.unregister(Group)


class MemberAdmin(ModelAdmin):
    """Team members of one workspace."""

    list_display = ["email", "full_name", "role", "is_active", "last_login", "date_joined"]
    list_filter = ["is_active", "groups"]
    search_fields = ["email", "full_name"]
    ordering = ["email"]
    readonly_fields = ["email", "last_login", "date_joined"]

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    def get_form(self, request, obj=None, **kwargs):
        kwargs["form"] = MemberChangeForm if obj else MemberCreateForm
        form = super().get_form(request, obj, **kwargs)
        form.actor = request.user
        return form

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["email", "full_name", "role"]
        return ["email", "full_name", "role", "is_active", "last_login", "date_joined"]

    def get_readonly_fields(self, request, obj=None):
        return self.readonly_fields if obj else []

    def has_delete_permission(self, request, obj=None):
        # Members are deactivated, never deleted: their history stays.
        return False

    @display(description=_("Role"))
    def role(self, obj):
        names = [group.name for group in obj.groups.all() if group.name in roles.ROLES]
        return ", ".join(names) or "—"

    def save_model(self, request, obj, form, change):
        data = form.cleaned_data
        if change:
            user_update(
                user=obj,
                full_name=data["full_name"],
                role=data["role"],
                is_active=data["is_active"],
                actor=request.user,
            )
            return
        created = user_create(
            email=data["email"], full_name=data["full_name"], role=data["role"], actor=request.user
        )
        obj.pk = created.pk
        link = request.build_absolute_uri(user_set_password_path(user=created))
        member_invitation_send(user=created, link=link, workspace_name=workspace_title(request))
        self.message_user(
            request,
            format_html(
                _(
                    "An invitation was emailed to {}. Their "
                    '<a href="{}" class="underline">set-password link</a> works once.'
                ),
                created.email,
                link,
            ),
            messages.SUCCESS,
        )

    def save_related(self, request, form, formsets, change):
        # Roles are set by the service; the form has no many-to-many fields of its own.
        pass


class RoleAdmin(ReadOnlyModelAdmin):
    """The four workspace roles, read-only: what each one may do."""

    list_display = ["name", "description", "members", "permission_count"]
    fields = ["name", "description", "permission_list"]
    readonly_fields = fields

    def get_queryset(self, request):
        return (
            super()
            .get_queryset(request)
            .filter(name__in=roles.ROLES)
            .annotate(
                member_count=Count("user", distinct=True),
                perm_count=Count("permissions", distinct=True),
            )
        )

    @display(description=_("What this role can do"))
    def description(self, obj):
        return roles.ROLE_DESCRIPTIONS.get(obj.name, "")

    @display(description=_("Members"))
    def members(self, obj):
        return obj.member_count

    @display(description=_("Permissions"))
    def permission_count(self, obj):
        return obj.perm_count

    @display(description=_("Permissions"))
    def permission_list(self, obj):
        return ", ".join(
            perm.name for perm in obj.permissions.order_by("content_type__app_label", "codename")
        )


class PlatformUserAdmin(ModelAdmin):
    """Platform superusers: people who run EngageX itself."""

    list_display = ["email", "full_name", "is_superuser", "is_active", "last_login"]
    list_filter = ["is_superuser", "is_active"]
    search_fields = ["email", "full_name"]
    ordering = ["email"]
    readonly_fields = ["last_login", "date_joined"]

    def get_form(self, request, obj=None, **kwargs):
        if obj is None:
            kwargs["form"] = PlatformUserCreateForm
        return super().get_form(request, obj, **kwargs)

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["email", "full_name", "password"]
        return ["email", "full_name", "is_active", "is_superuser", "last_login", "date_joined"]

    def save_model(self, request, obj, form, change):
        if not change:
            obj.set_password(form.cleaned_data["password"])
            obj.is_superuser = True
            obj.is_staff = True
        super().save_model(request, obj, form, change)


admin.site.register(User, PlatformUserAdmin)
workspace_site.register(User, MemberAdmin)
workspace_site.register(Role, RoleAdmin)
