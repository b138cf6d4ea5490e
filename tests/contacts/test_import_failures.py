"""Any failure of an import ends it `failed` with a sentence a person understands, tells the
uploader, and can be retried or cancelled, in the console and through the API."""

import io
import re

import pytest
from django.contrib.admin.models import LogEntry
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django_tenants.utils import schema_context

from engagex.accounts import roles
from engagex.contacts.models import Contact, ImportJob
from engagex.contacts.services import importing
from engagex.contacts.tasks import contacts_import_run
from engagex.core.audit import audit_parse
from engagex.notifications.models import Notification
from tests.api.conftest import key_client

API = "/api/v1"
ADD = "admin:contacts_importjob_add"
BUG = "cannot adapt type '__proxy__' using placeholder '%s' (format: AUTO)"


def upload(client, name="people.csv", data=b"email,first_name\nann@example.com,Ann\n"):
    add = reverse(ADD, urlconf="config.urls_tenants")
    response = client.post(add, {"file": SimpleUploadedFile(name, data), "encoding": "auto"})
    assert response.status_code == 302
    return response["Location"], int(re.search(r"/(\d+)/", response["Location"]).group(1))


def configure(client, job_url):
    return client.post(
        job_url,
        {"step": "configure", "column_0": "email", "column_1": "first_name",
         "unknown_columns": "attributes", "update_existing": "on", "file_status": ""},
        follow=True,
    )  # fmt: skip


def crash(*args, **kwargs):
    raise RuntimeError(BUG)


def test_a_crash_during_the_dry_run_fails_the_job_readably_and_notifies(
    tenant, owner, owner_client, monkeypatch
):
    job_url, job_id = upload(owner_client)
    monkeypatch.setattr(importing, "_classify", crash)

    page = configure(owner_client, job_url)

    html = page.content.decode()
    assert page.status_code == 200
    assert "The import failed" in html
    assert "cannot adapt" not in html
    assert "RuntimeError" not in html
    assert 'value="retry"' in html
    assert 'value="cancel"' in html
    with schema_context(tenant.schema_name):
        job = ImportJob.objects.get(pk=job_id)
        assert job.status == ImportJob.Status.FAILED
        assert job.error_message == str(importing.CRASHED[ImportJob.Status.VALIDATING])
        assert not importing._stage_exists(job)
        note = Notification.objects.get(recipient=owner)
        assert note.title == "Import failed: people.csv"
        assert note.body == job.error_message
        assert Contact.objects.count() == 0


def test_a_failed_dry_run_can_be_retried_from_the_console(tenant, owner_client, monkeypatch):
    job_url, job_id = upload(owner_client)
    monkeypatch.setattr(importing, "_classify", crash)
    configure(owner_client, job_url)
    monkeypatch.undo()

    page = owner_client.post(job_url, {"step": "retry"}, follow=True)

    assert "Dry run: what the import will do" in page.content.decode()
    with schema_context(tenant.schema_name):
        job = ImportJob.objects.get(pk=job_id)
        assert (job.status, job.error_message, job.counts["new"]) == ("validated", "", 1)


def test_a_failed_import_can_be_cancelled_and_nothing_is_kept(tenant, owner_client, monkeypatch):
    job_url, job_id = upload(owner_client)
    monkeypatch.setattr(importing, "_classify", crash)
    configure(owner_client, job_url)

    page = owner_client.post(job_url, {"step": "cancel"}, follow=True)

    assert "Import cancelled; nothing was changed." in page.content.decode()
    with schema_context(tenant.schema_name):
        assert ImportJob.objects.get(pk=job_id).status == ImportJob.Status.CANCELLED
        assert Contact.objects.count() == 0


def test_a_dry_run_stuck_without_a_worker_can_be_cancelled(tenant, owner_client):
    job_url, job_id = upload(owner_client)
    with schema_context(tenant.schema_name):
        job = ImportJob.objects.get(pk=job_id)
        importing.import_job_configure(job=job, mapping=job.mapping, update_existing=True)
        importing.import_job_mark_queued(job=job, status=ImportJob.Status.VALIDATING)

    page = owner_client.get(job_url).content.decode()
    assert 'value="cancel"' in page  # "Reading the file · 0%" is no longer a dead end
    owner_client.post(job_url, {"step": "cancel"})

    with schema_context(tenant.schema_name):
        assert ImportJob.objects.get(pk=job_id).status == ImportJob.Status.CANCELLED


def test_a_crash_in_the_cluster_fails_the_job_and_emails_the_uploader(
    tenant, owner, owner_client, monkeypatch, settings, django_capture_on_commit_callbacks
):
    settings.IMPORT_BACKGROUND_ROWS = 0
    job_url, job_id = upload(owner_client)
    configure(owner_client, job_url)  # queued for the cluster
    monkeypatch.setattr(importing, "_stage", crash)

    with django_capture_on_commit_callbacks(execute=True):
        contacts_import_run(tenant.schema_name, job_id)

    with schema_context(tenant.schema_name):
        job = ImportJob.objects.get(pk=job_id)
        assert job.status == ImportJob.Status.FAILED
        assert job.error_message == str(importing.CRASHED[ImportJob.Status.VALIDATING])
        assert Notification.objects.filter(recipient=owner, level="error").count() == 1
    assert [m.subject for m in mail.outbox] == ["Import failed: people.csv"]
    assert BUG not in mail.outbox[0].body


def test_a_crash_while_applying_keeps_applied_rows_and_retry_continues(
    in_tenant, owner, monkeypatch
):
    monkeypatch.setattr(importing, "APPLY_CHUNK_ROWS", 2)
    data = b"email\n" + b"".join(f"p{i}@example.com\n".encode() for i in range(5))
    job = importing.import_job_create(upload=SimpleUploadedFile("p.csv", data), created_by=owner)
    importing.import_job_configure(job=job, mapping=job.mapping, update_existing=True)
    importing.import_job_validate(job=job)
    importing.import_job_confirm(job=job, user=owner)
    original, calls = importing._apply_range, {"n": 0}

    def crash_second(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise RuntimeError(BUG)
        return original(*args, **kwargs)

    monkeypatch.setattr(importing, "_apply_range", crash_second)
    job = importing.import_job_apply(job=job)

    assert job.status == ImportJob.Status.FAILED
    assert job.error_message == str(importing.CRASHED["importing"]).format(done="2")
    assert Contact.objects.count() == 1  # rows 2 (the first range: row 1 is the header)
    importing.import_job_retry(job=job, user=owner)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE
    assert Contact.objects.count() == 5


# --- the API ----------------------------------------------------------------------------------
@pytest.fixture
def api(tenant, owner):
    return key_client(tenant, roles.OWNER, owner)


def api_upload(client, data=b"Email,First Name\nann@example.com,Ann\n", name="people.csv"):
    file = io.BytesIO(data)
    file.name = name
    return client.post(f"{API}/contacts/import/", {"file": file})


def test_api_reads_a_failure_as_a_sentence_then_retries_it(
    tenant, api, monkeypatch, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        job_id = api_upload(api).json()["id"]
    monkeypatch.setattr(importing, "_classify", crash)
    contacts_import_run(tenant.schema_name, job_id)

    failed = api.get(f"{API}/imports/{job_id}/").json()
    assert failed["status"] == "failed"
    assert failed["error_message"] == str(importing.CRASHED["validating"])
    assert "Unexpected error" not in failed["error_message"]

    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        retried = api.post(f"{API}/imports/{job_id}/retry/")
    assert retried.status_code == 202
    contacts_import_run(tenant.schema_name, job_id)
    assert api.get(f"{API}/imports/{job_id}/").json()["status"] == "done"
    with schema_context(tenant.schema_name):
        assert list(Contact.objects.values_list("email", flat=True)) == ["ann@example.com"]


def test_api_cancels_an_import_and_a_viewer_key_cannot(tenant, api):
    job_id = api_upload(api).json()["id"]
    viewer = key_client(tenant, roles.VIEWER)

    assert viewer.post(f"{API}/imports/{job_id}/cancel/").status_code == 403
    assert viewer.post(f"{API}/imports/{job_id}/retry/").status_code == 403
    response = api.post(f"{API}/imports/{job_id}/cancel/")

    assert response.status_code == 200
    assert response.json()["status"] == "cancelled"
    with schema_context(tenant.schema_name):
        assert Contact.objects.count() == 0


def test_api_retry_of_a_finished_import_is_a_clear_400(
    tenant, api, django_capture_on_commit_callbacks
):
    job_id = api_upload(api).json()["id"]
    contacts_import_run(tenant.schema_name, job_id)

    response = api.post(f"{API}/imports/{job_id}/retry/")

    assert response.status_code == 400
    assert response.json()["error"]["message"] == "This import is “Done”: it cannot be retried now."


def test_api_upload_of_an_unusable_mapping_is_a_400_and_stores_no_job(tenant, api):
    response = api_upload(api, data=b"name,company\nAnn,Acme\n")

    assert response.status_code == 400
    assert "No column is mapped to Email" in response.json()["error"]["message"]
    with schema_context(tenant.schema_name):
        assert ImportJob.objects.count() == 0


def test_imports_are_audited_with_who_did_them(tenant, owner, owner_client, api):
    job_url, job_id = upload(owner_client)
    configure(owner_client, job_url)
    owner_client.post(job_url, {"step": "confirm"})
    api_job = api_upload(api, name="api.csv").json()["id"]
    api.post(f"{API}/imports/{api_job}/cancel/")

    with schema_context(tenant.schema_name):
        entries = [
            (e.user_id, e.object_id, *audit_parse(e))
            for e in LogEntry.objects.filter(content_type__model="importjob").order_by("pk")
            if audit_parse(e)
        ]
    assert entries == [
        (owner.pk, str(job_id), "imported", "people.csv: 1 new, 0 updated, 0 rejected"),
        (owner.pk, str(api_job), "imported",
         "api.csv: uploaded through the API, applied without review"),
        (owner.pk, str(api_job), "cancelled", "api.csv"),
    ]  # fmt: skip
