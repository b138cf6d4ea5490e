import pytest

from devtools.cluster import run_cluster_until
from engagex.campaigns.models import Campaign
from tenants.models import Tenant
from tests.campaigns.cluster_campaigns import campaign_finished, committed_campaign, sent_count


@pytest.mark.cluster
def test_two_workers_share_a_campaign_and_every_recipient_gets_exactly_one_copy(
    django_db_setup, django_db_blocker, fake_sendgrid_server
):
    """A real qcluster (2 workers, 2 send tasks, batches of 7) against the fake SendGrid."""
    fake_sendgrid_server.reset()
    with django_db_blocker.unblock():
        tenant = Tenant.objects.get(slug="beta")
        with committed_campaign(tenant, 60, "cluster") as campaign:
            stderr = run_cluster_until(
                lambda: campaign_finished(tenant, campaign),
                env={
                    "SENDGRID_API_KEY": "SG.cluster",
                    "SENDGRID_API_URL": fake_sendgrid_server.url,
                    "CAMPAIGN_BATCH_SIZE": "7",
                    "Q_WORKERS": "2",
                },
            )

            assert campaign.status == Campaign.Status.SENT, stderr
            assert sent_count(tenant, campaign) == 60
    stats = fake_sendgrid_server.stats()
    assert stats["accepted"] == 60
    assert stats["duplicates"] == 0
    # Full batches of 7, except at the tail: when fewer than 14 remain, the two workers' SKIP
    # LOCKED claims can split the rest between them (e.g. 4 + 3), one request more than ceil(60/7).
    with fake_sendgrid_server.lock:
        batches = [entry["recipients"] for entry in fake_sendgrid_server.log if entry["attempt"]]
    assert max(batches) == 7
    assert sum(batches) == 60
    assert len(batches) in (9, 10), batches
    assert sum(1 for size in batches if size < 7) <= 2, batches
