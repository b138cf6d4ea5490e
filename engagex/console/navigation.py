"""The sidebars of the two consoles: their groups and items in order, and who sees each.

The UNFOLD settings name `platform_navigation` and `workspace_navigation` by dotted path;
unfold imports and calls them with the request on each page, so the settings import no
product code. Links are `reverse_lazy`: each resolves when a page renders, in that console's
URLs. An item some roles may not open names its permission callback from `callbacks`.
"""

from typing import Any

from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

from engagex.console import callbacks

# unfold calls a badge with the request only when it is a dotted path (a template would call a
# callable without it).
UNREAD_BADGE = "engagex.console.callbacks.unread_notifications_badge"


def _item(title, icon, link, permission=None, badge=None) -> dict[str, Any]:
    item = {"title": title, "icon": icon, "link": link}
    if permission:
        item["permission"] = permission
    if badge:
        item["badge"] = badge
    return item


def _notifications_item():
    """Notifications, with the unread count as badge (the console drops it at zero)."""
    return _item(
        _("Notifications"),
        "notifications",
        reverse_lazy("admin:notifications_notification_changelist"),
        badge=UNREAD_BADGE,
    )


def _two_factor_item():
    """Each person's own authenticator app and recovery codes (allauth's MFA pages)."""
    return _item(_("Two-factor login"), "phonelink_lock", reverse_lazy("mfa_index"))


PLATFORM = [
    {
        "title": _("Platform"),
        "items": [
            _item(_("Dashboard"), "dashboard", reverse_lazy("admin:index")),
            _item(_("Workspaces"), "apartment", reverse_lazy("admin:tenants_tenant_changelist")),
            _item(_("Domains"), "language", reverse_lazy("admin:tenants_domain_changelist")),
            _item(
                _("Platform users"),
                "shield_person",
                reverse_lazy("admin:accounts_user_changelist"),
            ),
            _notifications_item(),
            _two_factor_item(),
        ],
    },
    {
        "title": _("Billing"),
        "items": [
            _item(
                _("Subscriptions"),
                "credit_card",
                reverse_lazy("admin:billing_billingaccount_changelist"),
            ),
            _item(_("Plans"), "sell", reverse_lazy("admin:billing_plan_changelist")),
            _item(
                _("Plan changes"), "history", reverse_lazy("admin:billing_planchange_changelist")
            ),
            _item(
                _("Usage periods"),
                "calendar_month",
                reverse_lazy("admin:billing_usageperiod_changelist"),
            ),
            _item(_("Stripe events"), "webhook", reverse_lazy("admin:djstripe_event_changelist")),
        ],
    },
    {
        "title": _("Task queue"),
        "collapsible": True,
        "items": [
            _item(_("Scheduled"), "schedule", reverse_lazy("admin:django_q_schedule_changelist")),
            _item(_("Queued"), "pending", reverse_lazy("admin:django_q_ormq_changelist")),
            _item(_("Successful"), "task_alt", reverse_lazy("admin:django_q_success_changelist")),
            _item(_("Failed"), "error", reverse_lazy("admin:django_q_failure_changelist")),
        ],
    },
]

WORKSPACE = [
    {
        "title": _("Overview"),
        "items": [
            _item(_("Dashboard"), "dashboard", reverse_lazy("admin:index")),
            _notifications_item(),
            _two_factor_item(),
        ],
    },
    {
        "title": _("Audience"),
        "items": [
            _item(_("Contacts"), "contacts", reverse_lazy("admin:contacts_contact_changelist")),
            _item(_("Lists"), "list_alt", reverse_lazy("admin:contacts_contactgroup_changelist")),
            _item(_("Imports"), "upload_file", reverse_lazy("admin:contacts_importjob_changelist")),
            _item(
                _("Sign-up forms"),
                "edit_note",
                reverse_lazy("admin:subscriptions_signupform_changelist"),
            ),
            _item(_("Segments"), "filter_alt", reverse_lazy("admin:segments_segment_changelist")),
            _item(
                _("Custom attributes"),
                "data_object",
                reverse_lazy("admin:contacts_attributedefinition_changelist"),
            ),
        ],
    },
    {
        "title": _("Email"),
        "items": [
            _item(_("Campaigns"), "campaign", reverse_lazy("admin:campaigns_campaign_changelist")),
            _item(
                _("Templates"),
                "draft",
                reverse_lazy("admin:email_templates_emailtemplate_changelist"),
            ),
            _item(
                _("Media library"),
                "photo_library",
                reverse_lazy("admin:email_templates_mediaasset_changelist"),
            ),
            _item(
                _("Brand kit"),
                "palette",
                reverse_lazy("admin:email_templates_brandkit_changelist"),
            ),
            _item(
                _("Analytics"),
                "monitoring",
                reverse_lazy("admin:campaigns_campaignrecipient_changelist"),
            ),
        ],
    },
    {
        "title": _("Settings"),
        "items": [
            _item(_("Domains"), "dns", reverse_lazy("admin:domains_sendingdomain_changelist")),
            _item(
                _("Team"),
                "group",
                reverse_lazy("admin:accounts_user_changelist"),
                permission=callbacks.can_view_team,
            ),
            _item(
                _("Invitations"),
                "person_add",
                reverse_lazy("admin:accounts_invitation_changelist"),
                permission=callbacks.can_view_team,
            ),
            _item(
                _("Roles"),
                "badge",
                reverse_lazy("admin:accounts_role_changelist"),
                permission=callbacks.can_view_roles,
            ),
            _item(
                _("Security"),
                "lock",
                reverse_lazy("admin:accounts_workspacesecurity_changelist"),
                permission=callbacks.can_manage_security,
            ),
            _item(
                _("API keys"),
                "key",
                reverse_lazy("admin:api_apikey_changelist"),
                permission=callbacks.can_manage_api_keys,
            ),
            _item(
                _("Audit log"),
                "history",
                reverse_lazy("admin:admin_logentry_changelist"),
                permission=callbacks.can_view_audit_log,
            ),
            _item(
                _("Billing"),
                "credit_card",
                reverse_lazy("admin:billing"),
                permission=callbacks.can_manage_billing,
            ),
        ],
    },
]


def platform_navigation(request) -> list[dict[str, Any]]:
    """UNFOLD["SIDEBAR"]["navigation"]: unfold copies the list before it fills it in."""
    return PLATFORM


def workspace_navigation(request) -> list[dict[str, Any]]:
    """UNFOLD_WORKSPACE["SIDEBAR"]["navigation"]."""
    return WORKSPACE
