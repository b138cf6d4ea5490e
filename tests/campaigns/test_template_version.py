"""A campaign records the template version it sent; later edits never change what went out."""

from engagex.campaigns.services.campaigns import campaign_start
from engagex.email_templates.services import template_restore, template_update
from tests.campaigns.test_sending import send_all
from tests.factories.campaigns import CampaignFactory
from tests.factories.contacts import ContactFactory


def test_campaign_pins_the_version_it_sent_and_later_edits_do_not_reach_it(
    in_tenant, owner, fake_sendgrid
):
    ContactFactory(email="ann@example.com", first_name="Ann")
    campaign = CampaignFactory()
    template = campaign.template

    campaign_start(campaign_id=campaign.pk, user=owner)
    campaign.refresh_from_db()
    pinned = campaign.template_version
    sent_html = campaign.content_html
    template_update(template=template, user=owner, subject="Edited", html_body="<p>Edited</p>")
    template_restore(template=template, version=pinned, user=owner)
    template_update(template=template, user=owner, html_body="<p>Edited again</p>")
    send_all(campaign)

    campaign.refresh_from_db()
    assert pinned.number == 1
    assert campaign.template_version_id == pinned.pk
    assert campaign.content_html == sent_html == pinned.html_body
    assert "Edited" not in str(fake_sendgrid.requests[0]["json"]["content"])
    assert template.versions.count() == 4


def test_a_template_with_an_unchanged_version_is_not_versioned_again(in_tenant, owner):
    ContactFactory()
    first, second = CampaignFactory(), None
    campaign_start(campaign_id=first.pk, user=owner)
    second = CampaignFactory(template=first.template)
    ContactFactory()

    campaign_start(campaign_id=second.pk, user=owner)

    first.refresh_from_db()
    second.refresh_from_db()
    assert first.template_version_id == second.template_version_id
    assert first.template.versions.count() == 1


def test_the_campaign_page_shows_the_version_sent(owner_client, tenant, owner):
    from django.urls import reverse
    from django_tenants.utils import schema_context

    with schema_context(tenant.schema_name):
        ContactFactory()
        campaign = CampaignFactory()
        campaign_start(campaign_id=campaign.pk, user=owner)

    page = owner_client.get(
        reverse(
            "admin:campaigns_campaign_change", args=[campaign.pk], urlconf="config.urls_tenants"
        )
    ).content.decode()

    assert 'data-testid="campaign-template-version"' in page
    assert f"{campaign.template.name}, version 1" in page
