import re

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse
from django_tenants.utils import schema_context

from engagex.accounts import roles
from engagex.api.models import ApiKey
from engagex.api.services import api_key_create
from engagex.core.audit import audit_parse
from tests.fixtures.tenants import logged_in_client


def _url(name, *args):
    return reverse(name, args=args, urlconf="config.urls_tenants")


def _audit(tenant):
    with schema_context(tenant.schema_name):
        return [
            (entry.user.email, audit_parse(entry), entry.object_repr)
            for entry in LogEntry.objects.select_related("user").order_by("pk")
        ]


def test_revoking_a_key_in_the_admin_asks_first_then_revokes_on_post(tenant, owner, owner_client):
    with schema_context(tenant.schema_name):
        key, _ = api_key_create(name="Zapier", role=roles.MARKETER, user=owner)
    url = reverse("admin:api_apikey_revoke_detail", args=[key.pk], urlconf="config.urls_tenants")

    page = owner_client.get(url)

    assert page.status_code == 200
    assert "Revoke “Zapier”?" in page.content.decode()
    with schema_context(tenant.schema_name):
        assert ApiKey.objects.get(pk=key.pk).revoked_at is None  # a GET only asks

    owner_client.post(url)

    with schema_context(tenant.schema_name):
        assert ApiKey.objects.get(pk=key.pk).revoked_at is not None


def _offered_roles(client):
    page = client.get(_url("admin:api_apikey_add")).content.decode()
    select = re.search(r'<select name="role".*?</select>', page, re.S).group(0)
    return re.findall(r'<option value="([^"]+)"', select)


def test_the_key_form_offers_only_roles_up_to_the_creators_own(tenant, owner_client, make_member):
    admin_client = logged_in_client(tenant, make_member(roles.ADMIN))

    assert _offered_roles(owner_client) == roles.ROLES
    assert _offered_roles(admin_client) == [roles.ADMIN, roles.MARKETER, roles.VIEWER]


def test_an_admin_cannot_mint_an_owner_key_in_the_console(tenant, make_member):
    admin_client = logged_in_client(tenant, make_member(roles.ADMIN))

    response = admin_client.post(_url("admin:api_apikey_add"), {"name": "Root", "role": "Owner"})

    assert response.status_code == 200  # the form again, with the error on the role
    assert "Select a valid choice" in response.content.decode()
    with schema_context(tenant.schema_name):
        assert not ApiKey.objects.exists()
        assert not LogEntry.objects.exists()


@pytest.mark.parametrize("role", [roles.MARKETER, roles.VIEWER])
def test_marketers_and_viewers_cannot_reach_api_keys(tenant, owner, make_member, role):
    with schema_context(tenant.schema_name):
        key, _ = api_key_create(name="Zapier", role=roles.MARKETER, user=owner)
    client = logged_in_client(tenant, make_member(role))

    listing = client.get(_url("admin:api_apikey_changelist"))
    add = client.post(_url("admin:api_apikey_add"), {"name": "Mine", "role": role})
    revoke = client.post(_url("admin:api_apikey_revoke_detail", key.pk))

    assert (listing.status_code, add.status_code, revoke.status_code) == (403, 403, 403)
    with schema_context(tenant.schema_name):
        assert list(ApiKey.objects.values_list("name", "revoked_at")) == [("Zapier", None)]


def test_creating_and_revoking_a_key_in_the_console_is_audited_once_each(
    tenant, owner, owner_client
):
    created = owner_client.post(_url("admin:api_apikey_add"), {"name": "CRM", "role": "Admin"})
    with schema_context(tenant.schema_name):
        key = ApiKey.objects.get()
    owner_client.post(_url("admin:api_apikey_revoke_detail", key.pk))
    page = owner_client.get(_url("admin:admin_logentry_changelist")).content.decode()

    assert created.status_code == 302
    assert _audit(tenant) == [
        (owner.email, ("key_created", "role Admin"), str(key)),
        (owner.email, ("key_revoked", "role Admin"), str(key)),
    ]
    assert "Created API key" in page
    assert "Revoked API key" in page


def test_an_admin_cannot_revoke_another_members_owner_key_but_can_revoke_their_own(
    tenant, owner, make_member
):
    admin = make_member(roles.ADMIN)
    with schema_context(tenant.schema_name):
        owner_key, _ = api_key_create(name="Billing sync", role=roles.OWNER, user=owner)
        own_key, _ = api_key_create(name="Mine", role=roles.ADMIN, user=admin)
        logged = LogEntry.objects.count()
    client = logged_in_client(tenant, admin)

    refused = client.post(_url("admin:api_apikey_revoke_detail", owner_key.pk), follow=True)
    allowed = client.post(_url("admin:api_apikey_revoke_detail", own_key.pk), follow=True)

    assert "Only an Owner can give the Owner role" in refused.content.decode()
    assert "Key revoked" in allowed.content.decode()
    with schema_context(tenant.schema_name):
        assert ApiKey.objects.get(pk=owner_key.pk).revoked_at is None
        assert ApiKey.objects.get(pk=own_key.pk).revoked_at is not None
        assert LogEntry.objects.count() == logged + 1  # only the revocation that happened


def test_a_demoted_owner_can_still_revoke_their_own_owner_key(tenant, owner, make_member):
    second = make_member(roles.OWNER, email="second.owner@alpha.example")
    with schema_context(tenant.schema_name):
        key, _ = api_key_create(name="Old", role=roles.OWNER, user=second)
        from engagex.accounts.services import user_update

        user_update(user=second, full_name="", role=roles.ADMIN, is_active=True)
    client = logged_in_client(tenant, second)

    client.post(_url("admin:api_apikey_revoke_detail", key.pk))

    with schema_context(tenant.schema_name):
        assert ApiKey.objects.get(pk=key.pk).revoked_at is not None


def test_a_keys_role_cannot_be_changed_in_the_console(tenant, owner, owner_client):
    with schema_context(tenant.schema_name):
        key, _ = api_key_create(name="Zapier", role=roles.VIEWER, user=owner)

    response = owner_client.post(
        _url("admin:api_apikey_change", key.pk), {"name": "Zapier", "role": roles.OWNER}
    )

    assert response.status_code == 403
    with schema_context(tenant.schema_name):
        assert ApiKey.objects.get(pk=key.pk).role == roles.VIEWER
