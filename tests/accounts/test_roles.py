import pytest
from django.contrib.auth.models import Group
from django.core.exceptions import ValidationError
from django.urls import reverse
from django_tenants.utils import schema_context

from engagex.accounts import roles
from engagex.accounts.models import User
from engagex.accounts.services import LAST_OWNER, user_create, user_update
from tests.fixtures.tenants import logged_in_client


def _codenames(tenant, role):
    with schema_context(tenant.schema_name):
        return set(Group.objects.get(name=role).permissions.values_list("codename", flat=True))


def test_viewer_only_reads(tenant):
    perms = _codenames(tenant, roles.VIEWER)

    assert "view_user" in perms
    assert all(codename.startswith("view_") for codename in perms - {"change_notification"})


def test_marketer_cannot_manage_the_team_but_admin_can(tenant):
    assert "change_user" not in _codenames(tenant, roles.MARKETER)
    assert {"add_user", "change_user"} <= _codenames(tenant, roles.ADMIN)


def test_only_owner_reads_the_audit_log(tenant):
    assert "view_logentry" in _codenames(tenant, roles.OWNER)
    assert "view_logentry" not in _codenames(tenant, roles.ADMIN)


def test_user_create_normalises_email_and_refuses_duplicates_ignoring_case(tenant):
    with schema_context(tenant.schema_name):
        user = user_create(email="  New.Person@Alpha.Example ", role=roles.VIEWER)
        assert user.email == "new.person@alpha.example"

        with pytest.raises(ValidationError) as error:
            user_create(email="NEW.PERSON@alpha.example", role=roles.VIEWER)

        assert "email" in error.value.message_dict
        assert User.objects.filter(email__iexact="new.person@alpha.example").count() == 1


def test_last_owner_cannot_be_demoted_or_deactivated(tenant, owner):
    with schema_context(tenant.schema_name):
        with pytest.raises(ValidationError, match="at least one active Owner"):
            user_update(user=owner, full_name="", role=roles.ADMIN, is_active=True)
        with pytest.raises(ValidationError):
            user_update(user=owner, full_name="", role=roles.OWNER, is_active=False)

        assert list(owner.groups.values_list("name", flat=True)) == [roles.OWNER]
        owner.refresh_from_db()
        assert owner.is_active


def test_owner_can_be_demoted_when_another_owner_exists(tenant, owner, make_member):
    make_member(roles.OWNER, email="second.owner@alpha.example")

    with schema_context(tenant.schema_name):
        user_update(user=owner, full_name="Former", role=roles.ADMIN, is_active=True)

        assert list(owner.groups.values_list("name", flat=True)) == [roles.ADMIN]


def test_team_page_refuses_to_demote_the_last_owner_with_a_form_error(tenant, owner, owner_client):
    url = reverse("admin:accounts_user_change", args=[owner.pk], urlconf="config.urls_tenants")

    response = owner_client.post(url, {"full_name": "Me", "role": roles.VIEWER, "is_active": "on"})

    assert response.status_code == 200
    assert str(LAST_OWNER) in response.content.decode()
    with schema_context(tenant.schema_name):
        assert owner.groups.get().name == roles.OWNER


def test_team_page_refuses_to_deactivate_the_last_owner(tenant, owner, owner_client):
    url = reverse("admin:accounts_user_change", args=[owner.pk], urlconf="config.urls_tenants")

    # is_active left out: the checkbox unticked
    response = owner_client.post(url, {"full_name": "Me", "role": roles.OWNER})

    assert response.status_code == 200
    assert str(LAST_OWNER) in response.content.decode()
    with schema_context(tenant.schema_name):
        owner.refresh_from_db()
        assert owner.is_active


def test_team_page_refuses_to_reactivate_a_member_past_the_seat_limit(
    tenant, owner, owner_client, make_member, on_plan
):
    member = make_member(roles.MARKETER)
    with schema_context(tenant.schema_name):
        User.objects.filter(pk=member.pk).update(is_active=False)
    on_plan(tenant, seat_limit=1)  # the Owner holds the only seat
    url = reverse("admin:accounts_user_change", args=[member.pk], urlconf="config.urls_tenants")

    response = owner_client.post(
        url, {"full_name": "Back", "role": roles.MARKETER, "is_active": "on"}
    )

    assert response.status_code == 200
    assert "allows 1 team seat" in response.content.decode()
    with schema_context(tenant.schema_name):
        member.refresh_from_db()
        assert not member.is_active
        assert member.full_name != "Back"


def test_adding_a_member_on_the_team_page_leads_to_inviting_them(owner_client):
    url = reverse("admin:accounts_user_add", urlconf="config.urls_tenants")

    response = owner_client.get(url)

    assert response.status_code == 302
    assert response["Location"] == reverse(
        "admin:accounts_invitation_add", urlconf="config.urls_tenants"
    )


def test_marketer_cannot_open_the_team_change_page(tenant, owner, make_member):
    marketer = make_member(roles.MARKETER)
    client = logged_in_client(tenant, marketer)
    url = reverse("admin:accounts_user_change", args=[owner.pk], urlconf="config.urls_tenants")

    response = client.post(url, {"full_name": "Hacked", "role": roles.VIEWER, "is_active": "on"})

    assert response.status_code == 403
    with schema_context(tenant.schema_name):
        owner.refresh_from_db()
        assert owner.full_name != "Hacked"


def test_owners_see_the_audit_log_of_their_workspace_only(tenant, owner, owner_client, make_member):
    changed = owner_client.post(
        reverse("admin:accounts_invitation_add", urlconf="config.urls_tenants"),
        {"email": "audited@alpha.example", "role": roles.VIEWER},
    )
    assert changed.status_code == 302
    log = reverse("admin:admin_logentry_changelist", urlconf="config.urls_tenants")
    admin_client = logged_in_client(tenant, make_member(roles.ADMIN))

    page = owner_client.get(log).content.decode()

    assert "audited@alpha.example" in page
    assert admin_client.get(log).status_code == 403


# --- role caps (issue 14) ------------------------------------------------------------------
def _tenant_url(name, *args):
    return reverse(name, args=args, urlconf="config.urls_tenants")


def test_nobody_grants_a_role_above_their_own(tenant, make_member):
    from engagex.accounts.services import ABOVE_OWN_ROLE, role_grant_check
    from engagex.api.models import ApiKey
    from engagex.api.services import api_key_create

    marketer = make_member(roles.MARKETER)
    admin = make_member(roles.ADMIN)
    with schema_context(tenant.schema_name):
        with pytest.raises(ValidationError) as error:
            api_key_create(name="Up", role=roles.ADMIN, user=marketer)
        role_grant_check(actor=admin, role=roles.ADMIN)  # an equal role is fine
        with pytest.raises(ValidationError):
            role_grant_check(actor=admin, role=roles.OWNER)

        assert error.value.message_dict["role"] == [
            ABOVE_OWN_ROLE % {"role": roles.MARKETER, "wanted": roles.ADMIN}
        ]
        assert not ApiKey.objects.exists()


def _invite_path(tenant, actor, email, role):
    from engagex.accounts.services.invitations import invitation_create

    with schema_context(tenant.schema_name):
        invitation, link = invitation_create(email=email, role=role, actor=actor)
    return invitation, link.removeprefix(f"http://{tenant.primary_domain_name}")


def _accept(tenant, path):
    from django_tenants.test.client import TenantClient

    password = "Joiner-pass-2026"
    return TenantClient(tenant).post(
        path, {"full_name": "J", "password1": password, "password2": password}
    )


def test_an_owner_invitation_dies_when_its_sender_is_no_longer_an_owner(tenant, owner, make_member):
    from engagex.accounts.models import Invitation
    from engagex.accounts.services.invitations import INVITER_CANNOT_GRANT, invitation_resend

    sender = make_member(roles.OWNER, email="sender@alpha.example")
    invitation, path = _invite_path(tenant, sender, "boss@alpha.example", roles.OWNER)
    with schema_context(tenant.schema_name):
        user_update(user=sender, full_name="", role=roles.ADMIN, is_active=True)

    refused = _accept(tenant, path)

    assert refused.status_code == 404
    assert str(INVITER_CANNOT_GRANT) in refused.content.decode()
    with schema_context(tenant.schema_name):
        assert not User.objects.filter(email="boss@alpha.example").exists()
        # An Owner who still is one can send it again: then it works.
        link = invitation_resend(invitation=invitation, actor=owner)
        assert Invitation.objects.get(pk=invitation.pk).invited_by == owner
    accepted = _accept(tenant, link.removeprefix(f"http://{tenant.primary_domain_name}"))

    assert accepted.status_code == 302
    with schema_context(tenant.schema_name):
        assert User.objects.get(email="boss@alpha.example").groups.get().name == roles.OWNER


def test_a_deactivated_members_pending_invitations_stop_working(tenant, make_member):
    admin = make_member(roles.ADMIN)
    _, path = _invite_path(tenant, admin, "marketer2@alpha.example", roles.MARKETER)
    with schema_context(tenant.schema_name):
        user_update(user=admin, full_name="", role=roles.ADMIN, is_active=False)

    response = _accept(tenant, path)

    assert response.status_code == 404
    with schema_context(tenant.schema_name):
        assert not User.objects.filter(email="marketer2@alpha.example").exists()


def test_an_admin_may_give_the_admin_role_in_the_console(tenant, make_member):
    admin = make_member(roles.ADMIN)
    marketer = make_member(roles.MARKETER, email="promoted@alpha.example")
    client = logged_in_client(tenant, admin)

    response = client.post(
        _tenant_url("admin:accounts_user_change", marketer.pk),
        {"full_name": "Promoted", "role": roles.ADMIN, "is_active": "on"},
    )

    assert response.status_code == 302
    with schema_context(tenant.schema_name):
        assert marketer.groups.get().name == roles.ADMIN


def test_an_admin_giving_the_owner_role_in_the_console_is_told_on_the_role(tenant, make_member):
    from django.contrib.messages import get_messages

    from engagex.accounts.services import OWNER_ONLY

    marketer = make_member(roles.MARKETER, email="climber@alpha.example")
    client = logged_in_client(tenant, make_member(roles.ADMIN))

    response = client.post(
        _tenant_url("admin:accounts_user_change", marketer.pk),
        {"full_name": "Climber", "role": roles.OWNER, "is_active": "on"},
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"role": [str(OWNER_ONLY)]}
    assert list(get_messages(response.wsgi_request)) == []
    with schema_context(tenant.schema_name):
        marketer.refresh_from_db()
        assert (marketer.full_name, marketer.groups.get().name) == ("", roles.MARKETER)


@pytest.mark.parametrize("role", [roles.MARKETER, roles.VIEWER])
@pytest.mark.parametrize(
    ("method", "name", "data"),
    [
        ("post", "admin:domains_sendingdomain_add", {"domain": "evil.example.com"}),
        ("post", "admin:accounts_invitation_add", {"email": "e@x.example", "role": "Owner"}),
        ("get", "admin:accounts_invitation_add", None),
        ("get", "admin:accounts_workspacesecurity_changelist", None),
        ("get", "admin:billing", None),
        ("get", "admin:admin_logentry_changelist", None),
        ("get", "admin:api_apikey_add", None),
    ],
)
def test_marketers_and_viewers_reach_no_team_domain_or_billing_writes(
    tenant, make_member, role, method, name, data
):
    from engagex.accounts.models import Invitation
    from engagex.domains.models import SendingDomain

    client = logged_in_client(tenant, make_member(role))

    response = getattr(client, method)(_tenant_url(name), data or {})

    assert response.status_code == 403
    with schema_context(tenant.schema_name):
        assert not SendingDomain.objects.exists()
        assert not Invitation.objects.exists()


def test_an_admin_cannot_edit_roles_or_make_a_member_superuser(tenant, make_member):
    from django.contrib.auth.models import Permission

    admin = make_member(roles.ADMIN)
    marketer = make_member(roles.MARKETER, email="target@alpha.example")
    client = logged_in_client(tenant, admin)
    with schema_context(tenant.schema_name):
        marketer_role = Group.objects.get(name=roles.MARKETER)
        owner_role = Group.objects.get(name=roles.OWNER)
        perms_before = set(marketer_role.permissions.values_list("pk", flat=True))
        billing = list(
            Permission.objects.filter(content_type__app_label="billing").values_list(
                "pk", flat=True
            )
        )

    role_page = client.post(
        _tenant_url("admin:accounts_role_change", marketer_role.pk),
        {"name": roles.MARKETER, "permissions": billing},
    )
    member_page = client.post(
        _tenant_url("admin:accounts_user_change", marketer.pk),
        {
            "full_name": "T",
            "role": roles.MARKETER,
            "is_active": "on",
            "is_superuser": "on",
            "groups": [owner_role.pk],
            "user_permissions": billing,
        },
    )

    assert role_page.status_code == 403
    assert member_page.status_code == 302
    with schema_context(tenant.schema_name):
        marketer.refresh_from_db()
        assert not marketer.is_superuser
        assert list(marketer.groups.values_list("name", flat=True)) == [roles.MARKETER]
        assert not marketer.user_permissions.exists()
        assert set(marketer_role.permissions.values_list("pk", flat=True)) == perms_before
