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
