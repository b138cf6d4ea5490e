"""A draft campaign's segments are chosen on its page, beside its lists."""

from django_tenants.utils import schema_context

from engagex.segments.selectors import campaign_segments
from engagex.segments.services import segment_create
from tests.factories.campaigns import CampaignFactory


def test_campaign_page_sets_and_shows_its_segments(tenant, owner_client):
    with schema_context(tenant.schema_name):
        shop = segment_create(name="Shop", rule={"version": 1, "conditions": []})
        cys = segment_create(name="Cys", rule={"version": 1, "conditions": []})
        campaign = CampaignFactory()
        template_id = campaign.template_id
    url = f"/admin/campaigns/campaign/{campaign.pk}/change/"

    page = owner_client.get(url)
    assert page.status_code == 200
    assert "Send to segments" in page.content.decode()
    response = owner_client.post(
        url,
        {
            "name": campaign.name,
            "template": template_id,
            "subject_override": "",
            "from_name": campaign.from_name,
            "from_email": campaign.from_email,
            "reply_to": campaign.reply_to,
            "include_segments": [shop.pk],
            "exclude_segments": [cys.pk],
        },
    )

    assert response.status_code == 302, response.content.decode()[:2000]
    with schema_context(tenant.schema_name):
        assert [s.name for s in campaign_segments(campaign.pk, exclude=False)] == ["Shop"]
        assert [s.name for s in campaign_segments(campaign.pk, exclude=True)] == ["Cys"]


def test_resend_to_non_openers_from_a_sent_campaign_page(tenant, owner_client):
    from django.urls import reverse
    from django.utils import timezone

    from engagex.campaigns.models import Campaign
    from engagex.segments.models import Resend
    from tests.factories.campaigns import CampaignRecipientFactory

    with schema_context(tenant.schema_name):
        sent = CampaignFactory(status=Campaign.Status.SENT, started_at=timezone.now())
        CampaignRecipientFactory(campaign=sent)
        draft = CampaignFactory()
        url = reverse("admin:campaigns_campaign_resend_detail", args=[sent.pk])
        draft_page = reverse("admin:campaigns_campaign_change", args=[draft.pk])
        sent_page = reverse("admin:campaigns_campaign_change", args=[sent.pk])

    assert "Resend to non-openers" not in owner_client.get(draft_page).content.decode()
    assert owner_client.get(url).status_code == 200
    bad = owner_client.post(url, {"after_hours": 0, "subject": ""})
    assert bad.status_code == 200
    response = owner_client.post(url, {"after_hours": 24, "subject": "Did you miss it?"})

    assert response.status_code == 302
    with schema_context(tenant.schema_name):
        resend = Resend.objects.get(original=sent).campaign
        assert (resend.status, resend.subject_override) == ("scheduled", "Did you miss it?")
    assert resend.name in owner_client.get(sent_page).content.decode()


def test_send_page_of_a_campaign_whose_segment_is_empty_says_so(tenant, owner_client):
    """Not "this workspace has no subscribed contacts yet": it has, the segment has none."""
    from django.urls import reverse

    from engagex.contacts.models import Contact
    from engagex.segments.services import campaign_segments_set

    with schema_context(tenant.schema_name):
        Contact.objects.create(email="a@else.example")
        shop = segment_create(
            name="Shop",
            rule={
                "version": 1,
                "conditions": [{"field": "email_domain", "op": "is", "value": "shop.example"}],
            },
        )
        campaign = CampaignFactory()
        campaign_segments_set(campaign=campaign, include=[shop])
        url = reverse("admin:campaigns_campaign_send_now_detail", args=[campaign.pk])

    page = owner_client.get(url).content.decode()

    assert "its segment(s) “Shop” match no subscribed contacts" in page
    assert "has no subscribed contacts yet" not in page


def test_campaign_page_refuses_a_segment_both_sent_to_and_excluded_on_its_field(
    tenant, owner_client
):
    """The console saves segments through the campaign services: their refusal comes back
    on the form, beside the field, and nothing is stored."""
    with schema_context(tenant.schema_name):
        shop = segment_create(name="Shop", rule={"version": 1, "conditions": []})
        campaign = CampaignFactory()
    url = f"/admin/campaigns/campaign/{campaign.pk}/change/"

    response = owner_client.post(
        url,
        {
            "name": "Renamed",
            "template": campaign.template_id,
            "subject_override": "",
            "from_name": campaign.from_name,
            "from_email": campaign.from_email,
            "reply_to": campaign.reply_to,
            "include_segments": [shop.pk],
            "exclude_segments": [shop.pk],
        },
    )

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["exclude_segments"] == [
        "A segment cannot be both sent to and excluded: Shop."
    ]
    with schema_context(tenant.schema_name):
        campaign.refresh_from_db()
        assert campaign.name != "Renamed"
        assert campaign_segments(campaign.pk, exclude=False) == []
