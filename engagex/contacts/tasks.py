from engagex.contacts.services import importing
from engagex.core.tasks import for_each_schema, tenant_task


@tenant_task
def contacts_import_run(schema_name: str, job_id: int) -> None:
    """Do whatever an import is waiting for (read, check, apply); a re-run resumes it."""
    importing.import_job_process(job_id=job_id)


# The names earlier releases queued; tasks already in a queue still find them.
contacts_import_validate = contacts_import_run
contacts_import_apply = contacts_import_run
contacts_import_unattended = contacts_import_run


def contacts_imports_sweep() -> int:
    """Re-queue imports in progress that lost their worker, in every workspace (minute)."""
    queued = 0

    def sweep():
        nonlocal queued
        queued += importing.import_jobs_sweep()

    for_each_schema(sweep)
    return queued


def contacts_imports_cleanup() -> int:
    """Cancel imports left unconfirmed for two days, dropping their staging tables (daily)."""
    cancelled = 0

    def cleanup():
        nonlocal cancelled
        cancelled += importing.import_jobs_cleanup()

    for_each_schema(cleanup)
    return cancelled
