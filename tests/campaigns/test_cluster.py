import pytest
from django_tenants.utils import schema_context

from engagex.campaigns.models import Campaign, CampaignRecipient
from engagex.campaigns.services.campaigns import campaign_start
from tenants.models import Tenant
from tests.cluster import run_cluster_until
from tests.factories.campaigns import CampaignFactory
from tests.factories.contacts import ContactFactory


@pytest.mark.cluster
def test_two_workers_share_a_campaign_and_every_recipient_gets_exactly_one_copy(
    django_db_setup, django_db_blocker, fake_sendgrid_server
):
    """A real qcluster (2 workers, 2 send tasks, batches of 7) against the fake SendGrid."""
    fake_sendgrid_server.reset()
    with django_db_blocker.unblock():
        tenant = Tenant.objects.get(slug="beta")
        with schema_context(tenant.schema_name):
            contacts = [ContactFactory(email=f"c{i}@cluster.example") for i in range(60)]
            campaign = CampaignFactory()
            campaign_start(campaign_id=campaign.pk)

        def finished():
            with schema_context(tenant.schema_name):
                campaign.refresh_from_db()
                return campaign.status != Campaign.Status.SENDING

        stderr = run_cluster_until(
            finished,
            env={
                "SENDGRID_API_KEY": "SG.cluster",
                "SENDGRID_API_URL": fake_sendgrid_server.url,
                "CAMPAIGN_BATCH_SIZE": "7",
                "Q_WORKERS": "2",
            },
        )

        with schema_context(tenant.schema_name):
            assert campaign.status == Campaign.Status.SENT, stderr
            assert CampaignRecipient.objects.filter(campaign=campaign, status="sent").count() == 60
            CampaignRecipient.objects.filter(campaign=campaign).delete()
            campaign.delete()
            for contact in contacts:
                contact.delete()
        stats = fake_sendgrid_server.stats()
        assert stats["accepted"] == 60
        assert stats["duplicates"] == 0
        assert stats["requests"] == 9  # ceil(60 / 7)
