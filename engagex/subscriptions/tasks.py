from engagex.core.tasks import for_each_schema, tenant_task
from engagex.core.tenancy import current_schema
from engagex.subscriptions.services import abuse, confirmation, forms

# A waiting sign-up older than this has lost its task (one normally takes it in a second).
SWEEP_AFTER_SECONDS = 30


@tenant_task
def confirmations_send_batch(schema_name: str, membership_ids: list[int]) -> int:
    """Email the confirmation links of one batch of unconfirmed memberships."""
    return confirmation.confirmations_send(membership_ids=membership_ids, schema=schema_name)


def signups_expire() -> dict[str, int]:
    """Delete sign-ups left unconfirmed past each workspace's expiry (daily)."""
    totals = {"memberships": 0, "contacts": 0}

    def expire():
        for key, value in confirmation.unconfirmed_expire().items():
            totals[key] += value
        abuse.counters_purge()  # rate-limit windows and ALTCHA challenges that ended

    for_each_schema(expire)
    return totals


@tenant_task
def signups_process_task(schema_name: str) -> bool:
    """Make the workspace's waiting sign-ups contacts and memberships (queued by a post);
    when its time is up with sign-ups still waiting, the next task takes over."""
    finished = forms.signups_process()
    if not finished:
        forms.signups_process_enqueue(schema=schema_name)
    return finished


def signups_sweep() -> int:
    """Minute schedule: queue processing for workspaces whose sign-ups have waited too long
    (their task died or was never queued); return how many workspaces."""
    stale: list[str] = []

    def sweep():
        if forms.signups_stale(seconds=SWEEP_AFTER_SECONDS):
            stale.append(current_schema())

    for_each_schema(sweep)
    for schema in stale:
        forms.signups_process_enqueue(schema=schema)
    return len(stale)
