"""What an API key may do: its own role, capped by its creator's *current* role (issue 14).

The matrix crosses every key role with every creator role over one representative endpoint
per kind of right; a key whose role is above its creator's was made before the creator was
demoted (the only way such a key comes to exist: nobody mints a key above their own role).
"""

import pytest
from django.contrib.admin.models import LogEntry
from django_tenants.test.client import TenantClient
from django_tenants.utils import schema_context

from engagex.accounts import roles
from engagex.accounts.models import Invitation
from engagex.accounts.services import user_create, user_update
from engagex.api.models import ApiKey
from engagex.api.services import api_key_create
from engagex.campaigns.models import Campaign, CampaignRecipient
from engagex.contacts.models import Contact
from engagex.domains.models import SendingDomain
from tests.factories.campaigns import CampaignFactory
from tests.factories.contacts import ContactFactory
from tests.fixtures.tenants import logged_in_client

API = "/api/v1"
OW, A, M, V = roles.OWNER, roles.ADMIN, roles.MARKETER, roles.VIEWER
ORDER = [V, M, A, OW]  # lowest first: the test's own idea of rank, not the code's


def _lower(first, second):
    return first if ORDER.index(first) <= ORDER.index(second) else second


def _invite(role):
    def call(client, ctx):
        return client.post(
            f"{API}/invitations/",
            {"email": "joiner@alpha.example", "role": role},
            content_type="application/json",
        )

    return call, lambda ctx: Invitation.objects.filter(email="joiner@alpha.example").count()


def _post(path, body, written):
    def call(client, ctx):
        return client.post(API + path, body, content_type="application/json")

    return call, written


def _send():
    def call(client, ctx):
        return client.post(f"{API}/campaigns/{ctx['campaign']}/send/")

    def written(ctx):
        return (
            CampaignRecipient.objects.filter(campaign_id=ctx["campaign"]).count(),
            Campaign.objects.get(pk=ctx["campaign"]).status,
        )

    return call, written


def _get(path):
    return (lambda client, ctx: client.get(API + path)), (lambda ctx: None)


# endpoint: (request, what it writes, expected status by *effective* role)
ENDPOINTS = {
    "invite Owner": (*_invite(OW), {OW: 201, A: 400, M: 403, V: 403}),
    "invite Admin": (*_invite(A), {OW: 201, A: 201, M: 403, V: 403}),
    "create domain": (
        *_post(
            "/domains/",
            {"domain": "keys.example.com"},
            lambda ctx: SendingDomain.objects.filter(domain="keys.example.com").count(),
        ),
        {OW: 201, A: 201, M: 403, V: 403},
    ),
    "create contact": (
        *_post(
            "/contacts/",
            {"email": "made-by-key@example.com"},
            lambda ctx: Contact.objects.filter(email="made-by-key@example.com").count(),
        ),
        {OW: 201, A: 201, M: 201, V: 403},
    ),
    "send campaign": (*_send(), {OW: 202, A: 202, M: 202, V: 403}),
    "read subscription": (*_get("/subscription/current/"), {OW: 200, A: 403, M: 403, V: 403}),
    "list members": (*_get("/users/"), {OW: 200, A: 200, M: 200, V: 200}),
}


def _key_of(tenant, key_role, creator_role, email="creator@keys.example"):
    """A key of `key_role` minted by a member who then came to hold `creator_role`."""
    with schema_context(tenant.schema_name):
        creator = user_create(email=email, role=key_role)
        _, plain = api_key_create(name="Integration", role=key_role, user=creator)
        if creator_role != key_role:
            user_update(user=creator, full_name="", role=creator_role, is_active=True)
    return TenantClient(tenant, HTTP_AUTHORIZATION=f"Bearer {plain}"), creator


@pytest.mark.parametrize("endpoint", list(ENDPOINTS))
@pytest.mark.parametrize("creator_role", [OW, A, M, V])
@pytest.mark.parametrize("key_role", [OW, A, M, V])
def test_a_key_acts_with_its_role_capped_by_its_creators_current_role(
    tenant, on_plan, key_role, creator_role, endpoint
):
    call, written, expected_by_role = ENDPOINTS[endpoint]
    on_plan(tenant)  # no limits: only the role decides
    with schema_context(tenant.schema_name):
        ctx = {"campaign": CampaignFactory().pk}
        ContactFactory(email="reader@example.com")
    client, _ = _key_of(tenant, key_role, creator_role)
    with schema_context(tenant.schema_name):
        before = written(ctx)
        logged = LogEntry.objects.count()

    response = call(client, ctx)

    expected = expected_by_role[_lower(key_role, creator_role)]
    assert response.status_code == expected, response.content
    if expected >= 400:
        assert set(response.json()["error"]) == {"status", "code", "message", "fields"}
        with schema_context(tenant.schema_name):
            assert written(ctx) == before  # refused: nothing written
            assert LogEntry.objects.count() == logged


def test_an_owners_admin_key_cannot_invite_an_owner(tenant, owner):
    # The reported hole: the check used to ask the key's creator (an Owner), not the key.
    with schema_context(tenant.schema_name):
        _, plain = api_key_create(name="Zapier", role=A, user=owner)
    client = TenantClient(tenant, HTTP_AUTHORIZATION=f"Bearer {plain}")

    response = client.post(
        f"{API}/invitations/",
        {"email": "new-owner@alpha.example", "role": OW},
        content_type="application/json",
    )

    assert response.status_code == 400
    assert "Only an Owner can give the Owner role" in str(response.json()["error"]["fields"])
    with schema_context(tenant.schema_name):
        assert not Invitation.objects.filter(email="new-owner@alpha.example").exists()


def test_a_demoted_members_admin_key_can_no_longer_add_domains_or_invite(tenant, on_plan):
    on_plan(tenant)
    client, creator = _key_of(tenant, A, A)
    before = client.post(
        f"{API}/domains/", {"domain": "before.example.com"}, content_type="application/json"
    )
    with schema_context(tenant.schema_name):
        user_update(user=creator, full_name="", role=M, is_active=True)

    domain = client.post(
        f"{API}/domains/", {"domain": "after.example.com"}, content_type="application/json"
    )
    invite = client.post(
        f"{API}/invitations/",
        {"email": "admin2@alpha.example", "role": A},
        content_type="application/json",
    )
    contact = client.post(
        f"{API}/contacts/", {"email": "still@example.com"}, content_type="application/json"
    )

    assert before.status_code == 201
    assert domain.status_code == 403
    assert invite.status_code == 403
    assert contact.status_code == 201  # what a Marketer may do, it still does
    with schema_context(tenant.schema_name):
        assert not SendingDomain.objects.filter(domain="after.example.com").exists()
        assert not Invitation.objects.filter(email="admin2@alpha.example").exists()


def test_promoting_the_creator_does_not_raise_the_key(tenant):
    client, _ = _key_of(tenant, M, OW)

    domain = client.post(
        f"{API}/domains/", {"domain": "raised.example.com"}, content_type="application/json"
    )

    assert domain.status_code == 403


def test_keys_of_deactivated_or_deleted_creators_are_dead(tenant):
    deactivated, creator = _key_of(tenant, A, A)
    deleted, other = _key_of(tenant, A, A, email="gone@keys.example")
    with schema_context(tenant.schema_name):
        user_update(user=creator, full_name="", role=A, is_active=False)
        ApiKey.objects.filter(created_by=other).update(created_by=None)

    assert deactivated.get(f"{API}/contacts/").status_code == 401
    assert deleted.get(f"{API}/contacts/").status_code == 401


def test_invitations_made_through_a_key_are_credited_to_its_creator(tenant, owner):
    with schema_context(tenant.schema_name):
        _, plain = api_key_create(name="HR sync", role=OW, user=owner)
    client = TenantClient(tenant, HTTP_AUTHORIZATION=f"Bearer {plain}")

    response = client.post(
        f"{API}/invitations/",
        {"email": "hired@alpha.example", "role": V},
        content_type="application/json",
    )

    assert response.status_code == 201
    assert response.json()["invited_by"] == owner.email


@pytest.mark.parametrize(("role", "expected"), [(OW, 200), (A, 403), (M, 403), (V, 403)])
def test_subscription_data_is_owner_only_for_console_sessions_too(
    tenant, make_member, role, expected
):
    member = make_member(role, email=f"session-{role.lower()}@alpha.example")
    client = logged_in_client(tenant, member)

    response = client.get(f"{API}/subscription/current/")
    plans = client.get(f"{API}/subscription/plans/")

    assert response.status_code == expected
    if expected == 200:
        assert response.json()["plan"] == "Free Trial"
        assert response.json()["seats"] == 2
    else:
        assert "plan" not in response.json()
        assert response.json()["error"]["message"] == (
            "Only workspace Owners can see billing and subscription data."
        )
    assert plans.status_code == 200  # the public price list is not the workspace's billing


def test_an_admin_session_cannot_invite_an_owner_through_the_api(tenant, make_member):
    client = logged_in_client(tenant, make_member(A))

    response = client.post(
        f"{API}/invitations/",
        {"email": "owner2@alpha.example", "role": OW},
        content_type="application/json",
    )

    assert response.status_code in (400, 403)  # 403 when the session lacks a CSRF token
    with schema_context(tenant.schema_name):
        assert not Invitation.objects.filter(email="owner2@alpha.example").exists()


def test_members_cannot_be_changed_through_the_api(tenant, owner, api):
    response = api.patch(f"{API}/users/{owner.pk}/", {"role": V}, content_type="application/json")

    assert response.status_code == 405
    with schema_context(tenant.schema_name):
        assert owner.groups.get().name == OW
