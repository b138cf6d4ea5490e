"""Callbacks of the console sidebars (`navigation`): the unread badge and who sees which item."""

from engagex.accounts.roles import is_owner
from engagex.notifications.selectors import notification_unread_count


def unread_notifications_badge(request) -> int | None:
    """The unread count on the bell, or None (no badge); counted once per request."""
    if not request.user.is_authenticated:
        return None
    if not hasattr(request, "_engagex_unread_notifications"):
        # The sidebar asks twice per item (is there a badge? which number?), on every page.
        request._engagex_unread_notifications = notification_unread_count(user=request.user)
    return request._engagex_unread_notifications or None


def can_view_team(request) -> bool:
    return request.user.has_perm("accounts.view_user")


def can_view_roles(request) -> bool:
    return request.user.has_perm("accounts.view_role")


def can_manage_security(request) -> bool:
    return is_owner(request.user)


def can_manage_api_keys(request) -> bool:
    return request.user.has_perm("api.view_apikey")


def can_view_audit_log(request) -> bool:
    return request.user.has_perm("admin.view_logentry")


def can_manage_billing(request) -> bool:
    return is_owner(request.user)
