import pytest
from django.core import mail
from django.test import Client
from django_tenants.test.client import TenantClient

from tenants.services import tenant_create, tenant_suspend


@pytest.mark.parametrize(
    ("language", "expected"),
    [("de", "Hier gibt es keinen Arbeitsbereich"), ("es", "Aquí no hay ningún espacio de trabajo")],
)
def test_public_pages_follow_the_browsers_language(db, language, expected):
    response = Client(HTTP_HOST="nowhere.localhost", HTTP_ACCEPT_LANGUAGE=language).get("/")

    assert expected in response.content.decode()


def test_a_workspace_speaks_its_default_language_unless_someone_picks_another(owner_client, tenant):
    tenant.default_language = "de"
    tenant.save()

    german = owner_client.get("/admin/").content.decode()
    owner_client.cookies["django_language"] = "es"
    spanish = owner_client.get("/admin/").content.decode()

    assert "Kontakte" in german
    assert "Contactos" in spanish


def test_the_language_switcher_sets_the_language(owner_client):
    response = owner_client.post("/i18n/setlang/", {"language": "es", "next": "/admin/"})

    assert response.status_code == 302
    assert response.cookies["django_language"].value == "es"


def test_suspended_page_and_invitation_email_are_translated(db):
    created = tenant_create(name="Hallo GmbH", slug="hallo", owner_email="chef@hallo.example")
    created.tenant.default_language = "de"
    created.tenant.save()
    from tenants.services import tenant_owner_invitation_resend

    tenant_owner_invitation_resend(tenant=created.tenant)
    tenant_suspend(tenant=created.tenant)
    page = TenantClient(created.tenant, HTTP_ACCEPT_LANGUAGE="de").get("/admin/")

    assert (
        "Ihr EngageX-Arbeitsbereich" in mail.outbox[-1].subject
        or "Hallo GmbH" in mail.outbox[-1].subject
    )
    assert mail.outbox[-1].subject != "Your EngageX workspace “Hallo GmbH” is ready"
    assert "gesperrt" in page.content.decode()
