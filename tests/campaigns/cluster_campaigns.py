"""Campaigns committed for tests that run a real task cluster (`devtools.cluster`)."""

import math
import time
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


class Recovery:
    """Seconds from a kill until the campaign sends again and until it has finished, as
    `done` (polled by `wait_for`) first sees them: stopping the cluster is not counted."""

    def __init__(self, tenant, campaign, *, killed: float, sent_at_kill: int):
        self.tenant, self.campaign = tenant, campaign
        self.killed, self.sent_at_kill = killed, sent_at_kill
        self.resumed = self.finished = math.inf

    def done(self) -> bool:
        if self.resumed == math.inf and sent_count(self.tenant, self.campaign) > self.sent_at_kill:
            self.resumed = time.monotonic() - self.killed
        if campaign_finished(self.tenant, self.campaign):
            self.finished = time.monotonic() - self.killed
            return True
        return False

    def __str__(self) -> str:
        return (
            f"sending again {self.resumed:.1f} s after the SIGKILL, finished after "
            f"{self.finished:.1f} s (sent at the kill: {self.sent_at_kill})"
        )
