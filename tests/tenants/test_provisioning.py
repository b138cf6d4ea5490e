import re

import pytest
from django.contrib.auth.models import Group
from django.core import mail
from django.core.exceptions import ValidationError
from django.core.management import CommandError, call_command
from django_q.models import OrmQ
from django_tenants.test.client import TenantClient
from django_tenants.utils import schema_context, schema_exists

from engagex.accounts import roles
from engagex.accounts.models import User
from engagex.platform import provisioning
from engagex.platform.provisioning import RESERVED_SLUGS, SLUG_INVALID, tenant_create, tenant_delete
from tenants.models import Domain, Tenant


def test_provisioning_clones_schema_with_domain_roles_and_owner(db):
    # when
    result = tenant_create(name="Gamma Inc", slug="gamma-inc", owner_email=" Boss@Gamma.Example ")

    # then
    tenant = result.tenant
    assert tenant.schema_name == "gamma_inc"
    assert schema_exists("gamma_inc")
    assert list(Domain.objects.filter(tenant=tenant).values_list("domain", "is_primary")) == [
        ("gamma-inc.localhost", True)
    ]
    with schema_context("gamma_inc"):
        assert sorted(Group.objects.values_list("name", flat=True)) == sorted(roles.ROLES)
        owner = User.objects.get()
        assert owner.email == "boss@gamma.example"
        assert list(owner.groups.values_list("name", flat=True)) == [roles.OWNER]
        assert not owner.has_usable_password()
        assert Group.objects.get(name=roles.OWNER).permissions.filter(codename="view_user").exists()


def test_provisioning_emails_a_working_single_use_set_password_link(db):
    # given
    result = tenant_create(name="Delta", slug="delta", owner_email="owner@delta.example")
    link = result.set_password_url
    assert link.startswith("http://delta.localhost/accounts/set-password/")
    path = re.sub(r"^http://[^/]+", "", link)
    client = TenantClient(result.tenant)

    # when: the owner follows the link and chooses a password
    page = client.get(path, follow=True)
    form_url = page.redirect_chain[-1][0]
    response = client.post(
        form_url, {"new_password1": "a-Long-pass-123", "new_password2": "a-Long-pass-123"}
    )

    # then
    assert response.status_code == 302
    with schema_context("delta"):
        assert User.objects.get().check_password("a-Long-pass-123")
    again = client.get(path, follow=True)
    assert "This link is invalid" in again.content.decode()


def test_provisioning_sends_the_owner_invitation_and_queues_a_welcome_task(
    db, django_capture_on_commit_callbacks
):
    queued_before = OrmQ.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        result = tenant_create(name="Epsilon", slug="epsilon", owner_email="owner@epsilon.example")

    assert [m.to for m in mail.outbox] == [["owner@epsilon.example"]]
    assert "Epsilon" in mail.outbox[0].subject
    assert result.set_password_url in mail.outbox[0].body
    assert OrmQ.objects.count() == queued_before + 1


def test_duplicate_slug_is_a_form_error_naming_the_slug(db, tenant):
    with pytest.raises(ValidationError) as error:
        tenant_create(name="Again", slug=tenant.slug, owner_email="x@example.com")

    assert error.value.message_dict["slug"] == [
        f"The workspace slug “{tenant.slug}” is already taken."
    ]
    assert Tenant.objects.filter(slug=tenant.slug).count() == 1


@pytest.mark.parametrize(
    "slug", ["public", "www", "admin", "template", "tenant-template", "pg-data"]
)
def test_reserved_slugs_are_refused(db, slug):
    assert slug in RESERVED_SLUGS or slug.startswith("pg-")
    tenants_before = Tenant.objects.count()

    with pytest.raises(ValidationError) as error:
        tenant_create(name="Reserved", slug=slug, owner_email="x@example.com")

    assert "reserved" in error.value.message_dict["slug"][0]
    assert Tenant.objects.count() == tenants_before


@pytest.mark.parametrize(
    "slug", ["", "ab", "1abc", "abc-", "a--b", "has space", "ünïcode", "under_score", "x" * 41]
)
def test_invalid_slugs_are_refused(db, slug):
    with pytest.raises(ValidationError) as error:
        tenant_create(name="Bad", slug=slug, owner_email="x@example.com")

    assert error.value.message_dict["slug"] == [SLUG_INVALID]


def test_missing_name_and_bad_email_are_reported_together(db):
    with pytest.raises(ValidationError) as error:
        tenant_create(name="  ", slug="fine-slug", owner_email="not-an-email")

    assert set(error.value.message_dict) == {"name", "owner_email"}
    assert not Tenant.objects.filter(slug="fine-slug").exists()


def test_failed_provisioning_leaves_nothing_behind(db, monkeypatch):
    def explode(**kwargs):
        raise RuntimeError("owner creation failed")

    monkeypatch.setattr(provisioning, "user_create", explode)

    with pytest.raises(RuntimeError):
        tenant_create(name="Zeta", slug="zeta", owner_email="owner@zeta.example")

    assert not Tenant.objects.filter(slug="zeta").exists()
    assert not Domain.objects.filter(domain="zeta.localhost").exists()
    assert not schema_exists("zeta")


def test_delete_drops_schema_and_domains(db):
    tenant = tenant_create(name="Eta", slug="eta", owner_email="owner@eta.example").tenant

    tenant_delete(tenant=tenant)

    assert not schema_exists("eta")
    assert not Tenant.objects.filter(slug="eta").exists()
    assert not Domain.objects.filter(domain="eta.localhost").exists()


def test_public_tenant_cannot_be_deleted_or_suspended(db):
    public = Tenant.objects.get(schema_name="public")

    with pytest.raises(ValidationError):
        tenant_delete(tenant=public)
    with pytest.raises(ValidationError):
        provisioning.tenant_suspend(tenant=public)

    assert schema_exists("public")


def test_create_workspace_command_prints_console_and_link(db, capsys):
    call_command(
        "create_workspace",
        name="Theta",
        slug="theta",
        owner_email="owner@theta.example",
        no_email=True,
    )

    out = capsys.readouterr().out
    assert "http://theta.localhost/admin/" in out
    assert "http://theta.localhost/accounts/set-password/" in out
    assert Tenant.objects.filter(slug="theta").exists()


def test_create_workspace_command_reports_validation_errors(db):
    with pytest.raises(CommandError, match="slug: .*reserved"):
        call_command("create_workspace", name="X", slug="admin", owner_email="owner@x.example")
