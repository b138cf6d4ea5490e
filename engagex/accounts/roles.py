"""Workspace roles: Django groups whose permissions follow from the app each model lives in.

Apps that later releases add (contacts, campaigns, ...) fall into their place by app label,
so `roles_sync` after a migration gives every role the permissions of the new models.
"""

from django.utils.translation import gettext_lazy as _

UNKNOWN_ROLE = _("Unknown role “{role}”: choose Owner, Admin, Marketer or Viewer.")

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

MARKETING_APPS = {
    "contacts",
    "email_templates",
    "campaigns",
    "analytics",
    "segments",
    "import_export",
    "subscriptions",
}
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


def role_rank(role: str | None) -> int:
    """Owner 3, Admin 2, Marketer 1, Viewer 0; no role (or an unknown one) -1."""
    return len(ROLES) - 1 - ROLES.index(role) if role in ROLES else -1


def role_lower(first: str | None, second: str | None) -> str | None:
    """The lesser of two roles; None when either is None."""
    if first not in ROLES or second not in ROLES:
        return None
    return first if role_rank(first) <= role_rank(second) else second


def role_of(actor) -> str | None:
    """The role `actor` acts with in the current workspace, or None.

    A member acts with their highest role group (None once deactivated); a platform
    superuser counts as an Owner. Anything else that acts (an API key's principal) says
    itself through its `acting_role`: its own role capped by its creator's current one.
    Remembered on the member object (one per request): a page asks several times.
    """
    if actor is None:
        return None
    if hasattr(actor, "acting_role"):
        return actor.acting_role
    if not actor.is_active:
        return None
    if actor.is_superuser:
        return OWNER
    if not hasattr(actor, "_engagex_role"):
        names = set(actor.groups.filter(name__in=ROLES).values_list("name", flat=True))
        actor._engagex_role = next((role for role in ROLES if role in names), None)
    return actor._engagex_role


def role_forget(user) -> None:
    """Drop what `role_of` remembered about `user` (after their role changed)."""
    user.__dict__.pop("_engagex_role", None)


def member_of(actor):
    """The member behind `actor`: the member themself, or the person who created the API key."""
    return actor.user if hasattr(actor, "acting_role") else actor


def is_owner(user) -> bool:
    """Whether `user` acts as an active Owner of the current workspace (an API key: its
    role capped by its creator's current role)."""
    return role_of(user) == OWNER
