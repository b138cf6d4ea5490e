"""An import whose worker died is resumed by the minute sweeper, or through the API."""

import time
from datetime import timedelta

import psycopg
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import OperationalError, connection
from django.utils import timezone
from django_q.models import OrmQ
from django_tenants.utils import schema_context

from engagex.accounts import roles
from engagex.contacts.models import Contact, ImportJob
from engagex.contacts.services import importing
from engagex.contacts.tasks import contacts_import_run, contacts_imports_sweep
from engagex.core.schedules import SCHEDULES
from tests.api.conftest import key_client

API = "/api/v1"


def interrupted_job(owner, rows=5, chunk=3, monkeypatch=None):
    """A confirmed import whose run died after its first range (as a SIGKILL leaves it)."""
    data = b"email\n" + b"".join(f"p{i}@example.com\n".encode() for i in range(rows))
    job = importing.import_job_create(upload=SimpleUploadedFile("p.csv", data), created_by=owner)
    importing.import_job_configure(job=job, mapping=job.mapping, update_existing=True)
    importing.import_job_validate(job=job)
    importing.import_job_confirm(job=job, user=owner)
    monkeypatch.setattr(importing, "APPLY_CHUNK_ROWS", chunk)
    original, calls = importing._apply_range, {"n": 0}

    class Killed(BaseException):
        """Nothing in the run gets to handle it, like a SIGKILL."""

    def die_on_second(*args, **kwargs):
        calls["n"] += 1
        if calls["n"] == 2:
            raise Killed
        return original(*args, **kwargs)

    monkeypatch.setattr(importing, "_apply_range", die_on_second)
    with pytest.raises(Killed):
        importing.import_job_apply(job=job)
    monkeypatch.setattr(importing, "_apply_range", original)
    job.refresh_from_db()
    return job


def age(job, seconds):
    ImportJob.objects.filter(pk=job.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=seconds)
    )


def test_the_sweeper_is_on_the_minute_schedule():
    entry = next(s for s in SCHEDULES if s["func"].endswith("contacts_imports_sweep"))

    assert (entry["schedule_type"], entry["minutes"]) == ("I", 1)


def test_the_sweeper_requeues_an_interrupted_import_which_then_finishes(
    in_tenant, owner, monkeypatch, settings, django_capture_on_commit_callbacks
):
    job = interrupted_job(owner, monkeypatch=monkeypatch)
    assert (job.status, job.applied_through_row, Contact.objects.count()) == ("importing", 3, 2)
    age(job, settings.IMPORT_STALE_SECONDS + 1)
    queued = OrmQ.objects.count()

    with django_capture_on_commit_callbacks(execute=True):
        assert contacts_imports_sweep() == 1

    assert OrmQ.objects.count() == queued + 1
    job.refresh_from_db()
    assert job.heartbeat_at > timezone.now() - timedelta(seconds=5)  # not queued twice
    assert contacts_imports_sweep() == 0
    contacts_import_run(connection.schema_name, job.pk)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE
    assert Contact.objects.count() == 5  # no row twice, none skipped


def test_the_sweeper_leaves_fresh_and_live_imports_alone(in_tenant, owner, monkeypatch, settings):
    fresh = interrupted_job(owner, monkeypatch=monkeypatch)
    live = interrupted_job(owner, monkeypatch=monkeypatch)
    age(live, settings.IMPORT_STALE_SECONDS + 1)
    live.refresh_from_db()
    key = importing._lock_key(live.pk)
    holder = psycopg.connect(**_dsn())  # a worker's session, alive and holding the lock
    try:
        holder.execute("SELECT pg_advisory_lock(%s)", [key])

        assert contacts_imports_sweep() == 0
        assert importing.import_job_stalled(job=live) is False
        assert importing.import_job_stalled(job=fresh) is False
    finally:
        holder.close()
    assert _eventually(lambda: importing.import_job_stalled(job=live))  # its session ended


def test_a_lock_held_far_past_any_task_timeout_is_released(in_tenant, owner, monkeypatch, settings):
    job = interrupted_job(owner, monkeypatch=monkeypatch)
    age(job, settings.IMPORT_STALE_SECONDS + settings.Q_CLUSTER["timeout"] + 5)
    holder = psycopg.connect(**_dsn())  # a half-open connection the server still believes in
    holder.execute("SELECT pg_advisory_lock(%s)", [importing._lock_key(job.pk)])

    assert contacts_imports_sweep() == 0  # this pass ends the session…
    assert _eventually(lambda: contacts_imports_sweep() == 1)  # …a next one queues the job
    with pytest.raises(psycopg.OperationalError):
        holder.execute("SELECT 1")


def test_a_job_that_keeps_killing_its_worker_is_failed_not_retried_forever(
    in_tenant, owner, monkeypatch, settings
):
    job = interrupted_job(owner, monkeypatch=monkeypatch)
    ImportJob.objects.filter(pk=job.pk).update(attempts=importing.MAX_ATTEMPTS)
    age(job, settings.IMPORT_STALE_SECONDS + 1)

    assert contacts_imports_sweep() == 0

    job.refresh_from_db()
    assert job.status == ImportJob.Status.FAILED
    assert job.error_message == str(importing.STOPPED_REPEATEDLY).format(attempts=3)
    importing.import_job_retry(job=job, user=owner)  # continues from its checkpoint
    job.refresh_from_db()
    assert job.status == ImportJob.Status.DONE
    assert Contact.objects.count() == 5


def test_an_interrupted_import_is_shown_stalled_and_resumed_from_the_console(
    tenant, owner, owner_client, monkeypatch, settings
):
    with schema_context(tenant.schema_name):
        job = interrupted_job(owner, monkeypatch=monkeypatch)
        age(job, settings.IMPORT_STALE_SECONDS + 1)
    url = f"/admin/contacts/importjob/{job.pk}/change/"

    page = owner_client.get(url).content.decode()
    assert "This import has not moved for a while" in page
    assert 'value="resume"' in page
    owner_client.post(url, {"step": "resume"})

    with schema_context(tenant.schema_name):
        job.refresh_from_db()
        assert job.status == ImportJob.Status.DONE
        assert Contact.objects.count() == 5


def test_an_interrupted_import_can_be_resumed_through_the_api(
    tenant, owner, monkeypatch, settings, django_capture_on_commit_callbacks
):
    settings.IMPORT_BACKGROUND_ROWS = 1
    with schema_context(tenant.schema_name):
        job = interrupted_job(owner, monkeypatch=monkeypatch)
    api = key_client(tenant, roles.ADMIN, owner)

    with django_capture_on_commit_callbacks(execute=True):
        response = api.post(f"{API}/imports/{job.pk}/resume/")
    assert response.status_code == 202
    assert response.json()["status"] == "importing"
    contacts_import_run(tenant.schema_name, job.pk)

    assert api.get(f"{API}/imports/{job.pk}/").json()["status"] == "done"
    with schema_context(tenant.schema_name):
        assert Contact.objects.count() == 5


def test_resuming_a_live_import_is_refused(tenant, owner, monkeypatch):
    with schema_context(tenant.schema_name):
        job = interrupted_job(owner, monkeypatch=monkeypatch)
        holder = psycopg.connect(**_dsn())
        holder.execute("SELECT pg_advisory_lock(%s)", [importing._lock_key(job.pk)])
    try:
        response = key_client(tenant, roles.OWNER, owner).post(f"{API}/imports/{job.pk}/retry/")
    finally:
        holder.close()

    assert response.status_code == 400
    assert response.json()["error"]["message"] == str(importing.ALREADY_RUNNING)


def test_a_lost_database_connection_leaves_the_job_for_the_sweeper(
    in_tenant, owner, monkeypatch, settings
):
    job = importing.import_job_create(upload=SimpleUploadedFile("p.csv", b"email\na@b.co\n"))
    importing.import_job_configure(job=job, mapping=job.mapping, update_existing=True)

    def lost(job):
        raise OperationalError("server closed the connection unexpectedly")

    monkeypatch.setattr(importing, "_classify", lost)
    job = importing.import_job_validate(job=job)

    assert job.status == ImportJob.Status.VALIDATING
    assert job.error_message == str(importing.INTERRUPTED)
    monkeypatch.undo()
    age(job, settings.IMPORT_STALE_SECONDS + 1)
    assert contacts_imports_sweep() == 1
    contacts_import_run(connection.schema_name, job.pk)
    job.refresh_from_db()
    assert job.status == ImportJob.Status.VALIDATED


def _eventually(condition, timeout=5.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.05)
    return True


def _dsn() -> dict:
    settings = connection.settings_dict
    return {
        "dbname": settings["NAME"],
        "user": settings["USER"],
        "password": settings["PASSWORD"],
        "host": settings["HOST"],
        "port": settings["PORT"] or None,
        "autocommit": True,
    }
