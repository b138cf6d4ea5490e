from django.conf import settings

from engagex.campaigns.services.campaigns import campaigns_requeue_orphaned, campaigns_start_due
from engagex.campaigns.services.sending import campaign_send_some
from engagex.core.tasks import enqueue_tenant_task, for_each_schema, tenant_task


@tenant_task
def campaign_send(schema_name: str, campaign_id: int, send_round: int | None = None) -> None:
    """Send some batches; queue a continuation (same round) while recipients remain."""
    if campaign_send_some(
        campaign_id=campaign_id,
        max_batches=settings.CAMPAIGN_BATCHES_PER_TASK,
        send_round=send_round,
    ):
        enqueue_tenant_task(campaign_send, schema_name, campaign_id, send_round)


def campaigns_tick() -> int:
    """Start due scheduled campaigns in every workspace (runs every minute)."""
    started = 0

    def start_due():
        nonlocal started
        started += campaigns_start_due()

    for_each_schema(start_due)
    return started


def campaigns_sweep() -> int:
    """Re-queue campaigns whose send tasks died, in every workspace (runs every minute)."""
    swept = 0

    def sweep():
        nonlocal swept
        swept += campaigns_requeue_orphaned()

    for_each_schema(sweep)
    return swept
