from django.conf import settings
from django.contrib import admin, messages
from django.contrib.auth.models import Group
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.decorators import action, display

from engagex.accounts import roles
from engagex.accounts.forms import InvitationCreateForm, MemberChangeForm, PlatformUserCreateForm
from engagex.accounts.models import Invitation, Role, User, WorkspaceSecurity
from engagex.accounts.selectors import workspace_security_get
from engagex.accounts.services import PERSON_ACTOR_EMAIL, user_update
from engagex.accounts.services.invitations import (
    invitation_create,
    invitation_resend,
    invitation_revoke,
)
from engagex.accounts.services.security import workspace_security_update
from engagex.core.admin import (
    ReadOnlyModelAdmin,
    ServiceErrorsAdminMixin,
    change_page_badge,
    confirm_response,
)
from engagex.core.sites import workspace_site

admin.site.unregister(Group)


class MemberAdmin(ServiceErrorsAdminMixin, ModelAdmin):
    """Team members of one workspace. New members join by invitation."""

    list_display = ["email", "full_name", "role", "mfa", "is_active", "last_login", "date_joined"]
    list_filter = ["is_active", "groups"]
    search_fields = ["email", "full_name"]
    ordering = ["email"]
    readonly_fields = ["email", "last_login", "date_joined"]
    fields = ["email", "full_name", "role", "is_active", "last_login", "date_joined"]
    form = MemberChangeForm
    # What each role may do, above the list of members.
    list_before_template = "admin/accounts/user/roles_summary.html"

    def get_queryset(self, request):
        # The preference centre's stand-in (audit entries of people's own requests) is no one.
        queryset = super().get_queryset(request).exclude(email=PERSON_ACTOR_EMAIL)
        return queryset.prefetch_related("groups", "authenticator_set")

    def add_view(self, request, form_url="", extra_context=None):
        # "Add member" means inviting them: they choose their own password.
        if not request.user.has_perm("accounts.add_invitation"):
            raise PermissionDenied
        return redirect("admin:accounts_invitation_add")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        # "Add another" would lead to an invitation, not to another member: not offered here.
        extra_context = {**(extra_context or {}), "show_save_and_add_another": False}
        return super().change_view(request, object_id, form_url, extra_context)

    def has_delete_permission(self, request, obj=None):
        # Members are deactivated, never deleted: their history stays.
        return False

    def changelist_view(self, request, extra_context=None):
        extra_context = {
            **(extra_context or {}),
            "role_rows": [(role, roles.ROLE_DESCRIPTIONS[role]) for role in roles.ROLES],
        }
        return super().changelist_view(request, extra_context)

    @display(description=_("Role"))
    def role(self, obj):
        names = [group.name for group in obj.groups.all() if group.name in roles.ROLES]
        return ", ".join(names) or "—"

    @display(description=_("Two-factor"), boolean=True)
    def mfa(self, obj):
        return any(a.type == "totp" for a in obj.authenticator_set.all())

    def save_model(self, request, obj, form, change):
        # The service refuses (last Owner, Owner-only grants, seats); the mixin shows why.
        data = form.cleaned_data
        user_update(
            user=obj,
            full_name=data["full_name"],
            role=data["role"],
            is_active=data["is_active"],
            actor=request.user,
        )

    def save_related(self, request, form, formsets, change):
        # Roles are set by the service; the form has no many-to-many fields of its own.
        pass


class InvitationAdmin(ServiceErrorsAdminMixin, ModelAdmin):
    """Invite people by email with a role; resend or revoke pending invitations."""

    form = InvitationCreateForm
    list_display = ["email", "role", "status_badge", "invited_by", "sent_at", "expires_at"]
    list_filter = ["role"]
    search_fields = ["email"]
    list_select_related = ["invited_by", "accepted_by"]
    actions_detail = ["resend_detail", "revoke_detail"]
    readonly = [
        "email", "role", "status_detail", "invited_by", "created_at", "sent_at", "send_count",
        "expires_at", "accepted_at", "accepted_by", "revoked_at",
    ]  # fmt: skip

    def get_fields(self, request, obj=None):
        return ["email", "role"] if obj is None else self.readonly

    def get_readonly_fields(self, request, obj=None):
        return self.readonly if obj else []

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @display(
        description=_("Status"),
        label={"pending": "info", "accepted": "success", "revoked": "danger", "expired": "warning"},
    )
    def status_badge(self, obj):
        return obj.status, obj.Status(obj.status).label

    status_detail = change_page_badge(status_badge)

    def save_model(self, request, obj, form, change):
        invitation, link = invitation_create(
            email=form.cleaned_data["email"], role=form.cleaned_data["role"], actor=request.user
        )
        obj.pk = invitation.pk
        self.message_user(
            request,
            _("Invitation emailed to %(email)s. The link works once and expires in %(days)s days.")
            % {"email": invitation.email, "days": settings.INVITATION_TTL_DAYS},
            messages.SUCCESS,
        )

    def add_view(self, request, form_url="", extra_context=None):
        # One button: "Save" sends the invitation and returns to the list.
        extra_context = {
            **(extra_context or {}),
            "show_save_and_add_another": False,
            "show_save_and_continue": False,
        }
        return super().add_view(request, form_url, extra_context)

    def response_add(self, request, obj, post_url_continue=None):
        return redirect("admin:accounts_invitation_changelist")

    def _open(self, object_id):
        return Invitation.objects.filter(
            pk=object_id, accepted_at__isnull=True, revoked_at__isnull=True
        ).exists()

    def has_resend_detail_permission(self, request, object_id=None):
        if not request.user.has_perm("accounts.add_invitation"):
            return False
        return object_id is None or self._open(object_id)

    def has_revoke_detail_permission(self, request, object_id=None):
        return self.has_resend_detail_permission(request, object_id)

    @action(description=_("Resend"), url_path="resend", permissions=["resend_detail"])
    def resend_detail(self, request, object_id):
        invitation = self.get_object(request, object_id)
        back = reverse("admin:accounts_invitation_change", args=[object_id])
        if request.method != "POST":
            return confirm_response(
                self, request, title=_("Resend the invitation to %(email)s?")
                % {"email": invitation.email},
                text=_("A new link is emailed and the old one stops working. It is valid for "
                       "%(days)s days.") % {"days": settings.INVITATION_TTL_DAYS},
                cancel_url=back, submit_label=_("Resend"),
            )  # fmt: skip
        try:
            invitation_resend(invitation=invitation, actor=request.user)
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
        else:
            self.message_user(request, _("Invitation sent again."), messages.SUCCESS)
        return redirect(back)

    @action(description=_("Revoke"), url_path="revoke", permissions=["revoke_detail"])
    def revoke_detail(self, request, object_id):
        invitation = self.get_object(request, object_id)
        back = reverse("admin:accounts_invitation_change", args=[object_id])
        if request.method != "POST":
            return confirm_response(
                self, request, title=_("Revoke the invitation to %(email)s?")
                % {"email": invitation.email},
                text=_("The emailed link stops working at once and the seat is freed."),
                cancel_url=back, submit_label=_("Revoke"), danger=True,
            )  # fmt: skip
        try:
            invitation_revoke(invitation=invitation, actor=request.user)
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
        else:
            self.message_user(request, _("Invitation revoked."), messages.SUCCESS)
        return redirect(back)


class WorkspaceSecurityAdmin(ModelAdmin):
    """Sign-in rules of the workspace (Owners change them)."""

    fields = ["require_mfa"]

    def _is_owner(self, request):
        return roles.is_owner(request.user)

    def has_view_permission(self, request, obj=None):
        return self._is_owner(request)

    def has_change_permission(self, request, obj=None):
        return self._is_owner(request)

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        if not self._is_owner(request):
            raise PermissionDenied
        security = workspace_security_get()
        if security.pk is None:
            security.save()
        return redirect("admin:accounts_workspacesecurity_change", security.pk)

    def save_model(self, request, obj, form, change):
        workspace_security_update(require_mfa=form.cleaned_data["require_mfa"])


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
workspace_site.register(Invitation, InvitationAdmin)
workspace_site.register(WorkspaceSecurity, WorkspaceSecurityAdmin)
