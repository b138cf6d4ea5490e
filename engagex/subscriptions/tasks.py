from engagex.core.tasks import for_each_schema, tenant_task
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
def signups_process_task(schema_name: str) -> int:
    """Make the workspace's waiting sign-ups contacts and memberships (queued by a post)."""
    return forms.signups_process()


def signups_sweep() -> int:
    """Minute schedule: sign-ups left waiting (their task died or was never queued)."""
    total = 0

    def sweep():
        nonlocal total
        if forms.signups_stale(seconds=SWEEP_AFTER_SECONDS):
            total += forms.signups_process()

    for_each_schema(sweep)
    return total
