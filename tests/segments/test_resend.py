"""Resend to non-openers: a linked campaign reaching those with no human open."""

from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from engagex.analytics.models import EmailEvent
from engagex.campaigns.models import Campaign, CampaignRecipient
from engagex.campaigns.services.campaigns import campaign_audience, campaign_start
from engagex.segments.models import Resend
from engagex.segments.resend import campaign_resend_non_openers
from tests.factories.campaigns import CampaignFactory, CampaignRecipientFactory
from tests.factories.contacts import ContactFactory


def test_resend_reaches_recipients_without_a_human_open(in_tenant):
    original = CampaignFactory(
        status=Campaign.Status.SENT, started_at=timezone.now() - timedelta(days=2)
    )
    now = timezone.now()
    opened = CampaignRecipientFactory(campaign=original, opened_at=now)
    machine = CampaignRecipientFactory(campaign=original)
    EmailEvent.objects.create(
        event_id="m1", type="open", campaign_id=original.pk, recipient_id=machine.pk,
        contact_id=machine.contact_id, occurred_at=now, received_at=now, machine_open=True,
    )  # fmt: skip
    silent = CampaignRecipientFactory(campaign=original)
    ContactFactory()  # never a recipient of the original

    resend = campaign_resend_non_openers(campaign=original, after_hours=24, subject="Last call")

    assert resend.status == Campaign.Status.DRAFT  # 24 h after the start has passed: send now
    assert resend.subject_override == "Last call"
    assert set(campaign_audience(resend)) == {machine.contact, silent.contact}
    campaign_start(campaign_id=resend.pk)
    assert set(
        CampaignRecipient.objects.filter(campaign=resend).values_list("contact_id", flat=True)
    ) == {machine.contact_id, silent.contact_id}
    assert opened.contact_id not in set(
        CampaignRecipient.objects.filter(campaign=resend).values_list("contact_id", flat=True)
    )


def test_resend_is_scheduled_when_its_hour_is_ahead_and_only_once(in_tenant):
    original = CampaignFactory(status=Campaign.Status.SENT, started_at=timezone.now())
    CampaignRecipientFactory(campaign=original)

    resend = campaign_resend_non_openers(campaign=original, after_hours=48)

    assert resend.status == Campaign.Status.SCHEDULED
    assert abs((resend.send_at - original.started_at) - timedelta(hours=48)) < timedelta(seconds=1)
    with pytest.raises(ValidationError):
        campaign_resend_non_openers(campaign=original, after_hours=48)
    assert Resend.objects.count() == 1


def test_only_sent_campaigns_are_resent_and_hours_are_checked(in_tenant):
    draft = CampaignFactory()
    sent = CampaignFactory(status=Campaign.Status.SENT, started_at=timezone.now())

    with pytest.raises(ValidationError) as error:
        campaign_resend_non_openers(campaign=draft, after_hours=24)
    assert error.value.messages == [
        "Only a sent campaign can be resent to those who did not open it."
    ]
    with pytest.raises(ValidationError) as error:
        campaign_resend_non_openers(campaign=sent, after_hours=0)
    assert error.value.message_dict == {
        "after_hours": ["Enter a whole number of hours from 1 to 720."]
    }
    assert Campaign.objects.count() == 2
    assert Resend.objects.count() == 0
