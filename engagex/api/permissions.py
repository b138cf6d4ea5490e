from django.utils.translation import gettext_lazy as _
from rest_framework.permissions import BasePermission, DjangoModelPermissions

from engagex.accounts import roles


class RolePermissions(DjangoModelPermissions):
    """Django model permissions (reads need `view`); actions may name their own permission.

    A view sets `action_permissions = {"send": ["campaigns.send_campaign"], ...}` for custom
    actions; views without a queryset set `required_permissions`.
    """

    perms_map = {
        "GET": ["%(app_label)s.view_%(model_name)s"],
        "OPTIONS": [],
        "HEAD": ["%(app_label)s.view_%(model_name)s"],
        "POST": ["%(app_label)s.add_%(model_name)s"],
        "PUT": ["%(app_label)s.change_%(model_name)s"],
        "PATCH": ["%(app_label)s.change_%(model_name)s"],
        "DELETE": ["%(app_label)s.delete_%(model_name)s"],
    }

    def has_permission(self, request, view):
        user = request.user
        if not user or not user.is_authenticated:
            return False
        action_perms = getattr(view, "action_permissions", {}).get(getattr(view, "action", None))
        if action_perms is not None:
            return user.has_perms(action_perms)
        required = getattr(view, "required_permissions", None)
        if required is not None:
            return user.has_perms(required)
        return super().has_permission(request, view)


class OwnerOnly(BasePermission):
    """Owners only (an API key: its role capped by its creator's current role is Owner)."""

    message = _("Only workspace Owners can see billing and subscription data.")

    def has_permission(self, request, view):
        user = request.user
        return bool(user and user.is_authenticated and roles.is_owner(user))
