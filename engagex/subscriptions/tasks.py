from engagex.core.tasks import for_each_schema, tenant_task
from engagex.subscriptions.services import abuse, confirmation


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
