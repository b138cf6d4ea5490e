"""django-unfold console configuration: one dict for the platform, one for workspaces."""

from django.templatetags.static import static
from django.urls import reverse_lazy
from django.utils.translation import gettext_lazy as _

CALLBACKS = "engagex.console.callbacks"

_FAVICONS = [
    {
        "rel": "icon",
        "sizes": "any",
        "type": "image/svg+xml",
        "href": lambda request: static("engagex/favicon.svg"),
    }
]
_COLORS = {
    "primary": {
        "50": "oklch(97.7% .014 264)",
        "100": "oklch(94.6% .033 264)",
        "200": "oklch(90.2% .063 264)",
        "300": "oklch(82.7% .119 264)",
        "400": "oklch(71.4% .170 264)",
        "500": "oklch(62.3% .214 259)",
        "600": "oklch(54.6% .245 262)",
        "700": "oklch(48.8% .243 264)",
        "800": "oklch(42.4% .199 265)",
        "900": "oklch(37.9% .146 265)",
        "950": "oklch(28.2% .091 267)",
    },
}


def _item(title, icon, link, permission=None, badge=None):
    item = {"title": title, "icon": icon, "link": link}
    if permission:
        item["permission"] = permission
    if badge:
        item["badge"] = badge
    return item


def notifications_item():
    """Notifications, with the unread count as badge (the console drops it at zero)."""
    return _item(
        _("Notifications"),
        "notifications",
        reverse_lazy("admin:notifications_notification_changelist"),
        badge=f"{CALLBACKS}.unread_notifications_badge",
    )


def _two_factor_item():
    """Each person's own authenticator app and recovery codes (allauth's MFA pages)."""
    return _item(_("Two-factor login"), "phonelink_lock", reverse_lazy("mfa_index"))


# The workspace console's class; `engagex.core.sites.workspace_site` builds it.
WORKSPACE_ADMIN_SITE = "engagex.console.sites.WorkspaceAdminSite"

UNFOLD = {
    "DASHBOARD_CALLBACK": "engagex.console.dashboards.platform_dashboard_callback",
    "SITE_TITLE": "EngageX Platform",
    "SITE_HEADER": "EngageX Platform",
    "SITE_SUBHEADER": _("Platform administration"),
    "SHOW_LANGUAGES": True,
    "SITE_SYMBOL": "hub",
    "SITE_URL": None,
    "SHOW_VIEW_ON_SITE": False,
    "COLORS": _COLORS,
    "SITE_FAVICONS": _FAVICONS,
    "STYLES": [lambda request: static("engagex/admin.css")],
    "SIDEBAR": {
        "show_search": True,
        "show_all_applications": False,
        "navigation": [
            {
                "title": _("Platform"),
                "items": [
                    _item(_("Dashboard"), "dashboard", reverse_lazy("admin:index")),
                    _item(
                        _("Workspaces"),
                        "apartment",
                        reverse_lazy("admin:tenants_tenant_changelist"),
                    ),
                    _item(
                        _("Domains"),
                        "language",
                        reverse_lazy("admin:tenants_domain_changelist"),
                    ),
                    _item(
                        _("Platform users"),
                        "shield_person",
                        reverse_lazy("admin:accounts_user_changelist"),
                    ),
                    notifications_item(),
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
                        _("Plan changes"),
                        "history",
                        reverse_lazy("admin:billing_planchange_changelist"),
                    ),
                    _item(
                        _("Usage periods"),
                        "calendar_month",
                        reverse_lazy("admin:billing_usageperiod_changelist"),
                    ),
                    _item(
                        _("Stripe events"),
                        "webhook",
                        reverse_lazy("admin:djstripe_event_changelist"),
                    ),
                ],
            },
            {
                "title": _("Task queue"),
                "collapsible": True,
                "items": [
                    _item(
                        _("Scheduled"),
                        "schedule",
                        reverse_lazy("admin:django_q_schedule_changelist"),
                    ),
                    _item(_("Queued"), "pending", reverse_lazy("admin:django_q_ormq_changelist")),
                    _item(
                        _("Successful"),
                        "task_alt",
                        reverse_lazy("admin:django_q_success_changelist"),
                    ),
                    _item(_("Failed"), "error", reverse_lazy("admin:django_q_failure_changelist")),
                ],
            },
        ],
    },
}

UNFOLD_WORKSPACE = {
    "DASHBOARD_CALLBACK": "engagex.console.dashboards.workspace_dashboard_callback",
    "SITE_TITLE": "engagex.core.tenancy.workspace_name",
    "SITE_HEADER": "engagex.core.tenancy.workspace_name",
    "SITE_SUBHEADER": _("EngageX workspace"),
    "SHOW_LANGUAGES": True,
    "SITE_SYMBOL": "mail",
    "SITE_URL": None,
    "SHOW_VIEW_ON_SITE": False,
    "COLORS": _COLORS,
    "SITE_FAVICONS": _FAVICONS,
    "STYLES": [lambda request: static("engagex/admin.css")],
    "SIDEBAR": {
        "show_search": True,
        "show_all_applications": False,
        "navigation": [
            {
                "title": _("Overview"),
                "items": [
                    _item(_("Dashboard"), "dashboard", reverse_lazy("admin:index")),
                    notifications_item(),
                    _two_factor_item(),
                ],
            },
            {
                "title": _("Audience"),
                "items": [
                    _item(
                        _("Contacts"),
                        "contacts",
                        reverse_lazy("admin:contacts_contact_changelist"),
                    ),
                    _item(
                        _("Lists"),
                        "list_alt",
                        reverse_lazy("admin:contacts_contactgroup_changelist"),
                    ),
                    _item(
                        _("Imports"),
                        "upload_file",
                        reverse_lazy("admin:contacts_importjob_changelist"),
                    ),
                    _item(
                        _("Sign-up forms"),
                        "edit_note",
                        reverse_lazy("admin:subscriptions_signupform_changelist"),
                    ),
                    _item(
                        _("Segments"),
                        "filter_alt",
                        reverse_lazy("admin:segments_segment_changelist"),
                    ),
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
                    _item(
                        _("Campaigns"),
                        "campaign",
                        reverse_lazy("admin:campaigns_campaign_changelist"),
                    ),
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
                    _item(
                        _("Domains"),
                        "dns",
                        reverse_lazy("admin:domains_sendingdomain_changelist"),
                    ),
                    _item(
                        _("Team"),
                        "group",
                        reverse_lazy("admin:accounts_user_changelist"),
                        permission=f"{CALLBACKS}.can_view_team",
                    ),
                    _item(
                        _("Invitations"),
                        "person_add",
                        reverse_lazy("admin:accounts_invitation_changelist"),
                        permission=f"{CALLBACKS}.can_view_team",
                    ),
                    _item(
                        _("Roles"),
                        "badge",
                        reverse_lazy("admin:accounts_role_changelist"),
                        permission=f"{CALLBACKS}.can_view_roles",
                    ),
                    _item(
                        _("Security"),
                        "lock",
                        reverse_lazy("admin:accounts_workspacesecurity_changelist"),
                        permission=f"{CALLBACKS}.can_manage_security",
                    ),
                    _item(
                        _("API keys"),
                        "key",
                        reverse_lazy("admin:api_apikey_changelist"),
                        permission=f"{CALLBACKS}.can_manage_api_keys",
                    ),
                    _item(
                        _("Audit log"),
                        "history",
                        reverse_lazy("admin:admin_logentry_changelist"),
                        permission=f"{CALLBACKS}.can_view_audit_log",
                    ),
                    _item(
                        _("Billing"),
                        "credit_card",
                        reverse_lazy("admin:billing"),
                        permission=f"{CALLBACKS}.can_manage_billing",
                    ),
                ],
            },
        ],
    },
}
