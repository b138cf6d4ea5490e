"""Scale-out: two clusters on two "machines" share one Redis queue and one campaign."""

import os
import time

import psutil
import pytest

from devtools.cluster import start_cluster, wait_for
from engagex.campaigns.models import Campaign
from tenants.models import Tenant
from tests.campaigns.cluster_campaigns import campaign_finished, committed_campaign, sent_count

REDIS_URL = os.environ.get("REDIS_URL", "")


def _workers_up(process) -> bool:
    return len(psutil.Process(process.pid).children(recursive=True)) >= 4


@pytest.mark.cluster
@pytest.mark.skipif(not REDIS_URL, reason="needs REDIS_URL (.ci/run sets it when Redis answers)")
def test_two_clusters_share_a_campaigns_batches_through_redis(
    django_db_setup, django_db_blocker, fake_sendgrid_server, settings
):
    import redis
    from django_q.brokers.redis_broker import Redis
    from django_q.tasks import async_task

    fake_sendgrid_server.reset()
    settings.CAMPAIGN_SEND_TASKS = 0  # the send tasks go to Redis below, not to the ORM queue
    connection = redis.Redis.from_url(REDIS_URL)
    for key in connection.scan_iter("django_q:engagex*"):
        connection.delete(key)
    common = {
        "ENGAGEX_CLUSTER_REDIS": "1",
        "REDIS_URL": REDIS_URL,
        "SENDGRID_API_URL": fake_sendgrid_server.url,
        "CAMPAIGN_BATCH_SIZE": "2",
        "CAMPAIGN_BATCHES_PER_TASK": "2",
        "Q_WORKERS": "2",
    }
    with django_db_blocker.unblock():
        tenant = Tenant.objects.get(slug="beta")
        with committed_campaign(tenant, 80, "scale") as campaign:
            # Each "machine" has its own API key, so the fake server can tell who sent what.
            machines = [
                start_cluster({**common, "SENDGRID_API_KEY": "SG.machine-a"}),
                start_cluster({**common, "SENDGRID_API_KEY": "SG.machine-b"}),
            ]
            # Both must be up (workers forked) before the work arrives, or one takes it all.
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline and not all(_workers_up(m) for m in machines):
                time.sleep(0.2)
            time.sleep(0.5)
            broker = Redis(list_key="engagex")
            broker.connection = redis.Redis.from_url(REDIS_URL)
            for _ in range(4):
                async_task(
                    "engagex.campaigns.tasks.campaign_send",
                    tenant.schema_name,
                    campaign.pk,
                    broker=broker,
                )

            errors = wait_for(lambda: campaign_finished(tenant, campaign), machines, timeout=90)
            assert campaign.status == Campaign.Status.SENT, errors
            assert sent_count(tenant, campaign) == 80
    by_machine = {}
    for request in fake_sendgrid_server.requests:
        key = request["headers"].get("Authorization")
        by_machine[key] = by_machine.get(key, 0) + 1
    stats = fake_sendgrid_server.stats()
    assert stats["accepted"] == 80
    assert stats["duplicates"] == 0
    assert set(by_machine) == {"Bearer SG.machine-a", "Bearer SG.machine-b"}, by_machine
