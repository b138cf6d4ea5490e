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
    assert stats["requests"] == 9  # ceil(60 / 7)
