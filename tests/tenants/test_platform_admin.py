import pytest
from django.contrib.admin.models import DELETION, LogEntry
from django.contrib.messages import get_messages
from django.core import mail
from django.core.exceptions import ValidationError
from django.urls import reverse
from django_tenants.utils import schema_context, schema_exists

from engagex.accounts import roles
from engagex.accounts.models import User
from engagex.accounts.services import user_create
from engagex.campaigns.models import Campaign
from engagex.contacts.models import Contact
from engagex.platform.admin import tenants as tenant_admin
from engagex.platform.provisioning import (
    SLUG_INVALID,
    SLUG_TAKEN,
    TEMPLATE_MISSING,
    tenant_create,
    tenant_suspend,
)
from tenants.models import Tenant
from tests.factories.campaigns import CampaignFactory
from tests.factories.contacts import ContactFactory


def _url(name, *args):
    return reverse(name, args=args, urlconf="config.urls_public")


def test_superuser_creates_a_workspace_from_the_admin(
    platform_client, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = platform_client.post(
            _url("admin:tenants_tenant_add"),
            {
                "name": "Iota Labs",
                "slug": "iota-labs",
                "owner_email": "founder@iota.example",
                "owner_name": "Ida",
            },
            follow=True,
        )

    assert response.status_code == 200
    body = response.content.decode()
    assert 'Workspace ready at <a href="http://iota-labs.localhost/admin/"' in body
    assert "/accounts/set-password/" in body
    assert "Suspend" in body  # landed on the new workspace's page
    tenant = Tenant.objects.get(slug="iota-labs")
    assert tenant.schema_name == "iota_labs"
    with schema_context("iota_labs"):
        assert User.objects.get().full_name == "Ida"
    assert mail.outbox[-1].to == ["founder@iota.example"]


def test_admin_add_form_shows_slug_errors(platform_client, tenant):
    count = Tenant.objects.count()

    taken = platform_client.post(
        _url("admin:tenants_tenant_add"),
        {"name": "X", "slug": tenant.slug, "owner_email": "x@example.com"},
    )
    reserved = platform_client.post(
        _url("admin:tenants_tenant_add"),
        {"name": "X", "slug": "www", "owner_email": "x@example.com"},
    )
    invalid = platform_client.post(
        _url("admin:tenants_tenant_add"),
        {"name": "X", "slug": "Bad Slug!", "owner_email": "x@example.com"},
    )

    assert taken.status_code == reserved.status_code == invalid.status_code == 200
    assert "is already taken" in taken.content.decode()
    assert "is reserved for EngageX itself" in reserved.content.decode()
    assert "lowercase letters, digits and single hyphens" in invalid.content.decode()
    assert Tenant.objects.count() == count


def _add_workspace(client, slug):
    return client.post(
        _url("admin:tenants_tenant_add"),
        {"name": "X", "slug": slug, "owner_email": "x@example.com"},
    )


def _stored():
    return sorted(Tenant.objects.values_list("slug", "schema_name"))


@pytest.mark.parametrize(
    ("slug", "message"),
    [
        ("TENANT", "The workspace slug “{tenant}” is already taken."),
        ("www", "“www” is reserved for EngageX itself. Choose another workspace slug."),
        ("Bad Slug!", str(SLUG_INVALID)),
        ("under_score", str(SLUG_INVALID)),
    ],
)
def test_a_refused_slug_is_an_error_on_the_slug_field_and_creates_nothing(
    platform_client, tenant, slug, message
):
    before = _stored()
    slug = tenant.slug if slug == "TENANT" else slug

    response = _add_workspace(platform_client, slug)

    assert response.status_code == 200
    errors = response.context["adminform"].form.errors
    assert errors == {"slug": [message.format(tenant=tenant.slug)]}
    assert "/None/" not in response.content.decode()
    assert [str(m) for m in get_messages(response.wsgi_request)] == []
    assert _stored() == before


def test_a_refusal_only_the_service_sees_is_a_form_error_not_a_500(platform_client, monkeypatch):
    before = _stored()
    taken = str(SLUG_TAKEN).format(slug="fresh-slug")

    def refuse(**kwargs):  # e.g. another request took the slug after the form was read
        raise ValidationError({"slug": taken})

    monkeypatch.setattr(tenant_admin, "tenant_create", refuse)

    response = _add_workspace(platform_client, "fresh-slug")

    assert response.status_code == 200
    assert response.context["adminform"].form.errors == {"slug": [taken]}
    assert 'value="fresh-slug"' in response.content.decode()
    assert [str(m) for m in get_messages(response.wsgi_request)] == []
    assert _stored() == before


def test_a_missing_template_schema_is_an_error_above_the_form(platform_client, settings):
    before = _stored()
    settings.TENANT_BASE_SCHEMA = "no_such_template"

    response = _add_workspace(platform_client, "fresh-slug")

    assert response.status_code == 200
    assert response.context["adminform"].form.non_field_errors() == [
        str(TEMPLATE_MISSING).format(schema="no_such_template")
    ]
    assert [str(m) for m in get_messages(response.wsgi_request)] == []
    assert _stored() == before
    assert not schema_exists("fresh_slug")


def test_changelist_lists_workspaces_with_status_but_not_the_platform(platform_client, tenant):
    body = platform_client.get(_url("admin:tenants_tenant_changelist")).content.decode()

    assert "Alpha Corp" in body
    assert "Beta Ltd" in body
    public = Tenant.objects.get(schema_name="public")
    assert _url("admin:tenants_tenant_change", public.pk) not in body
    assert "Active" in body


def test_suspend_asks_for_a_reason_then_reactivate(platform_client, tenant):
    page = platform_client.get(_url("admin:tenants_tenant_suspend_detail", tenant.pk))
    assert "will see a “workspace suspended” page" in page.content.decode()
    tenant.refresh_from_db()
    assert tenant.status == Tenant.Status.ACTIVE

    platform_client.post(
        _url("admin:tenants_tenant_suspend_detail", tenant.pk), {"reason": "Abuse"}
    )
    tenant.refresh_from_db()
    assert (tenant.status, tenant.status_reason) == (Tenant.Status.SUSPENDED, "Abuse")
    change = platform_client.get(_url("admin:tenants_tenant_change", tenant.pk)).content.decode()
    assert "Reactivate" in change
    assert _url("admin:tenants_tenant_suspend_detail", tenant.pk) not in change

    platform_client.get(_url("admin:tenants_tenant_reactivate_detail", tenant.pk))
    tenant.refresh_from_db()
    assert tenant.status == Tenant.Status.SUSPENDED  # a GET only asks
    platform_client.post(_url("admin:tenants_tenant_reactivate_detail", tenant.pk))
    tenant.refresh_from_db()
    assert tenant.status == Tenant.Status.ACTIVE


def test_suspend_is_refused_for_an_already_suspended_workspace(platform_client, tenant):
    tenant_suspend(tenant=tenant)

    response = platform_client.post(_url("admin:tenants_tenant_suspend_detail", tenant.pk))

    assert response.status_code == 403


def test_bulk_suspend_action(platform_client, tenant, other_tenant):
    platform_client.post(
        _url("admin:tenants_tenant_changelist"),
        {"action": "suspend_selected", "_selected_action": [tenant.pk, other_tenant.pk]},
    )

    assert set(Tenant.objects.filter(status="suspended").values_list("slug", flat=True)) == {
        "alpha",
        "beta",
    }


def _kappa_with_content() -> Tenant:
    """A workspace with 3 contacts, 2 campaigns and 2 member accounts."""
    tenant = tenant_create(name="Kappa", slug="kappa", owner_email="o@kappa.example").tenant
    with schema_context(tenant.schema_name):
        ContactFactory.create_batch(3)
        CampaignFactory.create_batch(2, from_email="news@kappa.example")
        user_create(email="marketer@kappa.example", role=roles.MARKETER)
    return tenant


def test_delete_confirmation_counts_what_will_be_dropped_in_that_workspace(platform_client, tenant):
    kappa = _kappa_with_content()
    with schema_context(tenant.schema_name):  # another workspace's rows are not counted
        ContactFactory.create_batch(5)

    response = platform_client.get(_url("admin:tenants_tenant_delete", kappa.pk))

    assert response.status_code == 200
    page = response.content.decode()
    assert "the PostgreSQL schema <code>kappa</code>" in page
    assert "<strong>3</strong> contacts" in page
    assert "<strong>2</strong> campaigns" in page
    assert "<strong>2</strong> team member accounts" in page
    assert "kappa.localhost" in page
    assert 'name="slug"' in page
    assert "Type <strong>kappa</strong> to confirm" in page


@pytest.mark.parametrize("typed", [None, "", "kapa", "alpha", "Kappa Inc"])
def test_delete_without_the_typed_slug_deletes_nothing(platform_client, typed):
    kappa = _kappa_with_content()
    data = {"post": "yes"} if typed is None else {"post": "yes", "slug": typed}

    response = platform_client.post(_url("admin:tenants_tenant_delete", kappa.pk), data)

    assert response.status_code == 400
    assert response.context["delete_form"].errors["slug"] == [
        "Type the workspace slug “kappa” exactly to delete it."
    ]
    assert "<strong>3</strong> contacts" in response.content.decode()
    assert Tenant.objects.filter(slug="kappa").exists()
    assert schema_exists("kappa")
    with schema_context("kappa"):
        assert Contact.objects.count() == 3
        assert Campaign.objects.count() == 2
        assert User.objects.count() == 2
    assert not LogEntry.objects.filter(object_repr="Kappa", action_flag=DELETION).exists()


def test_delete_with_the_typed_slug_drops_the_workspace(platform_client):
    kappa = _kappa_with_content()

    response = platform_client.post(
        _url("admin:tenants_tenant_delete", kappa.pk), {"post": "yes", "slug": " kappa "}
    )

    assert response.status_code == 302
    assert not Tenant.objects.filter(slug="kappa").exists()
    assert not schema_exists("kappa")
    assert LogEntry.objects.filter(object_repr="Kappa", action_flag=DELETION).count() == 1


def test_bulk_delete_is_not_offered(platform_client):
    body = platform_client.get(_url("admin:tenants_tenant_changelist")).content.decode()

    assert "delete_selected" not in body


def test_resend_owner_invitation(platform_client, tenant):
    sent_before = len(mail.outbox)
    platform_client.get(_url("admin:tenants_tenant_resend_invitation_detail", tenant.pk))
    assert len(mail.outbox) == sent_before  # a GET only asks
    platform_client.post(_url("admin:tenants_tenant_resend_invitation_detail", tenant.pk))

    assert mail.outbox[-1].to == ["owner@alpha.example"]
    assert "/accounts/set-password/" in mail.outbox[-1].body
