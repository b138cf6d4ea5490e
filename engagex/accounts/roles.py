"""Workspace roles: Django groups whose permissions follow from the app each model lives in.

Apps that later releases add (contacts, campaigns, ...) fall into their place by app label,
so `roles_sync` after a migration gives every role the permissions of the new models.
"""

from django.utils.translation import gettext_lazy as _

OWNER = "Owner"
ADMIN = "Admin"
MARKETER = "Marketer"
VIEWER = "Viewer"
ROLES = [OWNER, ADMIN, MARKETER, VIEWER]

ROLE_DESCRIPTIONS = {
    OWNER: _("Everything, including billing and removing other owners."),
    ADMIN: _("Everything except billing: also team members and sender domains."),
    MARKETER: _(
        "Contacts, groups, imports, exports, templates and campaigns; reads analytics, the "
        "team and sender domains."
    ),
    VIEWER: _("Reads everything they can see; changes and exports nothing."),
}

MARKETING_APPS = {"contacts", "email_templates", "campaigns", "analytics", "import_export"}
TEAM_APPS = {"accounts", "auth"}
SETTINGS_APPS = {"domains", "api"}
BILLING_APPS = {"billing"}
# Everyone manages their own notifications; the admin shows each person only theirs.
PERSONAL_APPS = {"notifications"}
AUDIT_APPS = {"admin"}
# Downloading personal data (contacts.export_contact) is a right of its own, not "view".
EXPORTING_ROLES = {OWNER, ADMIN, MARKETER}


def role_grants(role: str, app_label: str, action: str) -> bool:
    """Say whether `role` gets the `action` ("view", "add", ...) permission in `app_label`."""
    if app_label in PERSONAL_APPS:
        return action in {"view", "change"}
    if action == "export":
        return role in EXPORTING_ROLES and app_label in MARKETING_APPS
    workspace_apps = MARKETING_APPS | TEAM_APPS | SETTINGS_APPS | BILLING_APPS
    if role == OWNER:
        return app_label in workspace_apps or (app_label in AUDIT_APPS and action == "view")
    if role == ADMIN:
        return app_label in MARKETING_APPS | TEAM_APPS | SETTINGS_APPS
    if role == MARKETER:
        if app_label in MARKETING_APPS:
            return True
        return action == "view" and app_label in {"accounts", "domains"}
    if role == VIEWER:
        return action == "view" and app_label in MARKETING_APPS | {"accounts", "domains"}
    return False


def is_owner(user) -> bool:
    """Whether `user` is an active Owner of the current workspace.

    Remembered on the user object (one per request): an admin page asks several times.
    """
    if not user.is_active:
        return False
    if user.is_superuser:
        return True
    if not hasattr(user, "_engagex_is_owner"):
        user._engagex_is_owner = user.groups.filter(name=OWNER).exists()
    return user._engagex_is_owner
