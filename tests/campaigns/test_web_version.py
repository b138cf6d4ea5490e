"""The "view in browser" link shows the campaign as that recipient got it."""

from django.test import Client
from django_tenants.utils import schema_context

from engagex.campaigns.services.campaigns import campaign_start
from engagex.campaigns.services.sending import campaign_send_some
from engagex.campaigns.services.unsubscribe import unsubscribe_token
from tests.factories.campaigns import CampaignFactory, TemplateFactory
from tests.factories.contacts import ContactFactory

HTML = (
    "<h1>{{ workspace.name }}</h1>"
    '<p>Hi {{ contact.first_name|default:"there" }}</p>'
    "{% if contact.attributes.plan == 'gold' %}<p>Gold perks</p>{% endif %}"
    '<script>alert(1)</script><a href="{{ view_in_browser_url }}">View in browser</a>'
    '<a href="{{ unsubscribe_url }}">Unsubscribe</a>'
)


def public_get(url: str):
    return Client(HTTP_HOST="localhost").get(url.removeprefix("http://localhost"))


def sent_campaign(tenant, fake_sendgrid):
    with schema_context(tenant.schema_name):
        ann = ContactFactory(email="ann@example.com", first_name="Ann", attributes={"plan": "gold"})
        ContactFactory(email="bob@example.com", first_name="", attributes={})
        campaign = CampaignFactory(template=TemplateFactory(html_body=HTML, subject="News & more"))
        campaign_start(campaign_id=campaign.pk)
        while campaign_send_some(campaign_id=campaign.pk):
            pass
    payload = fake_sendgrid.requests[0]["json"]
    links = {}
    for personalization in payload["personalizations"]:
        html = payload["content"][1]["value"]
        for key, value in personalization["substitutions"].items():
            html = html.replace(key, value)
        links[personalization["to"][0]["email"]] = html.split('href="')[1].split('"')[0]
    return campaign, ann, links


def test_the_sent_link_shows_that_recipients_email_and_nothing_in_it_runs(tenant, fake_sendgrid):
    _, _, links = sent_campaign(tenant, fake_sendgrid)
    assert links["ann@example.com"].startswith("http://localhost/v/alpha.")

    ann_page = public_get(links["ann@example.com"])
    bob_page = public_get(links["bob@example.com"])

    assert ann_page.status_code == bob_page.status_code == 200
    ann_html = ann_page.content.decode()
    assert "<h1>Alpha Corp</h1><p>Hi Ann</p><p>Gold perks</p>" in ann_html
    assert "<title>News &amp; more</title>" in ann_html
    assert "<p>Hi there</p>" in bob_page.content.decode()
    assert "Gold perks" not in bob_page.content.decode()
    assert f'href="{links["ann@example.com"]}"' in ann_html  # the page links to itself
    assert "/u/alpha." in ann_html  # and still offers the unsubscribe link
    assert "default-src 'none'" in ann_page["Content-Security-Policy"]  # the script stays inert
    assert ann_page["Referrer-Policy"] == "no-referrer"


def test_a_tampered_token_or_a_draft_campaign_gets_a_400_page(tenant, fake_sendgrid):
    campaign, ann, links = sent_campaign(tenant, fake_sendgrid)
    tampered = links["ann@example.com"].replace("/v/alpha.", "/v/beta.")
    with schema_context(tenant.schema_name):
        draft = CampaignFactory()
    draft_token = unsubscribe_token(
        schema=tenant.schema_name, contact_id=ann.pk, campaign_id=draft.pk
    )

    for url in (tampered, f"/v/{draft_token}/", "/v/nonsense/"):
        response = public_get(url)
        assert response.status_code == 400, url
        assert "This email can't be shown" in response.content.decode()


def test_a_token_cannot_show_another_workspaces_campaign(tenant, other_tenant, fake_sendgrid):
    campaign, ann, _ = sent_campaign(tenant, fake_sendgrid)
    # Signed for the other workspace, naming ids that exist in this one.
    token = unsubscribe_token(
        schema=other_tenant.schema_name, contact_id=ann.pk, campaign_id=campaign.pk
    )

    assert public_get(f"/v/{token}/").status_code == 400


def test_a_contact_whose_data_passes_the_render_caps_gets_a_clear_page(tenant, fake_sendgrid):
    # given: a started campaign that loops over a list attribute, and one contact with 6,000
    from engagex.campaigns.services.unsubscribe import web_version_url

    html = "<p>{% for tag in contact.attributes.tags %}{{ tag }}{% endfor %}</p>"
    with schema_context(tenant.schema_name):
        heavy = ContactFactory(attributes={"tags": [f"t{i}" for i in range(6000)]})
        campaign = CampaignFactory(template=TemplateFactory(html_body=html))
        campaign_start(campaign_id=campaign.pk)
        token = unsubscribe_token(
            schema=tenant.schema_name, contact_id=heavy.pk, campaign_id=campaign.pk
        )

    # when
    page = public_get(web_version_url(token))

    # then: an explanation, not a 500 or a half-made email
    assert page.status_code == 422
    assert "t5999" not in page.content.decode()
