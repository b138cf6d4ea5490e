"""Callbacks the UNFOLD settings name by dotted path."""

from django.db import connection


def workspace_title(request) -> str:
    tenant = getattr(request, "tenant", None) or getattr(connection, "tenant", None)
    return getattr(tenant, "name", "") or "EngageX"


def unread_notifications_badge(request):
    from engagex.notifications.selectors import notification_unread_count

    if not request.user.is_authenticated:
        return None
    return notification_unread_count(user=request.user) or None


def can_view_team(request) -> bool:
    return request.user.has_perm("accounts.view_user")


def can_view_roles(request) -> bool:
    return request.user.has_perm("accounts.view_role")


def can_manage_security(request) -> bool:
    from engagex.accounts.roles import is_owner

    return is_owner(request.user)


def can_manage_api_keys(request) -> bool:
    return request.user.has_perm("api.view_apikey")


def can_view_audit_log(request) -> bool:
    return request.user.has_perm("admin.view_logentry")


def can_manage_billing(request) -> bool:
    from engagex.accounts.roles import is_owner

    return is_owner(request.user)
