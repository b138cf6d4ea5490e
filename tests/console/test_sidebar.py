"""What each console's sidebar shows, group by group, in order: per workspace role and on the
platform (`engagex.console.navigation`); hidden items are the ones a role may not open."""

import re

import pytest

from engagex.accounts import roles
from tests.fixtures.tenants import logged_in_client

OVERVIEW = ["Dashboard", "Notifications", "Two-factor login"]
AUDIENCE = ["Contacts", "Lists", "Imports", "Sign-up forms", "Segments", "Custom attributes"]
EMAIL = ["Campaigns", "Templates", "Media library", "Brand kit", "Analytics"]
TEAM = ["Domains", "Team", "Invitations", "Roles"]
SETTINGS = {
    roles.OWNER: [*TEAM, "Security", "API keys", "Audit log", "Billing"],
    roles.ADMIN: [*TEAM, "API keys"],
    roles.MARKETER: TEAM,
    roles.VIEWER: TEAM,
}


def _sidebar(client) -> dict[str, list[str]]:
    """Group titles and the titles of the items shown under each (unfold's app_list.html)."""
    page = client.get("/admin/").content.decode()
    start = page.index('id="nav-sidebar-apps"')
    sidebar = page[start : page.index("</nav>", start)]
    groups: dict[str, list[str]] = {}
    for group, item in re.findall(
        r'<h2[^>]*>\s*([^<]*?)\s*<|<li>\s*<a href="[^"]*"[^>]*>.*?<span>([^<]*)</span>',
        sidebar,
        re.S,
    ):
        if group:
            groups[group] = []
        else:
            groups[list(groups)[-1]].append(item)
    return groups


@pytest.mark.parametrize("role", roles.ROLES)
def test_the_workspace_sidebar_shows_each_role_what_it_may_open(role, tenant, owner, make_member):
    user = owner if role == roles.OWNER else make_member(role)

    assert _sidebar(logged_in_client(tenant, user)) == {
        "Overview": OVERVIEW,
        "Audience": AUDIENCE,
        "Email": EMAIL,
        "Settings": SETTINGS[role],
    }


def test_the_sidebar_speaks_the_readers_language(owner_client, platform_client):
    owner_client.cookies["django_language"] = "de"
    platform_client.cookies["django_language"] = "de"

    workspace = _sidebar(owner_client)
    platform = _sidebar(platform_client)

    assert list(workspace) == ["Übersicht", "Zielgruppe", "E-Mail", "Einstellungen"]
    assert workspace["Einstellungen"][-2:] == ["Änderungsprotokoll", "Abrechnung"]
    assert list(platform) == ["Plattform", "Abrechnung", "Aufgabenwarteschlange"]


def test_the_platform_sidebar_shows_workspaces_billing_and_the_task_queue(platform_client):
    assert _sidebar(platform_client) == {
        "Platform": [
            "Dashboard",
            "Workspaces",
            "Domains",
            "Platform users",
            *OVERVIEW[1:],
        ],
        "Billing": ["Subscriptions", "Plans", "Plan changes", "Usage periods", "Stripe events"],
        "Task queue": ["Scheduled", "Queued", "Successful", "Failed"],
    }
