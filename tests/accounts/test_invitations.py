"""Team invitations: invite, accept once, resend, revoke, expire; seats; other workspaces."""

import re
from datetime import timedelta

import pytest
from django.contrib.messages import get_messages
from django.core import mail
from django.core.exceptions import ValidationError
from django.test import Client
from django.urls import reverse
from django.utils import timezone
from django_tenants.test.client import TenantClient
from django_tenants.utils import schema_context

from engagex.accounts import roles
from engagex.accounts.models import Invitation, User
from engagex.accounts.services import OWNER_ONLY, user_update
from engagex.accounts.services.invitations import (
    ALREADY_INVITED,
    ALREADY_MEMBER,
    INVITATION_EXPIRED,
    INVITATION_INVALID,
    INVITATION_REVOKED,
    INVITATION_USED,
    invitation_create,
    invitation_resend,
    invitation_revoke,
)
from engagex.billing import limits
from engagex.notifications.models import Notification
from tests.fixtures.tenants import logged_in_client

PASSWORD = "Joiner-pass-2026"


def _url(name, *args):
    return reverse(name, args=args, urlconf="config.urls_tenants")


def _invite(tenant, owner, email="new@alpha.example", role=roles.MARKETER):
    with schema_context(tenant.schema_name):
        invitation, link = invitation_create(email=email, role=role, actor=owner)
    return invitation, link.removeprefix(f"http://{tenant.primary_domain_name}")


def _accept(client, path, **data):
    return client.post(
        path, {"full_name": "New Person", "password1": PASSWORD, "password2": PASSWORD, **data}
    )


def test_owner_invites_from_the_console_and_the_invitee_gets_an_email(
    tenant, owner_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            _url("admin:accounts_invitation_add"),
            {"email": "New@Alpha.example", "role": roles.ADMIN},
        )

    assert response.status_code == 302
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["new@alpha.example"]
    link = re.search(r"http://alpha\.localhost/invitations/[\w.:-]+/", mail.outbox[0].body)
    assert link is not None
    with schema_context(tenant.schema_name):
        invitation = Invitation.objects.get()
        assert (invitation.email, invitation.role, invitation.status) == (
            "new@alpha.example",
            roles.ADMIN,
            Invitation.Status.PENDING,
        )
        # Only the hash is stored, never the link's token.
        assert invitation.token_hash not in link.group(0)
        assert not User.objects.filter(email="new@alpha.example").exists()


def test_invitee_accepts_sets_a_password_and_lands_in_the_console(tenant, owner):
    _, path = _invite(tenant, owner)
    client = TenantClient(tenant)

    assert client.get(path).status_code == 200
    response = _accept(client, path)

    assert response.status_code == 302
    assert response["Location"] == "/admin/"
    assert client.get("/admin/").status_code == 200
    with schema_context(tenant.schema_name):
        member = User.objects.get(email="new@alpha.example")
        assert member.check_password(PASSWORD)
        assert member.full_name == "New Person"
        assert list(member.groups.values_list("name", flat=True)) == [roles.MARKETER]
        invitation = Invitation.objects.get()
        assert invitation.accepted_by == member
        assert invitation.status == Invitation.Status.ACCEPTED
        notice = Notification.objects.get(recipient=owner)
        assert notice.title == "New Person joined the workspace"


def test_invitation_link_used_twice_is_refused(tenant, owner):
    _, path = _invite(tenant, owner)
    _accept(TenantClient(tenant), path)

    second = TenantClient(tenant)
    response = _accept(second, path, password1="Other-pass-2026", password2="Other-pass-2026")

    assert response.status_code == 404
    assert str(INVITATION_USED) in response.content.decode()
    with schema_context(tenant.schema_name):
        assert User.objects.get(email="new@alpha.example").check_password(PASSWORD)
    assert second.get("/admin/").status_code == 302


def test_revoked_invitation_link_is_refused(tenant, owner):
    invitation, path = _invite(tenant, owner)
    with schema_context(tenant.schema_name):
        invitation_revoke(invitation=invitation)

    response = _accept(TenantClient(tenant), path)

    assert response.status_code == 404
    assert str(INVITATION_REVOKED) in response.content.decode()
    with schema_context(tenant.schema_name):
        assert not User.objects.filter(email="new@alpha.example").exists()


def test_expired_invitation_link_is_refused(tenant, owner):
    invitation, path = _invite(tenant, owner)
    with schema_context(tenant.schema_name):
        Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))

    response = _accept(TenantClient(tenant), path)

    assert response.status_code == 404
    assert str(INVITATION_EXPIRED) in response.content.decode()
    with schema_context(tenant.schema_name):
        assert not User.objects.filter(email="new@alpha.example").exists()


def test_invitation_for_one_workspace_cannot_be_accepted_on_another(tenant, other_tenant, owner):
    _, path = _invite(tenant, owner)

    response = _accept(TenantClient(other_tenant), path)

    assert response.status_code == 404
    assert str(INVITATION_INVALID) in response.content.decode()
    with schema_context(other_tenant.schema_name):
        assert not User.objects.filter(email="new@alpha.example").exists()
    with schema_context(tenant.schema_name):
        assert Invitation.objects.get().status == Invitation.Status.PENDING


def test_resend_replaces_the_link_and_restarts_the_expiry(
    tenant, owner, django_capture_on_commit_callbacks
):
    invitation, old_path = _invite(tenant, owner)
    with schema_context(tenant.schema_name):
        Invitation.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
        invitation.refresh_from_db()
        with django_capture_on_commit_callbacks(execute=True):
            new_link = invitation_resend(invitation=invitation)
        invitation.refresh_from_db()
    new_path = new_link.removeprefix("http://alpha.localhost")

    assert invitation.status == Invitation.Status.PENDING
    assert invitation.send_count == 2
    assert mail.outbox[-1].to == ["new@alpha.example"]
    assert _accept(TenantClient(tenant), old_path).status_code == 404
    assert _accept(TenantClient(tenant), new_path).status_code == 302


def test_resend_and_revoke_from_the_console_ask_first_then_act_on_post(tenant, owner, owner_client):
    invitation, _ = _invite(tenant, owner)
    revoke = _url("admin:accounts_invitation_revoke_detail", invitation.pk)
    resend = _url("admin:accounts_invitation_resend_detail", invitation.pk)

    assert owner_client.get(resend).status_code == 200
    assert owner_client.post(resend).status_code == 302
    assert owner_client.get(revoke).status_code == 200
    with schema_context(tenant.schema_name):
        assert Invitation.objects.get().revoked_at is None
    assert owner_client.post(revoke).status_code == 302

    with schema_context(tenant.schema_name):
        invitation = Invitation.objects.get()
        assert invitation.status == Invitation.Status.REVOKED
        assert invitation.send_count == 2


def test_existing_member_or_pending_invitation_is_not_invited_again(tenant, owner):
    _invite(tenant, owner)

    with schema_context(tenant.schema_name):
        with pytest.raises(ValidationError) as invited:
            invitation_create(email="NEW@alpha.example", role=roles.VIEWER, actor=owner)
        with pytest.raises(ValidationError) as member:
            invitation_create(email=owner.email, role=roles.VIEWER, actor=owner)
        assert invited.value.message_dict == {
            "email": [ALREADY_INVITED.format(email="new@alpha.example")]
        }
        assert member.value.message_dict == {"email": [ALREADY_MEMBER.format(email=owner.email)]}
        assert Invitation.objects.count() == 1


def test_admin_cannot_invite_an_owner(tenant, make_member):
    admin_user = make_member(roles.ADMIN)

    with schema_context(tenant.schema_name):
        with pytest.raises(ValidationError, match="Only an Owner"):
            invitation_create(email="boss@alpha.example", role=roles.OWNER, actor=admin_user)
        assert Invitation.objects.count() == 0


def test_viewer_and_marketer_cannot_invite(tenant, make_member):
    for role in (roles.VIEWER, roles.MARKETER):
        client = logged_in_client(tenant, make_member(role))

        response = client.post(
            _url("admin:accounts_invitation_add"), {"email": "x@alpha.example", "role": role}
        )

        assert response.status_code == 403
    with schema_context(tenant.schema_name):
        assert Invitation.objects.count() == 0


def test_pending_invitations_take_seats(tenant, owner, on_plan):
    on_plan(tenant, seat_limit=2)
    _invite(tenant, owner)  # owner + one pending invitation = 2 seats

    with schema_context(tenant.schema_name):
        assert limits.usage(limits.Limit.SEATS) == 2
        with pytest.raises(limits.LimitExceeded, match="upgrade on the Billing page"):
            invitation_create(email="third@alpha.example", role=roles.VIEWER, actor=owner)
        assert Invitation.objects.count() == 1


def test_seat_limit_shows_as_an_error_in_the_console(
    tenant, owner_client, on_plan, django_capture_on_commit_callbacks
):
    on_plan(tenant, seat_limit=1)

    with django_capture_on_commit_callbacks(execute=True):
        response = owner_client.post(
            _url("admin:accounts_invitation_add"),
            {"email": "x@alpha.example", "role": roles.VIEWER},
        )

    # The form comes back with the reason and what was typed, and nothing else is said.
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert list(form.errors) == ["__all__"]
    assert "allows 1 team seats" in form.non_field_errors()[0]
    page = response.content.decode()
    assert "allows 1 team seats" in page
    assert 'value="x@alpha.example"' in page
    assert list(get_messages(response.wsgi_request)) == []
    assert mail.outbox == []
    with schema_context(tenant.schema_name):
        assert Invitation.objects.count() == 0


def test_an_admin_inviting_an_owner_from_the_console_is_told_on_the_role(
    tenant, make_member, django_capture_on_commit_callbacks
):
    client = logged_in_client(tenant, make_member(roles.ADMIN))

    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            _url("admin:accounts_invitation_add"),
            {"email": "boss@alpha.example", "role": roles.OWNER},
        )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"role": [str(OWNER_ONLY)]}
    assert list(get_messages(response.wsgi_request)) == []
    assert mail.outbox == []
    with schema_context(tenant.schema_name):
        assert Invitation.objects.count() == 0


def test_one_console_invitation_checks_the_seats_once(tenant, owner_client, monkeypatch):
    # The form, its clean() and the service each used to check the role and the seats.
    checks = []
    ensure_within = limits.ensure_within

    def counting(limit, **kwargs):
        checks.append(limit)
        return ensure_within(limit, **kwargs)

    monkeypatch.setattr(limits, "ensure_within", counting)

    response = owner_client.post(
        _url("admin:accounts_invitation_add"), {"email": "x@alpha.example", "role": roles.VIEWER}
    )

    assert response.status_code == 302
    assert checks == [limits.Limit.SEATS]


def test_inviting_a_member_again_is_a_form_error_on_the_email(tenant, owner, owner_client):
    response = owner_client.post(
        _url("admin:accounts_invitation_add"), {"email": owner.email, "role": roles.VIEWER}
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["email"] == [
        str(ALREADY_MEMBER).format(email=owner.email)
    ]


def test_reactivating_a_member_checks_the_seat_limit(tenant, make_member, on_plan):
    member = make_member(roles.VIEWER)
    with schema_context(tenant.schema_name):
        user_update(user=member, full_name="", role=roles.VIEWER, is_active=False)
    on_plan(tenant, seat_limit=1)

    with schema_context(tenant.schema_name):
        with pytest.raises(limits.LimitExceeded):
            user_update(user=member, full_name="", role=roles.VIEWER, is_active=True)
        member.refresh_from_db()
        assert member.is_active is False


def test_deactivated_member_cannot_log_in_and_keeps_their_history(tenant, make_member):
    member = make_member(roles.MARKETER, password=PASSWORD)
    with schema_context(tenant.schema_name):
        user_update(user=member, full_name="", role=roles.MARKETER, is_active=False)
    client = TenantClient(tenant)

    client.post("/accounts/login/", {"login": member.email, "password": PASSWORD})

    assert client.get("/admin/").status_code == 302
    with schema_context(tenant.schema_name):
        assert User.objects.filter(pk=member.pk).exists()


def test_viewer_posting_to_a_change_view_gets_403(tenant, owner, make_member):
    viewer = make_member(roles.VIEWER)
    client = logged_in_client(tenant, viewer)

    response = client.post(
        _url("admin:accounts_user_change", owner.pk),
        {"full_name": "Hacked", "role": roles.VIEWER, "is_active": "on"},
    )

    assert response.status_code == 403
    with schema_context(tenant.schema_name):
        owner.refresh_from_db()
        assert owner.full_name != "Hacked"


def test_team_page_shows_what_each_role_can_do(owner_client):
    body = owner_client.get(_url("admin:accounts_user_changelist")).content.decode()

    assert "What each role can do" in body
    for role in roles.ROLES:
        assert str(roles.ROLE_DESCRIPTIONS[role]) in body


def test_invitation_accept_is_csrf_protected(tenant, owner):
    _, path = _invite(tenant, owner)
    client = TenantClient(tenant, enforce_csrf_checks=True)

    response = _accept(client, path)

    assert response.status_code == 403
    with schema_context(tenant.schema_name):
        assert not User.objects.filter(email="new@alpha.example").exists()


def test_mismatched_passwords_create_no_member(tenant, owner):
    _, path = _invite(tenant, owner)

    response = _accept(TenantClient(tenant), path, password2="Different-2026")

    assert response.status_code == 200
    assert "The two passwords differ." in response.content.decode()
    with schema_context(tenant.schema_name):
        assert Invitation.objects.get().status == Invitation.Status.PENDING


def test_public_domain_has_no_invitation_page(db):
    assert Client(HTTP_HOST="localhost").get("/invitations/anything/").status_code == 404


def test_only_owners_resend_or_revoke_an_owner_invitation(tenant, owner, make_member):
    invitation, _ = _invite(tenant, owner, email="boss@alpha.example", role=roles.OWNER)
    admin = make_member(roles.ADMIN)

    with schema_context(tenant.schema_name):
        with pytest.raises(ValidationError):
            invitation_resend(invitation=invitation, actor=admin)
        with pytest.raises(ValidationError):
            invitation_revoke(invitation=invitation, actor=admin)
        invitation.refresh_from_db()
        assert invitation.status == Invitation.Status.PENDING
        assert invitation.send_count == 1
        invitation_revoke(invitation=invitation, actor=owner)
        invitation.refresh_from_db()
        assert invitation.status == Invitation.Status.REVOKED


def test_the_invitation_page_has_a_title(owner_client):
    body = owner_client.get(_url("admin:accounts_invitation_add")).content.decode()

    assert ">Add invitation</h2>" in body


def test_a_members_page_does_not_offer_save_and_add_another(owner_client, owner):
    body = owner_client.get(_url("admin:accounts_user_change", owner.pk)).content.decode()

    assert 'name="_save"' in body
    assert 'name="_addanother"' not in body


def test_the_joined_notice_speaks_the_workspaces_language_not_the_invitees(
    tenant, owner, django_capture_on_commit_callbacks
):
    """Written once for the inviter: in the workspace's default language (German here),
    although the invitee accepted in Spanish; its email likewise."""
    type(tenant).objects.filter(pk=tenant.pk).update(default_language="de")
    _, path = _invite(tenant, owner)
    client = TenantClient(tenant)
    client.cookies["django_language"] = "es"

    with django_capture_on_commit_callbacks(execute=True):
        _accept(client, path)

    with schema_context(tenant.schema_name):
        notice = Notification.objects.get(recipient=owner)
    assert notice.title == "New Person ist dem Arbeitsbereich beigetreten"
    assert mail.outbox[-1].subject == "New Person ist dem Arbeitsbereich beigetreten"
