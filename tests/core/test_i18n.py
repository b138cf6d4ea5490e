import json

import pytest
from django.core import mail
from django.test import Client
from django_tenants.test.client import TenantClient

from engagex.platform.provisioning import tenant_create, tenant_suspend


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
    from engagex.platform.provisioning import tenant_owner_invitation_resend

    tenant_owner_invitation_resend(tenant=created.tenant)
    tenant_suspend(tenant=created.tenant)
    page = TenantClient(created.tenant, HTTP_ACCEPT_LANGUAGE="de").get("/admin/")

    assert (
        "Ihr EngageX-Arbeitsbereich" in mail.outbox[-1].subject
        or "Hallo GmbH" in mail.outbox[-1].subject
    )
    assert mail.outbox[-1].subject != "Your EngageX workspace “Hallo GmbH” is ready"
    assert "gesperrt" in page.content.decode()


def test_background_work_writes_in_the_workspaces_language(tenant, owner, monkeypatch):
    """A task has no browser to follow: what it writes for people speaks the workspace's
    default language (here a failed background import's notification)."""
    from django.core.files.uploadedfile import SimpleUploadedFile
    from django_tenants.utils import schema_context

    from engagex.contacts.models import ImportJob
    from engagex.contacts.services import importing
    from engagex.contacts.tasks import contacts_import_run
    from engagex.notifications.models import Notification

    type(tenant).objects.filter(pk=tenant.pk).update(default_language="de")
    with schema_context(tenant.schema_name):
        upload = SimpleUploadedFile("leute.csv", b"email\nann@example.com\n")
        job = importing.import_job_create(upload=upload, created_by=owner)
        importing.import_job_configure(job=job, mapping=job.mapping, update_existing=True)
        importing.import_job_mark_queued(job=job, status=ImportJob.Status.VALIDATING)
    monkeypatch.setattr(importing, "_classify", lambda *a, **k: 1 / 0)

    contacts_import_run(tenant.schema_name, job.pk)

    with schema_context(tenant.schema_name):
        assert ImportJob.objects.get(pk=job.pk).status == ImportJob.Status.FAILED
        note = Notification.objects.get(recipient=owner)
    assert note.title == "Import fehlgeschlagen: leute.csv"


def test_the_unsubscribe_footer_added_to_a_campaign_speaks_the_workspaces_language(tenant):
    from django_tenants.utils import schema_context

    from engagex.campaigns.services.sending import campaign_prepare
    from tests.factories.campaigns import CampaignFactory

    tenant.default_language = "es"
    with schema_context(tenant.schema_name):
        campaign = CampaignFactory()
        campaign.content_html = "<p>Hola</p>"  # no unsubscribe link of its own

        prepared = campaign_prepare(campaign, tenant=tenant)

    assert "Recibe este correo de" in prepared.html.text
    assert "Cancelar suscripción</a>" in prepared.html.text
    assert "Cancelar suscripción: " in prepared.text.text


def test_role_choices_and_the_upload_help_follow_the_readers_language(owner_client):
    """Both were once formatted when their module loaded, so they stayed English."""
    owner_client.cookies["django_language"] = "es"

    invite = owner_client.get("/admin/accounts/invitation/add/").content.decode()
    upload = owner_client.get("/admin/contacts/importjob/add/").content.decode()

    assert "Owner — Todo, incluida la facturación" in invite
    assert "Everything, including billing" not in invite
    assert "JSON (una lista de objetos), hasta 150 MB." in upload
    assert "150.0" not in upload
    assert "150,0" not in upload


def test_the_dashboard_chart_speaks_the_readers_language(tenant):
    from django.utils import timezone, translation
    from django.utils.formats import date_format
    from django_tenants.utils import schema_context

    from engagex.analytics.selectors import _workspace_dashboard

    with schema_context(tenant.schema_name), translation.override("es"):
        growth = json.loads(_workspace_dashboard(limit=1000, days=30)["growth"])
        today = date_format(timezone.now().date(), "j M")

    assert growth["datasets"][0]["label"] == "Contactos nuevos"
    assert growth["labels"][-1] == today


def test_a_campaign_sent_notice_speaks_the_workspaces_language(tenant, owner):
    """Whoever's request or task finishes the send (here one in Spanish), the notice is
    written in the workspace's default language, German."""
    from django.utils import translation
    from django_tenants.utils import schema_context

    from engagex.campaigns.services.sending import _notify_sent
    from engagex.notifications.models import Notification
    from tests.factories.campaigns import CampaignFactory

    type(tenant).objects.filter(pk=tenant.pk).update(default_language="de")
    with schema_context(tenant.schema_name), translation.override("es"):
        campaign = CampaignFactory(name="Herbst", created_by=owner)
        _notify_sent(campaign)
        note = Notification.objects.get(recipient=owner)

    assert (note.title, note.body) == ("Kampagne gesendet: Herbst", "0 gesendet, 0 nicht gesendet.")
