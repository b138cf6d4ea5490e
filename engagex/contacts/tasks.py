from engagex.contacts.services import importing, lists
from engagex.core.tasks import for_each_schema, tenant_task


@tenant_task
def contacts_import_run(schema_name: str, job_id: int) -> None:
    """Do whatever an import is waiting for (read, check, apply); a re-run resumes it."""
    importing.import_job_process(job_id=job_id)


# The names earlier releases queued; tasks already in a queue still find them.
contacts_import_validate = contacts_import_run
contacts_import_apply = contacts_import_run
contacts_import_unattended = contacts_import_run


@tenant_task
def contacts_confirmation_request(schema_name: str, membership_ids: list[int]) -> int:
    """Email double-opt-in confirmations to these memberships (a batch an import queued)."""
    return lists.confirmation_request_send(ids=membership_ids)


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


def contacts_upkeep() -> int:
    """Hourly, in every workspace: recompute the consent flag wherever it could be wrong
    (a send does so too, first) and delete the member changes no snapshot needs."""

    def upkeep():
        lists.awaiting_confirmation_repair()
        lists.member_changes_prune()

    return for_each_schema(upkeep)
