"""django-unfold console configuration: one dict for the platform, one for workspaces.

The sidebars, dashboards and callbacks live in `engagex.console`; these dicts name them by
dotted path, so the settings import no product code.
"""

from django.templatetags.static import static
from django.utils.translation import gettext_lazy as _

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
        "navigation": "engagex.console.navigation.platform_navigation",
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
        "navigation": "engagex.console.navigation.workspace_navigation",
    },
}
