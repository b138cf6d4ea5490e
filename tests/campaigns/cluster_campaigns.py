"""Campaigns committed for tests that run a real task cluster (`devtools.cluster`)."""

from contextlib import contextmanager

from django_tenants.utils import schema_context

from engagex.campaigns.models import Campaign, CampaignRecipient
from engagex.campaigns.services.campaigns import campaign_start
from tests.factories.campaigns import CampaignFactory
from tests.factories.contacts import ContactFactory


@contextmanager
def committed_campaign(tenant, recipients: int, label: str):
    """A started campaign to `recipients` new contacts of `tenant`, committed so that cluster
    processes see it; removed afterwards, also when the test fails."""
    with schema_context(tenant.schema_name):
        contacts = [ContactFactory(email=f"{label}{i}@{label}.example") for i in range(recipients)]
        campaign = CampaignFactory()
        campaign_start(campaign_id=campaign.pk)
    try:
        yield campaign
    finally:
        with schema_context(tenant.schema_name):
            CampaignRecipient.objects.filter(campaign=campaign).delete()
            campaign.delete()
            for contact in contacts:
                contact.delete()


def campaign_finished(tenant, campaign) -> bool:
    """True once the campaign has left "sending" (sent, failed, paused or cancelled)."""
    with schema_context(tenant.schema_name):
        campaign.refresh_from_db()
        return campaign.status != Campaign.Status.SENDING


def sent_count(tenant, campaign) -> int:
    with schema_context(tenant.schema_name):
        return CampaignRecipient.objects.filter(campaign=campaign, status="sent").count()
