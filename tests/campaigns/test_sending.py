import uuid
from datetime import timedelta

import pytest
from django.core.exceptions import ValidationError
from django.db.models import Count
from django.utils import timezone

from engagex.campaigns.models import Campaign, CampaignRecipient, MonthlySendUsage
from engagex.campaigns.services.campaigns import (
    MONTHLY_LIMIT,
    NO_AUDIENCE,
    campaign_audience,
    campaign_cancel,
    campaign_pause,
    campaign_resume,
    campaign_schedule,
    campaign_start,
    campaigns_start_due,
)
from engagex.campaigns.services.sending import SKIPPED_UNSUBSCRIBED, campaign_send_some
from engagex.campaigns.services.unsubscribe import unsubscribe_token_parse
from engagex.contacts.models import ContactStatus
from engagex.email_templates.services import template_render
from tests.factories.campaigns import CampaignFactory, TemplateFactory
from tests.factories.contacts import ContactFactory, ContactGroupFactory

S = Campaign.Status
R = CampaignRecipient.Status


def send_all(campaign):
    """Run the send task's work until nothing is left (what the workers do)."""
    while campaign_send_some(campaign_id=campaign.pk):
        pass
    campaign.refresh_from_db()
    return campaign


def as_received(payload, personalization, part=1):
    """The HTML one recipient gets: SendGrid fills in their substitutions."""
    html = payload["content"][part]["value"]
    for key, value in personalization["substitutions"].items():
        html = html.replace(key, value)
    return html


def people(n, **kw):
    return [ContactFactory(email=f"p{i}@example.com", first_name=f"P{i}", **kw) for i in range(n)]


def test_audience_is_subscribed_members_of_included_groups_minus_excluded(in_tenant):
    news, vip, blocked = ContactGroupFactory(), ContactGroupFactory(), ContactGroupFactory()
    a, b, c, d = people(4)
    gone = ContactFactory(status=ContactStatus.UNSUBSCRIBED)
    for contact in (a, b, c, gone):
        contact.groups.add(news)
    a.groups.add(vip)  # in two included groups: still one copy
    c.groups.add(blocked)
    campaign = CampaignFactory()
    campaign.include_groups.set([news, vip])
    campaign.exclude_groups.set([blocked])

    assert set(campaign_audience(campaign)) == {a, b}
    campaign_start(campaign_id=campaign.pk)

    assert sorted(CampaignRecipient.objects.values_list("email", flat=True)) == [a.email, b.email]
    campaign.refresh_from_db()
    assert (campaign.status, campaign.recipients_total) == (S.SENDING, 2)


def test_no_include_groups_means_every_subscribed_contact(in_tenant):
    people(3)
    ContactFactory(status=ContactStatus.BOUNCED)

    campaign_start(campaign_id=CampaignFactory().pk)

    assert CampaignRecipient.objects.count() == 3


def test_batch_is_sent_through_anymail_with_merge_data_metadata_and_unsubscribe_headers(
    in_tenant, fake_sendgrid
):
    ann = ContactFactory(email="ann@example.com", first_name="Ann", attributes={"plan": "gold"})
    ContactFactory(email="bob@example.com", first_name="")
    campaign = CampaignFactory()
    campaign_start(campaign_id=campaign.pk)

    send_all(campaign)

    assert campaign.status == S.SENT
    assert fake_sendgrid.stats()["accepted"] == 2
    (request,) = fake_sendgrid.requests
    payload = request["json"]
    assert request["headers"]["Authorization"] == "Bearer SG.test-key"
    assert payload["from"] == {"email": "news@alpha.example", "name": "Alpha News"}
    assert payload["reply_to_list"] == [{"email": "hello@alpha.example"}]
    assert payload["custom_args"]["schema"] == "alpha"
    assert "<h1>Alpha Corp news</h1>" in payload["content"][1]["value"]
    by_email = {p["to"][0]["email"]: p for p in payload["personalizations"]}
    ann_p, bob_p = by_email["ann@example.com"], by_email["bob@example.com"]
    subject_key = payload["subject"].removeprefix("Hello ")
    assert (ann_p["substitutions"][subject_key], bob_p["substitutions"][subject_key]) == (
        "Ann",
        "there",
    )
    assert "<p>Hi Ann, your plan: gold</p>" in as_received(payload, ann_p)
    assert "<p>Hi there, your plan: </p>" in as_received(payload, bob_p)
    recipient = CampaignRecipient.objects.get(email="ann@example.com")
    assert ann_p["custom_args"] == {
        "schema": "alpha",
        "campaign": str(campaign.pk),
        "recipient": str(recipient.pk),
        "anymail_id": recipient.message_id,
    }
    unsubscribe = ann_p["headers"]["List-Unsubscribe"]
    assert unsubscribe.startswith("<http://localhost/u/alpha.")
    assert ", <mailto:unsubscribe@localhost?subject=unsubscribe%20alpha." in unsubscribe
    assert ann_p["headers"]["List-Unsubscribe-Post"] == "List-Unsubscribe=One-Click"
    token = unsubscribe.split("/u/")[1].split("/")[0]
    assert unsubscribe_token_parse(token).contact_id == ann.pk
    assert recipient.status == R.SENT
    assert recipient.message_id


def test_batches_hold_at_most_the_batch_size(in_tenant, fake_sendgrid, settings):
    settings.CAMPAIGN_BATCH_SIZE = 2
    people(5)
    campaign = CampaignFactory()
    campaign_start(campaign_id=campaign.pk)

    send_all(campaign)

    # Batches may reach SendGrid in any order; what matters is that none holds more than 2.
    sizes = [len(r["json"]["personalizations"]) for r in fake_sendgrid.requests]
    assert sorted(sizes) == [1, 2, 2]
    assert fake_sendgrid.stats() | {"max_concurrent": 0} == {
        "requests": 3, "accepted": 5, "recipients": 5, "duplicates": 0, "max_concurrent": 0
    }  # fmt: skip


def test_rate_limit_and_server_errors_are_retried(in_tenant, fake_sendgrid):
    people(2)
    fake_sendgrid.respond_next(429, headers={"Retry-After": "0"})
    fake_sendgrid.respond_next(503)
    campaign = CampaignFactory()
    campaign_start(campaign_id=campaign.pk)

    send_all(campaign)

    assert campaign.status == S.SENT
    assert fake_sendgrid.stats()["requests"] == 3
    assert fake_sendgrid.stats()["accepted"] == 2
    assert CampaignRecipient.objects.filter(status=R.SENT).count() == 2


def test_persistent_server_errors_pause_the_campaign_without_losing_anyone(
    in_tenant, fake_sendgrid
):
    people(2)
    fake_sendgrid.respond_next(500, times=10)
    campaign = CampaignFactory()
    campaign_start(campaign_id=campaign.pk)

    send_all(campaign)

    assert campaign.status == S.PAUSED
    assert "The email service kept failing (HTTP 500" in campaign.failure_reason
    assert CampaignRecipient.objects.filter(status=R.PENDING).count() == 2
    fake_sendgrid.scripted.clear()
    campaign_resume(campaign=campaign)
    assert send_all(campaign).status == S.SENT
    assert fake_sendgrid.stats()["accepted"] == 2


def test_a_permanent_error_fails_that_batch_with_the_reason_and_goes_on(
    in_tenant, fake_sendgrid, settings
):
    settings.CAMPAIGN_BATCH_SIZE = 2
    people(4)
    fake_sendgrid.respond_next(400, {"errors": [{"message": "The from address is not verified"}]})
    campaign = CampaignFactory()
    campaign_start(campaign_id=campaign.pk)

    send_all(campaign)

    assert campaign.status == S.SENT
    failed = CampaignRecipient.objects.filter(status=R.FAILED)
    assert failed.count() == 2
    assert set(failed.values_list("error", flat=True)) == {
        "HTTP 400: The from address is not verified"
    }
    assert CampaignRecipient.objects.filter(status=R.SENT).count() == 2


def test_a_refused_api_key_fails_the_campaign(in_tenant, fake_sendgrid):
    people(1)
    fake_sendgrid.respond_next(401, {"errors": [{"message": "bad key"}]})
    campaign = CampaignFactory()
    campaign_start(campaign_id=campaign.pk)

    send_all(campaign)

    assert campaign.status == S.FAILED
    assert "refused the API key" in campaign.failure_reason


def test_starting_twice_sends_once(in_tenant, fake_sendgrid):
    people(3)
    campaign = CampaignFactory()
    campaign_start(campaign_id=campaign.pk)

    with pytest.raises(ValidationError, match="This campaign is “Sending”: it cannot be sent"):
        campaign_start(campaign_id=campaign.pk)
    send_all(campaign)

    assert CampaignRecipient.objects.count() == 3
    assert fake_sendgrid.stats()["duplicates"] == 0


def test_pause_and_cancel_take_effect_between_batches(in_tenant, fake_sendgrid, settings):
    settings.CAMPAIGN_BATCH_SIZE = 1
    people(3)
    campaign = CampaignFactory()
    campaign_start(campaign_id=campaign.pk)

    campaign_pause(campaign=campaign)
    assert campaign_send_some(campaign_id=campaign.pk) is False
    assert fake_sendgrid.stats()["requests"] == 0

    campaign_resume(campaign=campaign)
    campaign_send_some(campaign_id=campaign.pk, max_batches=1)
    campaign_cancel(campaign=campaign)
    assert campaign_send_some(campaign_id=campaign.pk) is False
    assert fake_sendgrid.stats()["accepted"] == 1
    assert CampaignRecipient.objects.filter(status=R.PENDING).count() == 2


def test_a_dead_workers_batch_is_reconciled_with_the_esp_not_resent_blindly(
    in_tenant, fake_sendgrid, settings
):
    settings.CAMPAIGN_BATCH_SIZE = 2
    people(4)
    campaign = CampaignFactory()
    campaign_start(campaign_id=campaign.pk)
    rows = list(CampaignRecipient.objects.order_by("id"))
    delivered, lost = uuid.uuid4(), uuid.uuid4()
    long_ago = timezone.now() - timedelta(hours=1)
    # A worker died after SendGrid accepted its batch, another before its request left.
    CampaignRecipient.objects.filter(pk__in=[r.pk for r in rows[:2]]).update(
        status=R.SENDING, attempt=delivered, claimed_at=long_ago
    )
    CampaignRecipient.objects.filter(pk__in=[r.pk for r in rows[2:]]).update(
        status=R.SENDING, attempt=lost, claimed_at=long_ago
    )
    fake_sendgrid._accept(
        {
            "custom_args": {"engagex_attempt": str(delivered)},
            "personalizations": [{"to": [{"email": r.email}]} for r in rows[:2]],
        }
    )

    send_all(campaign)

    assert campaign.status == S.SENT
    assert CampaignRecipient.objects.filter(status=R.SENT).count() == 4
    assert fake_sendgrid.stats() | {"max_concurrent": 0} == {
        "requests": 1, "accepted": 4, "recipients": 4, "duplicates": 0, "max_concurrent": 0
    }  # fmt: skip


def test_contacts_who_unsubscribed_after_the_snapshot_are_not_sent(in_tenant, fake_sendgrid):
    ann, bob = people(2)
    campaign = CampaignFactory()
    campaign_start(campaign_id=campaign.pk)
    bob.status = ContactStatus.UNSUBSCRIBED
    bob.save()

    send_all(campaign)

    assert fake_sendgrid.stats()["accepted"] == 1
    failed = CampaignRecipient.objects.get(status=R.FAILED)
    assert (failed.email, failed.error) == (bob.email, SKIPPED_UNSUBSCRIBED)


def test_a_campaign_with_no_audience_is_refused(in_tenant):
    campaign = CampaignFactory()
    campaign.include_groups.set([ContactGroupFactory()])

    with pytest.raises(ValidationError) as error:
        campaign_start(campaign_id=campaign.pk)

    assert error.value.messages == [NO_AUDIENCE]
    campaign.refresh_from_db()
    assert campaign.status == S.DRAFT


def test_monthly_send_limit_stops_a_campaign_from_starting(in_tenant, on_plan):
    on_plan(in_tenant, monthly_send_limit=2)
    people(3)
    campaign = CampaignFactory()

    with pytest.raises(ValidationError) as error:
        campaign_start(campaign_id=campaign.pk)

    assert error.value.messages == [MONTHLY_LIMIT.format(count=3, used=0, limit=2)]
    assert CampaignRecipient.objects.count() == 0
    assert not MonthlySendUsage.objects.filter(sends__gt=0).exists()


def test_sends_are_counted_per_month(in_tenant):
    people(2)
    campaign_start(campaign_id=CampaignFactory().pk)

    assert MonthlySendUsage.objects.get().sends == 2


def test_schedule_in_the_past_is_refused_and_a_due_campaign_starts(in_tenant):
    people(1)
    campaign = CampaignFactory()

    with pytest.raises(ValidationError, match="is in the past"):
        campaign_schedule(campaign=campaign, send_at=timezone.now() - timedelta(minutes=1))
    campaign_schedule(campaign=campaign, send_at=timezone.now() + timedelta(hours=1))
    campaign.refresh_from_db()
    assert campaign.status == S.SCHEDULED
    assert campaigns_start_due() == 0

    Campaign.objects.filter(pk=campaign.pk).update(send_at=timezone.now() - timedelta(seconds=1))
    assert campaigns_start_due() == 1
    campaign.refresh_from_db()
    assert campaign.status == S.SENDING


def test_later_template_edits_do_not_change_a_sending_campaign(in_tenant, fake_sendgrid):
    people(1)
    campaign = CampaignFactory()
    campaign_start(campaign_id=campaign.pk)
    template = campaign.template
    template.html_body = "<p>EDITED</p>"
    template.save()

    send_all(campaign)

    assert "EDITED" not in fake_sendgrid.requests[0]["json"]["content"][1]["value"]


def test_unsubscribe_footer_is_added_when_the_template_has_no_link(in_tenant, fake_sendgrid):
    people(1)
    campaign = CampaignFactory(template__html_body="<p>No footer here</p>")
    campaign_start(campaign_id=campaign.pk)

    send_all(campaign)

    payload = fake_sendgrid.requests[0]["json"]
    html = as_received(payload, payload["personalizations"][0])
    assert '<a href="http://localhost/u/alpha.' in html
    assert ">Unsubscribe</a>" in html
    assert "Unsubscribe: http://localhost/u/alpha." in as_received(
        payload, payload["personalizations"][0], 0
    )


def test_a_campaign_whose_domain_stopped_verifying_is_refused(in_tenant):
    from engagex.domains.models import SendingDomain

    people(1)
    campaign = CampaignFactory()
    SendingDomain.objects.filter(domain="alpha.example").update(status=SendingDomain.Status.FAILED)

    with pytest.raises(
        ValidationError, match=r"which is added but not verified \(verification failing\)"
    ):
        campaign_start(campaign_id=campaign.pk)

    assert CampaignRecipient.objects.count() == 0


def test_a_worker_keeps_several_requests_with_a_slow_esp(in_tenant, fake_sendgrid, settings):
    settings.CAMPAIGN_BATCH_SIZE = 2
    settings.CAMPAIGN_REQUESTS_IN_FLIGHT = 3
    fake_sendgrid.latency = 0.2
    people(12)
    campaign = CampaignFactory()
    campaign_start(campaign_id=campaign.pk)

    assert send_all(campaign).status == S.SENT

    stats = fake_sendgrid.stats()
    assert stats["max_concurrent"] == 3  # requests overlapped, never more than configured
    assert (stats["requests"], stats["accepted"], stats["duplicates"]) == (6, 12, 0)
    assert CampaignRecipient.objects.filter(status=R.SENT).count() == 12


def test_a_failure_with_requests_in_flight_settles_every_batch(in_tenant, fake_sendgrid, settings):
    """The ESP failing one batch pauses the campaign; the batches beside it are still recorded."""
    settings.CAMPAIGN_BATCH_SIZE = 2
    settings.CAMPAIGN_REQUESTS_IN_FLIGHT = 3
    people(10)
    fake_sendgrid.respond_next(500, times=10)  # the first batch's request and every retry
    fake_sendgrid.latency = 0.05
    campaign = CampaignFactory()
    campaign_start(campaign_id=campaign.pk)

    assert send_all(campaign).status == S.PAUSED

    accepted = fake_sendgrid.stats()["accepted"]
    counts = dict(CampaignRecipient.objects.values_list("status").annotate(n=Count("pk")))
    assert counts.get(R.SENDING, 0) == 0  # nothing left in flight
    assert counts.get(R.SENT, 0) == accepted  # what the ESP took is recorded as sent
    assert counts.get(R.PENDING, 0) == 10 - accepted  # the rest waits for the resume
    fake_sendgrid.scripted.clear()
    campaign_resume(campaign=campaign)
    assert send_all(campaign).status == S.SENT
    assert fake_sendgrid.stats()["duplicates"] == 0
    assert CampaignRecipient.objects.filter(status=R.SENT).count() == 10


def test_a_send_sees_every_contact_field_the_template_preview_offers(in_tenant, fake_sendgrid):
    html = (
        "<p>{{ contact.full_name }}|{{ contact.phone }}|{{ contact.language }}|"
        "{{ contact.email }}|{{ contact.attributes.city }}</p>"
        '<a href="{{ unsubscribe_url }}">Unsubscribe</a>'
    )
    ann = ContactFactory(
        email="ann@example.com",
        first_name="Ann",
        last_name="Lee",
        phone="+351 912 000 000",
        language="pt",
        attributes={"city": "Porto"},
    )
    campaign = CampaignFactory(template=TemplateFactory(html_body=html))
    campaign_start(campaign_id=campaign.pk)

    send_all(campaign)

    payload = fake_sendgrid.requests[0]["json"]
    sent = as_received(payload, payload["personalizations"][0])
    preview = template_render(template=campaign.template, contact=ann, workspace_name="x")
    expected = "<p>Ann Lee|+351 912 000 000|pt|ann@example.com|Porto</p>"
    assert expected in sent
    assert expected in preview.html


def test_a_contact_whose_data_passes_the_render_caps_fails_alone(in_tenant, fake_sendgrid):
    # given: a campaign looping over a list attribute; one contact's list is past the caps
    html = "<p>{% for tag in contact.attributes.tags %}{{ tag }} {% endfor %}</p>"
    heavy = ContactFactory(email="heavy@example.com", attributes={"tags": ["t"] * 6000})
    light = ContactFactory(email="light@example.com", attributes={"tags": ["vip"]})
    campaign = CampaignFactory(template=TemplateFactory(html_body=html))
    campaign_start(campaign_id=campaign.pk)

    # when
    campaign = send_all(campaign)

    # then: the other contact got the email and the campaign finished
    assert campaign.status == S.SENT
    sent_to = [
        p["to"][0]["email"] for r in fake_sendgrid.requests for p in r["json"]["personalizations"]
    ]
    assert sent_to == [light.email]
    failed = CampaignRecipient.objects.get(campaign=campaign, contact=heavy)
    assert failed.status == R.FAILED
    assert failed.error.startswith("Not sent: the email could not be made for this contact.")
    assert "5,000 items" in failed.error


def test_content_that_breaks_the_rules_is_refused_at_send_now(in_tenant, fake_sendgrid):
    # given: content saved before the rule existed (factories skip validation)
    people(2)
    campaign = CampaignFactory(
        template=TemplateFactory(
            name="Old", html_body="{% autoescape off %}<p>Hi</p>{% endautoescape %}"
        )
    )

    # when / then
    with pytest.raises(ValidationError) as refused:
        campaign_start(campaign_id=campaign.pk)

    assert refused.value.messages[0].startswith("The template “Old” cannot be sent as it is:")
    assert CampaignRecipient.objects.filter(campaign=campaign).count() == 0
    campaign.refresh_from_db()
    assert campaign.status == S.DRAFT


def test_frozen_content_that_breaks_the_rules_fails_the_campaign_instead_of_crashing(
    in_tenant, fake_sendgrid
):
    # given: a campaign that started before the rule existed (its content is frozen)
    people(2)
    campaign = CampaignFactory()
    campaign_start(campaign_id=campaign.pk)
    Campaign.objects.filter(pk=campaign.pk).update(
        content_html="{% autoescape off %}<p>Hi</p>{% endautoescape %}"
    )

    # when
    campaign = send_all(campaign)

    # then
    assert campaign.status == S.FAILED
    assert campaign.failure_reason.startswith("The content cannot be sent:")
    assert fake_sendgrid.requests == []


def test_a_batch_the_esp_backend_cannot_build_fails_with_a_plain_reason(in_tenant, fake_sendgrid):
    # given: an address (stored before validation existed) Anymail cannot parse
    ContactFactory(email='"broken@@example.com')
    campaign = CampaignFactory()
    campaign_start(campaign_id=campaign.pk)

    # when
    campaign = send_all(campaign)

    # then: a sentence a person understands, no exception text, nothing sent
    from engagex.campaigns.services.sending import NOT_BUILT

    assert campaign.status == S.FAILED
    assert campaign.failure_reason == str(NOT_BUILT)
    assert "Anymail" not in campaign.failure_reason
    assert CampaignRecipient.objects.get(campaign=campaign).error == str(NOT_BUILT)
    assert fake_sendgrid.requests == []
