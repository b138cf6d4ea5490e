"""Walk both admin registries: for every registered admin, make a row and open its
changelist, search, add and change pages as the console's user."""

from typing import NamedTuple

import pytest
from django.contrib.admin.utils import quote
from django.test import Client, RequestFactory
from django.urls import reverse
from django_tenants.test.client import TenantClient
from django_tenants.utils import schema_context

from engagex.accounts import roles
from tests.factories.registry import PLATFORM_ROWS, WORKSPACE_ROWS
from tests.fixtures.tenants import logged_in_client


def admin_sites():
    """The platform console's site and the workspace console's site, in that order.

    The one place this suite says where the sites live: repoint it when they move.
    """
    from django.contrib import admin

    from engagex.core.sites import workspace_site

    return admin.site, workspace_site


PLATFORM_SITE, WORKSPACE_SITE = admin_sites()


def _registered(site):
    return [
        pytest.param(model_admin, id=model._meta.label)
        for model, model_admin in site._registry.items()
    ]


@pytest.mark.parametrize("model_admin", _registered(PLATFORM_SITE))
def test_platform_admin_pages_render_for_superuser(platform_client, platform_admin, model_admin):
    row = _make_row(PLATFORM_ROWS, model_admin, platform_admin, "platform")

    _assert_pages_render(platform_client, model_admin, row, "config.urls_public")


@pytest.mark.parametrize("model_admin", _registered(PLATFORM_SITE))
def test_platform_admin_pages_redirect_anonymous_to_login(db, model_admin):
    changelist = _admin_url(model_admin, "changelist", urlconf="config.urls_public")

    response = Client(HTTP_HOST="localhost").get(changelist)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize("model_admin", _registered(WORKSPACE_SITE))
def test_workspace_admin_pages_render_for_owner(tenant, owner, owner_client, model_admin):
    with schema_context(tenant.schema_name):
        row = _make_row(WORKSPACE_ROWS, model_admin, owner, "workspace")

    _assert_pages_render(owner_client, model_admin, row, "config.urls_tenants")


@pytest.mark.parametrize("model_admin", _registered(WORKSPACE_SITE))
def test_workspace_admin_pages_redirect_anonymous_to_login(tenant, model_admin):
    changelist = _admin_url(model_admin, "changelist", urlconf="config.urls_tenants")

    response = TenantClient(tenant).get(changelist)

    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


def test_the_row_registry_covers_exactly_the_registered_admins():
    def labels(models):
        return sorted(model._meta.label for model in models)

    assert labels(PLATFORM_ROWS) == labels(PLATFORM_SITE._registry)
    assert labels(WORKSPACE_ROWS) == labels(WORKSPACE_SITE._registry)


def test_viewer_cannot_open_team_add_page_or_post_a_member(tenant, make_member):
    viewer = make_member(roles.VIEWER)
    client = logged_in_client(tenant, viewer)
    add = reverse("admin:accounts_user_add", urlconf="config.urls_tenants")

    assert client.get(add).status_code == 403
    response = client.post(add, {"email": "sneaky@alpha.example", "role": roles.OWNER})

    assert response.status_code == 403
    with schema_context(tenant.schema_name):
        from engagex.accounts.models import User

        assert not User.objects.filter(email="sneaky@alpha.example").exists()


def test_workspace_dashboard_shows_every_sidebar_section(owner_client):
    body = owner_client.get("/admin/").content.decode()

    for title in ["Contacts", "Campaigns", "Templates", "Analytics", "Domains", "Team", "Billing"]:
        assert title in body
    assert "Alpha Corp" in body


def _request_for(user):
    request = RequestFactory().get("/")
    request.user = user
    return request


class _Row(NamedTuple):
    """What the pages of a new row need, read where the row lives (a workspace's schema)."""

    pk: str
    search: str  # a term from the row, so the search usually has a hit to render
    can_add: bool


def _make_row(rows, model_admin, user, console) -> _Row:
    model = model_admin.model
    if model not in rows:
        pytest.fail(
            f"{model._meta.label} has an admin on the {console} console but no row factory: "
            "add one to tests/factories/registry.py"
        )
    row = rows[model](user)
    can_add = model_admin.has_add_permission(_request_for(user))
    return _Row(pk=quote(row.pk), search=str(row)[:40], can_add=can_add)


def _assert_pages_render(client, model_admin, row: _Row, urlconf):
    """Changelist, search, add (or its refusal) and the row's change page, as `client`."""
    changelist = _admin_url(model_admin, "changelist", urlconf=urlconf)
    add = _admin_url(model_admin, "add", urlconf=urlconf)
    change = _admin_url(model_admin, "change", row.pk, urlconf=urlconf)

    listed = _get(client, changelist)
    assert listed.status_code == 200
    if not listed.redirect_chain:  # the list shows the row, linked to its change page
        assert f'href="{change}' in listed.content.decode()
    if model_admin.search_fields:
        assert _get(client, changelist, {"q": row.search}).status_code == 200
    assert _get(client, add).status_code == (200 if row.can_add else 403)
    assert client.get(change).status_code == 200


def _get(client, url, data=None):
    """GET, following redirects to other admin pages (Team → Add member invites; Security
    opens its one row), never to a login page."""
    response = client.get(url, data, follow=True)
    for location, _ in response.redirect_chain:
        assert location.startswith("/admin/"), location
        assert not location.startswith("/admin/login/"), location
    return response


def _admin_url(model_admin, page, *args, urlconf):
    opts = model_admin.model._meta
    return reverse(f"admin:{opts.app_label}_{opts.model_name}_{page}", args=args, urlconf=urlconf)
