"""The campaign's send confirmation shows the pre-send checklist; warnings do not block."""

from django.urls import reverse
from django_tenants.utils import schema_context

from engagex.campaigns.models import Campaign
from tests.factories.campaigns import CampaignFactory, TemplateFactory
from tests.factories.contacts import ContactFactory


def _send_url(campaign):
    return reverse(
        "admin:campaigns_campaign_send_now_detail",
        args=[campaign.pk],
        urlconf="config.urls_tenants",
    )


def test_send_confirmation_shows_the_checklist_for_this_audience(owner_client, tenant):
    with schema_context(tenant.schema_name):
        # the template reads contact.attributes.plan; nobody in the audience has it
        ContactFactory(attributes={"city": "Lyon"})
        campaign = CampaignFactory(template=TemplateFactory(preheader=""))

    page = owner_client.get(_send_url(campaign)).content.decode()

    assert 'id="pre-send-checks"' in page
    assert 'data-check="merge" data-status="warning"' in page
    assert "contact.attributes.plan" in page
    assert 'data-check="preheader" data-status="warning"' in page
    assert 'data-check="unsubscribe" data-status="ok"' in page


def test_warnings_do_not_block_sending(owner_client, tenant, fake_sendgrid):
    with schema_context(tenant.schema_name):
        ContactFactory()
        campaign = CampaignFactory(template=TemplateFactory(preheader="", subject="S" * 90))

    response = owner_client.post(_send_url(campaign))

    assert response.status_code == 302
    with schema_context(tenant.schema_name):
        assert Campaign.objects.get().status == Campaign.Status.SENDING
