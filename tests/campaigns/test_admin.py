from django.contrib.messages import get_messages
from django.urls import reverse
from django_q.models import OrmQ
from django_tenants.utils import schema_context

from engagex.accounts import roles
from engagex.campaigns.models import Campaign, CampaignRecipient
from engagex.campaigns.services.drafts import GROUPS_OVERLAP
from tests.factories.campaigns import CampaignFactory, TemplateFactory
from tests.factories.contacts import ContactFactory, ContactGroupFactory
from tests.factories.domains import verified_domain
from tests.fixtures.tenants import logged_in_client


def _url(name, *args):
    return reverse(name, args=args, urlconf="config.urls_tenants")


def test_owner_creates_a_campaign_in_the_admin(owner_client, tenant, owner):
    with schema_context(tenant.schema_name):
        verified_domain("alpha.example")
        template = TemplateFactory()
        group = ContactGroupFactory(name="Newsletter")

    response = owner_client.post(
        _url("admin:campaigns_campaign_add"),
        {
            "name": "Launch",
            "template": template.pk,
            "from_name": "Alpha",
            "from_email": "news@alpha.example",
            "include_groups": [group.pk],
        },
    )

    assert response.status_code == 302
    with schema_context(tenant.schema_name):
        campaign = Campaign.objects.get()
        assert (campaign.status, campaign.created_by) == (Campaign.Status.DRAFT, owner)
        assert list(campaign.include_groups.all()) == [group]


def test_same_group_included_and_excluded_is_a_form_error(owner_client, tenant):
    with schema_context(tenant.schema_name):
        verified_domain("alpha.example")
        template = TemplateFactory()
        group = ContactGroupFactory(name="Both")
        draft = CampaignFactory(name="Draft")
    form = {
        "name": "Odd",
        "template": template.pk,
        "from_name": "Alpha",
        "from_email": "news@alpha.example",
        "include_groups": [group.pk],
        "exclude_groups": [group.pk],
    }

    added = owner_client.post(_url("admin:campaigns_campaign_add"), form)
    changed = owner_client.post(_url("admin:campaigns_campaign_change", draft.pk), form)

    for response in (added, changed):
        assert response.status_code == 200
        errors = response.context["adminform"].form.errors
        assert errors == {"exclude_groups": [GROUPS_OVERLAP % "Both"]}
        assert "cannot be both sent to and excluded: Both" in response.content.decode()
        assert list(get_messages(response.wsgi_request)) == []
    with schema_context(tenant.schema_name):
        assert list(Campaign.objects.values_list("name", flat=True)) == ["Draft"]
        assert not draft.include_groups.exists()
        assert not draft.exclude_groups.exists()


def test_owner_changes_a_draft_in_the_admin(owner_client, tenant):
    with schema_context(tenant.schema_name):
        group = ContactGroupFactory(name="Newsletter")
        draft = CampaignFactory(name="Draft")

    response = owner_client.post(
        _url("admin:campaigns_campaign_change", draft.pk),
        {
            "name": "Renamed",
            "template": draft.template_id,
            "from_name": "Alpha",
            "from_email": "news@alpha.example",
            "exclude_groups": [group.pk],
        },
    )

    assert response.status_code == 302
    with schema_context(tenant.schema_name):
        draft.refresh_from_db()
        assert draft.name == "Renamed"
        assert list(draft.exclude_groups.all()) == [group]
        assert not draft.include_groups.exists()


def test_send_now_shows_the_audience_then_starts_once(
    owner_client, tenant, django_capture_on_commit_callbacks
):
    with schema_context(tenant.schema_name):
        ContactFactory.create_batch(3)
        campaign = CampaignFactory()
    url = _url("admin:campaigns_campaign_send_now_detail", campaign.pk)

    confirm = owner_client.get(url).content.decode()
    assert "It goes to <strong>3</strong> subscribed contacts" in confirm
    queued = OrmQ.objects.count()
    with django_capture_on_commit_callbacks(execute=True):
        owner_client.post(url)
    second = owner_client.post(url, follow=True)

    assert second.status_code == 403  # the button is gone once it is sending
    with schema_context(tenant.schema_name):
        campaign.refresh_from_db()
        assert campaign.status == Campaign.Status.SENDING
        assert CampaignRecipient.objects.filter(campaign=campaign).count() == 3
    assert OrmQ.objects.count() == queued + 2


def test_send_now_with_no_audience_says_so(owner_client, tenant):
    with schema_context(tenant.schema_name):
        campaign = CampaignFactory()
        campaign.include_groups.set([ContactGroupFactory()])

    response = owner_client.post(
        _url("admin:campaigns_campaign_send_now_detail", campaign.pk), follow=True
    )

    assert "This campaign has no recipients" in response.content.decode()
    with schema_context(tenant.schema_name):
        campaign.refresh_from_db()
        assert campaign.status == Campaign.Status.DRAFT


def test_send_now_of_a_template_saved_before_the_rules_explains_the_refusal(owner_client, tenant):
    with schema_context(tenant.schema_name):
        ContactFactory.create_batch(2)
        campaign = CampaignFactory(
            template=TemplateFactory(
                name="Legacy", html_body="{% autoescape off %}<p>Hi</p>{% endautoescape %}"
            )
        )
    queued = OrmQ.objects.count()

    response = owner_client.post(
        _url("admin:campaigns_campaign_send_now_detail", campaign.pk), follow=True
    )

    page = response.content.decode()
    assert "The template “Legacy” cannot be sent as it is:" in page
    assert OrmQ.objects.count() == queued
    with schema_context(tenant.schema_name):
        campaign.refresh_from_db()
        assert campaign.status == Campaign.Status.DRAFT
        assert CampaignRecipient.objects.filter(campaign=campaign).count() == 0


def test_schedule_in_the_past_is_a_form_error(owner_client, tenant):
    with schema_context(tenant.schema_name):
        ContactFactory()
        campaign = CampaignFactory()

    response = owner_client.post(
        _url("admin:campaigns_campaign_schedule_detail", campaign.pk),
        {"send_at_0": "2020-01-01", "send_at_1": "10:00"},
    )

    assert response.status_code == 200
    assert "is in the past" in response.content.decode()
    with schema_context(tenant.schema_name):
        campaign.refresh_from_db()
        assert campaign.status == Campaign.Status.DRAFT


def test_viewer_cannot_send(tenant, make_member):
    with schema_context(tenant.schema_name):
        ContactFactory()
        campaign = CampaignFactory()
    viewer = logged_in_client(tenant, make_member(roles.VIEWER))

    response = viewer.post(_url("admin:campaigns_campaign_send_now_detail", campaign.pk))

    assert response.status_code == 403
    with schema_context(tenant.schema_name):
        assert CampaignRecipient.objects.count() == 0


ROLE_REFUSAL = "Your role in this workspace does not include it."


def test_a_control_the_campaign_state_rules_out_says_so_not_that_the_role_lacks_it(
    owner_client, tenant
):
    with schema_context(tenant.schema_name):
        campaign = CampaignFactory()  # a draft: nothing to pause

    response = owner_client.get(_url("admin:campaigns_campaign_pause_detail", campaign.pk))
    page = response.content.decode()

    assert response.status_code == 403
    assert "This campaign is “Draft”: it cannot be paused." in page
    assert ROLE_REFUSAL not in page
    with schema_context(tenant.schema_name):
        campaign.refresh_from_db()
        assert campaign.status == Campaign.Status.DRAFT


def test_a_viewer_refused_a_control_is_told_it_is_their_role(tenant, make_member):
    with schema_context(tenant.schema_name):
        campaign = CampaignFactory()
    viewer = logged_in_client(tenant, make_member(roles.VIEWER))

    response = viewer.get(_url("admin:campaigns_campaign_send_now_detail", campaign.pk))
    page = response.content.decode()

    assert response.status_code == 403
    assert ROLE_REFUSAL in page
    assert "it cannot be" not in page


def test_the_change_page_offers_only_the_controls_the_state_allows(owner_client, tenant):
    with schema_context(tenant.schema_name):
        campaign = CampaignFactory()  # a draft

    page = owner_client.get(_url("admin:campaigns_campaign_change", campaign.pk)).content.decode()

    offered = {
        name
        for name in ["send_now", "schedule", "unschedule", "pause", "resume", "cancel"]
        if _url(f"admin:campaigns_campaign_{name}_detail", campaign.pk) in page
    }
    assert offered == {"send_now", "schedule"}


def test_duplicate_makes_a_new_draft(owner_client, tenant):
    with schema_context(tenant.schema_name):
        campaign = CampaignFactory(name="Original")
        campaign.include_groups.set([ContactGroupFactory()])

    url = _url("admin:campaigns_campaign_duplicate_detail", campaign.pk)
    assert "Copy “Original” into a new draft?" in owner_client.get(url).content.decode()
    owner_client.post(url)

    with schema_context(tenant.schema_name):
        copy = Campaign.objects.get(name="Copy of Original")
        assert copy.status == Campaign.Status.DRAFT
        assert copy.include_groups.count() == 1


def test_unschedule_asks_then_returns_to_draft(owner_client, tenant):
    from datetime import timedelta

    from django.utils import timezone

    from engagex.campaigns.services.campaigns import campaign_schedule

    with schema_context(tenant.schema_name):
        ContactFactory()
        campaign = CampaignFactory()
        campaign_schedule(campaign=campaign, send_at=timezone.now() + timedelta(hours=2))
    url = _url("admin:campaigns_campaign_unschedule_detail", campaign.pk)

    page = owner_client.get(url).content.decode()
    with schema_context(tenant.schema_name):
        campaign.refresh_from_db()
        assert campaign.status == Campaign.Status.SCHEDULED
    owner_client.post(url)

    assert "Move it back to draft?" in page
    with schema_context(tenant.schema_name):
        campaign.refresh_from_db()
        assert (campaign.status, campaign.send_at) == (Campaign.Status.DRAFT, None)


def test_a_sent_campaign_is_read_only(owner_client, tenant):
    with schema_context(tenant.schema_name):
        campaign = CampaignFactory(status=Campaign.Status.SENT, content_subject="Hello Ann")

    page = owner_client.get(_url("admin:campaigns_campaign_change", campaign.pk)).content.decode()
    response = owner_client.post(
        _url("admin:campaigns_campaign_change", campaign.pk), {"name": "x"}
    )

    assert "Hello Ann" in page
    assert 'name="_save"' not in page
    assert response.status_code == 403


def test_a_from_address_outside_the_verified_domains_is_a_form_error(owner_client, tenant):
    with schema_context(tenant.schema_name):
        template = TemplateFactory()

    response = owner_client.post(
        _url("admin:campaigns_campaign_add"),
        {
            "name": "Spoof",
            "template": template.pk,
            "from_name": "Bank",
            "from_email": "ceo@bank.example",
        },
    )

    assert response.status_code == 200
    assert "ceo@bank.example is not on a verified sender domain" in response.content.decode()
    with schema_context(tenant.schema_name):
        assert not Campaign.objects.exists()


def test_a_duplicate_is_named_in_the_language_of_whoever_copies_it(owner_client, tenant):
    with schema_context(tenant.schema_name):
        campaign = CampaignFactory(name="Original")
    owner_client.cookies["django_language"] = "es"

    owner_client.post(_url("admin:campaigns_campaign_duplicate_detail", campaign.pk))

    with schema_context(tenant.schema_name):
        assert Campaign.objects.filter(name="Copia de Original").count() == 1


def test_the_list_shows_when_a_campaign_sent_now_started(owner_client, tenant):
    from datetime import UTC, datetime

    with schema_context(tenant.schema_name):
        CampaignFactory(
            name="Sent now",
            status=Campaign.Status.SENT,
            started_at=datetime(2025, 3, 2, 9, 30, tzinfo=UTC),
        )

    body = owner_client.get(_url("admin:campaigns_campaign_changelist")).content.decode()

    row = body.split("Sent now")[1].split("</tr>")[0]
    assert "2025" in row  # not "—" because "Send now" set no send_at
