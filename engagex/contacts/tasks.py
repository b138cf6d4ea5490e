import logging

from django.utils.translation import gettext as _

from engagex.contacts.models import ImportJob
from engagex.contacts.services import importing
from engagex.core.tasks import tenant_task
from engagex.notifications.services import notification_send

logger = logging.getLogger(__name__)
REJECTED = ("invalid", "duplicate", "over_limit")


def _validate(job: ImportJob) -> ImportJob | None:
    """Run a queued job's dry run; None when the job is not waiting for one."""
    if job.status not in {ImportJob.Status.MAPPING, ImportJob.Status.VALIDATING}:
        return None
    try:
        job = importing.import_job_validate(job=job)
    except Exception as error:
        logger.exception("Import %s failed while validating", job.pk)
        importing.import_job_fail(job=job, message=f"Unexpected error: {error}")
        raise
    if job.status != ImportJob.Status.VALIDATED:
        _notify(job, _("Import failed: %(name)s") % {"name": job.original_name}, "error")
    return job


@tenant_task
def contacts_import_validate(schema_name: str, job_id: int) -> None:
    """Run an import's dry run in the background and tell the uploader it is ready."""
    job = _validate(ImportJob.objects.get(pk=job_id))
    if job is not None and job.status == ImportJob.Status.VALIDATED:
        _notify(job, _("Import ready to confirm: %(name)s") % {"name": job.original_name}, "info")


@tenant_task
def contacts_import_unattended(schema_name: str, job_id: int) -> None:
    """Check an uploaded file and, if it could be read, apply it (no one to confirm)."""
    job = _validate(ImportJob.objects.get(pk=job_id))
    if job is not None and job.status == ImportJob.Status.VALIDATED:
        importing.import_job_confirm(job=job)
        contacts_import_apply(schema_name, job_id)


@tenant_task
def contacts_import_apply(schema_name: str, job_id: int) -> None:
    """Apply a confirmed import; a re-run after a crash resumes from its checkpoint."""
    job = ImportJob.objects.get(pk=job_id)
    if job.status != ImportJob.Status.IMPORTING:
        return
    try:
        job = importing.import_job_apply(job=job)
    except Exception as error:
        # Committed ranges stay applied; the job resumes from its checkpoint on retry.
        logger.exception("Import %s stopped while applying", job.pk)
        importing.import_job_interrupted(job=job, message=str(error))
        raise
    if job.status == ImportJob.Status.DONE:
        counts = job.counts
        title = _("Import finished: %(new)s new, %(updated)s updated, %(rejected)s rejected") % {
            "new": f"{counts.get('new', 0):,}",
            "updated": f"{counts.get('update', 0):,}",
            "rejected": f"{sum(counts.get(k, 0) for k in REJECTED):,}",
        }
        _notify(job, title, "success")
    else:
        _notify(job, _("Import failed: %(name)s") % {"name": job.original_name}, "error")


def _notify(job: ImportJob, title: str, level: str) -> None:
    if job.created_by is None:
        return
    from django.urls import reverse

    link = reverse("admin:contacts_importjob_change", args=[job.pk])
    body = job.error_message or _("Open the import to see its counts and any rejected rows.")
    notification_send(
        recipients=[job.created_by],
        title=title,
        body=body,
        link=link,
        level=level,
        email=job.background,
    )


def contacts_imports_cleanup() -> int:
    """Cancel imports left unconfirmed for two days, dropping their staging tables (daily)."""
    from datetime import timedelta

    from django.utils import timezone

    from engagex.core.tasks import for_each_schema

    cutoff = timezone.now() - timedelta(days=2)
    cancelled = 0

    def cleanup():
        nonlocal cancelled
        stale = ImportJob.objects.filter(
            status__in=[ImportJob.Status.MAPPING, ImportJob.Status.VALIDATED], updated_at__lt=cutoff
        )
        for job in stale:
            importing.import_job_cancel(job=job)
            cancelled += 1

    for_each_schema(cleanup)
    return cancelled
