"""Send controls: pause and cancel settle truthfully, usage counts only what was sent, the
person who started a campaign hears how it ended, the audit log keeps each control, and
every campaign admin URL answers a missing id with a 404."""

import threading
import time
from datetime import timedelta

import pytest
from django.contrib.admin.models import LogEntry
from django.db import connection, transaction
from django.urls import reverse
from django.utils import timezone
from django_q.models import OrmQ
from django_tenants.utils import schema_context

from engagex.accounts import roles
from engagex.campaigns.models import Campaign, CampaignRecipient, MonthlySendUsage
from engagex.campaigns.services.campaigns import (
    campaign_cancel,
    campaign_pause,
    campaign_resume,
    campaign_settle,
    campaign_start,
    campaigns_orphaned,
    campaigns_requeue_orphaned,
)
from engagex.campaigns.services.sending import campaign_send_some
from engagex.contacts.models import Contact, ContactStatus
from engagex.core.audit import audit_parse
from engagex.core.schedules import SCHEDULES
from engagex.notifications.models import Notification
from tenants.models import Tenant
from tests.api.conftest import key_client
from tests.factories.campaigns import CampaignFactory
from tests.factories.contacts import ContactFactory
from tests.fixtures.tenants import logged_in_client

S = Campaign.Status
R = CampaignRecipient.Status
API = "/api/v1"


def _url(name, *args):
    return reverse(name, args=args, urlconf="config.urls_tenants")


def people(n):
    return [ContactFactory(email=f"c{i}@example.com", first_name=f"C{i}") for i in range(n)]


def started(n, **kwargs):
    people(n)
    campaign = CampaignFactory(**kwargs)
    return campaign_start(campaign_id=campaign.pk, user=kwargs.get("created_by"))


def claim_like_a_live_task(campaign, count):
    """Put `count` recipients in flight, as a send task does while the ESP has them."""
    ids = list(
        CampaignRecipient.objects.filter(campaign=campaign, status=R.PENDING)
        .order_by("id")
        .values_list("pk", flat=True)[:count]
    )
    CampaignRecipient.objects.filter(pk__in=ids).update(status=R.SENDING, claimed_at=timezone.now())
    return ids


def answer(ids):
    """The ESP answered the batch in flight: its recipients are sent."""
    CampaignRecipient.objects.filter(pk__in=ids).update(status=R.SENT, sent_at=timezone.now())


def used_this_month():
    return MonthlySendUsage.objects.get(month=timezone.now().date().replace(day=1)).sends


# --- item 8: pause and cancel settle ------------------------------------------------------
def test_pause_with_batches_in_flight_shows_pausing_then_paused_on_the_page_list_and_api(
    tenant, owner, owner_client
):
    with schema_context(tenant.schema_name):
        campaign = started(5, created_by=owner)
        flying = claim_like_a_live_task(campaign, 2)
    api = key_client(tenant, roles.OWNER, owner)

    # when: the pause is clicked while two recipients are with the ESP
    owner_client.post(_url("admin:campaigns_campaign_pause_detail", campaign.pk))

    # then: nothing claims more, and every view says "Pausing…" with what is in flight
    page = owner_client.get(_url("admin:campaigns_campaign_change", campaign.pk)).content.decode()
    listing = owner_client.get(_url("admin:campaigns_campaign_changelist")).content.decode()
    data = api.get(f"{API}/campaigns/{campaign.pk}/").json()
    assert "Pausing… 2 recipients are still with the email service" in page
    assert "0 sent · 0 not sent · 2 in flight · 3 waiting" in page
    assert "Pausing… 2 in flight" in listing
    assert (data["status"], data["in_flight"]) == ("pausing", 2)
    with schema_context(tenant.schema_name):
        assert campaign_send_some(campaign_id=campaign.pk) is False
        assert CampaignRecipient.objects.filter(campaign=campaign, status=R.PENDING).count() == 3

        # when: the ESP answers the batch that was with it
        answer(flying)
        campaign_settle(campaign.pk)

    # then: only now the final state, and the count stays where it is
    page = owner_client.get(_url("admin:campaigns_campaign_change", campaign.pk)).content.decode()
    data = api.get(f"{API}/campaigns/{campaign.pk}/").json()
    assert 'data-testid="campaign-status">Paused<' in page
    assert "2 sent · 0 not sent · 0 in flight · 3 waiting" in page
    assert "Pausing…" not in page
    assert (data["status"], data["in_flight"], data["finished_at"]) == ("paused", 0, None)


def test_cancel_with_batches_in_flight_has_no_finish_time_until_they_are_answered(
    tenant, owner, owner_client
):
    with schema_context(tenant.schema_name):
        campaign = started(4, created_by=owner)
        flying = claim_like_a_live_task(campaign, 1)

    response = owner_client.post(_url("admin:campaigns_campaign_cancel_detail", campaign.pk))

    page = owner_client.get(response.url).content.decode()
    assert "Cancelling: batches already with the email service finish" in page
    assert "Cancelling… 1 recipient is still with the email service" in page
    assert "Finished" not in page
    with schema_context(tenant.schema_name):
        campaign.refresh_from_db()
        assert (campaign.status, campaign.finished_at) == (S.CANCELLING, None)
        answer(flying)
        assert campaign_send_some(campaign_id=campaign.pk) is False  # a late task settles it
        campaign.refresh_from_db()
    page = owner_client.get(response.url).content.decode()
    assert campaign.status == S.CANCELLED
    assert campaign.finished_at is not None
    assert 'data-testid="campaign-status">Cancelled<' in page
    assert "Finished" in page


@pytest.fixture
def committed(django_db_setup, django_db_blocker, fake_sendgrid, settings):
    """A started campaign in `beta`, committed so that a second connection sees it."""
    settings.CAMPAIGN_BATCH_SIZE = 2
    made = []

    def make(recipients: int) -> Campaign:
        with django_db_blocker.unblock(), schema_context("beta"):
            Contact.objects.bulk_create(
                Contact(email=f"race{i}@race.example") for i in range(recipients)
            )
            campaign = campaign_start(campaign_id=CampaignFactory().pk)
            made.append(campaign)
            return campaign

    yield make
    with django_db_blocker.unblock(), schema_context("beta"):
        for campaign in made:
            CampaignRecipient.objects.filter(campaign=campaign).delete()
            campaign.delete()
        Contact.objects.filter(email__endswith="@race.example").delete()
        OrmQ.objects.all().delete()


def test_a_pause_committed_after_a_tasks_status_check_but_before_its_claim_sends_nothing(
    committed, django_db_blocker, fake_sendgrid
):
    """The claim itself checks the campaign: a task that read "sending" just before the pause
    committed still claims nothing once it has."""
    campaign = committed(6)
    outcome = {}

    def task():
        with schema_context("beta"):
            try:
                outcome["going"] = campaign_send_some(campaign_id=campaign.pk)
            finally:
                connection.close()

    with django_db_blocker.unblock(), schema_context("beta"):
        with transaction.atomic():
            # The pause is made but not yet committed: a task reading the status now sees
            # "sending". Its claim waits (the table lock) until the pause has committed.
            with connection.cursor() as cursor:
                cursor.execute("LOCK TABLE campaigns_campaignrecipient IN EXCLUSIVE MODE")
            campaign_pause(campaign=campaign)
            worker = threading.Thread(target=task)
            worker.start()
            time.sleep(1.0)
        paused_at = time.monotonic()
        worker.join(30)
        campaign.refresh_from_db()
        pending = CampaignRecipient.objects.filter(campaign=campaign, status=R.PENDING).count()

    assert outcome == {"going": False}
    assert campaign.status == S.PAUSED
    assert fake_sendgrid.accepted_since(paused_at) == 0
    assert fake_sendgrid.stats()["requests"] == 0  # no batch reached the ESP
    assert pending == 6


def test_a_task_queued_before_a_pause_claims_nothing_after_the_resume(in_tenant, fake_sendgrid):
    people(4)
    campaign = campaign_start(campaign_id=CampaignFactory().pk)
    first_round = campaign.send_round
    campaign_pause(campaign=campaign)
    campaign = campaign_resume(campaign=campaign)

    # The old round's task (queued before the pause) runs after the resume: it stops.
    assert campaign_send_some(campaign_id=campaign.pk, send_round=first_round) is False
    assert fake_sendgrid.stats()["requests"] == 0
    # The resume's own tasks send everyone, once.
    while campaign_send_some(campaign_id=campaign.pk, send_round=campaign.send_round):
        pass
    campaign.refresh_from_db()
    assert campaign.status == S.SENT
    assert fake_sendgrid.stats() | {"max_concurrent": 0} == {
        "requests": 1, "accepted": 4, "recipients": 4, "duplicates": 0, "max_concurrent": 0
    }  # fmt: skip


def test_resume_queues_one_new_round_of_tasks(
    in_tenant, settings, django_capture_on_commit_callbacks
):
    settings.CAMPAIGN_SEND_TASKS = 3
    people(2)
    campaign = campaign_start(campaign_id=CampaignFactory().pk)
    campaign_pause(campaign=campaign)
    OrmQ.objects.all().delete()

    with django_capture_on_commit_callbacks(execute=True):
        campaign = campaign_resume(campaign=campaign)

    queued = [q.task["args"] for q in OrmQ.objects.all()]
    assert queued == [("alpha", campaign.pk, 2)] * 3


def test_resume_waits_for_paused_so_old_and_new_batches_never_overlap(tenant, owner):
    with schema_context(tenant.schema_name):
        campaign = started(3, created_by=owner)
        claim_like_a_live_task(campaign, 2)
        campaign_pause(campaign=campaign)
    api = key_client(tenant, roles.OWNER, owner)

    response = api.post(f"{API}/campaigns/{campaign.pk}/resume/")

    assert response.status_code == 400
    assert response.json()["error"]["message"] == (
        "It is still pausing: 2 recipients are with the email service. Resume it once it "
        "shows “Paused”, in a few seconds."
    )
    with schema_context(tenant.schema_name):
        campaign.refresh_from_db()
        assert (campaign.status, campaign.send_round) == (S.PAUSING, 1)


def test_pausing_twice_is_refused_with_the_state_machines_message(in_tenant):
    campaign = started(2)
    claim_like_a_live_task(campaign, 1)
    campaign_pause(campaign=campaign)

    with pytest.raises(Exception, match="This campaign is “Pausing”: it cannot be paused."):
        campaign_pause(campaign=campaign)


# --- item 9: usage counts what was sent -------------------------------------------------------
def test_cancelling_gives_back_what_was_never_sent_on_the_billing_page_and_api(
    tenant, owner, owner_client, fake_sendgrid, settings
):
    settings.CAMPAIGN_BATCH_SIZE = 2
    with schema_context(tenant.schema_name):
        month = timezone.now().date().replace(day=1)
        before = MonthlySendUsage.objects.filter(month=month).first()
        before = before.sends if before else 0
        campaign = started(5, created_by=owner)
        campaign_send_some(campaign_id=campaign.pk, max_batches=1)
        assert used_this_month() == before + 5  # reserved at the start
    api = key_client(tenant, roles.OWNER, owner)

    owner_client.post(_url("admin:campaigns_campaign_cancel_detail", campaign.pk))

    with schema_context(tenant.schema_name):
        assert used_this_month() == before + 2
        campaign.refresh_from_db()
        assert (campaign.status, campaign.usage_counted) == (S.CANCELLED, 2)
        campaign_settle(campaign.pk)  # settling again gives back nothing more
        assert used_this_month() == before + 2
    billing = owner_client.get("/admin/billing/").content.decode()
    usage = billing.split('data-testid="usage-monthly_sends"')[1].split("</strong>")[0]
    assert f"<strong>{before + 2} / " in usage
    assert api.get(f"{API}/subscription/current/").json()["sends_this_month"] == before + 2


def test_a_failed_campaign_gives_back_every_recipient_it_did_not_send(in_tenant, fake_sendgrid):
    people(3)
    fake_sendgrid.respond_next(401, {"errors": [{"message": "bad key"}]})
    campaign = campaign_start(campaign_id=CampaignFactory().pk)
    assert used_this_month() == 3

    assert campaign_send_some(campaign_id=campaign.pk) is False

    campaign.refresh_from_db()
    assert campaign.status == S.FAILED
    assert used_this_month() == 0


def test_a_sent_campaign_counts_only_the_emails_handed_to_the_esp(in_tenant, fake_sendgrid):
    ann, bob = people(2)
    campaign = campaign_start(campaign_id=CampaignFactory().pk)
    Contact.objects.filter(pk=bob.pk).update(status=ContactStatus.UNSUBSCRIBED)

    while campaign_send_some(campaign_id=campaign.pk):
        pass

    campaign.refresh_from_db()
    assert campaign.status == S.SENT
    assert used_this_month() == 1


def test_a_campaign_started_last_month_gives_back_to_that_month(in_tenant, fake_sendgrid):
    this_month = timezone.now().date().replace(day=1)
    last_month = (this_month - timedelta(days=1)).replace(day=1)
    campaign = started(3)
    # It started (and reserved) in last month's last minutes.
    MonthlySendUsage.objects.filter(month=this_month).update(month=last_month)
    MonthlySendUsage.objects.create(month=this_month, sends=7)
    Campaign.objects.filter(pk=campaign.pk).update(usage_month=last_month)
    campaign.refresh_from_db()

    campaign_cancel(campaign=campaign)

    assert MonthlySendUsage.objects.get(month=last_month).sends == 0
    assert MonthlySendUsage.objects.get(month=this_month).sends == 7


def test_an_unconfirmed_batch_stays_counted(in_tenant, fake_sendgrid, settings):
    """A dead worker's batch the ESP cannot confirm may have been sent: it is not given back."""
    settings.SENDGRID_API_KEY = ""  # the ESP's activity cannot be asked
    campaign = started(3)
    CampaignRecipient.objects.filter(campaign=campaign).update(
        status=R.SENDING, claimed_at=timezone.now() - timedelta(hours=1)
    )
    settings.CAMPAIGN_STALE_CLAIM_SECONDS = 1
    campaign_cancel(campaign=campaign)  # three in flight: cancelling

    assert campaign_send_some(campaign_id=campaign.pk) is False  # reconciled, settled

    campaign.refresh_from_db()
    assert campaign.status == S.CANCELLED
    assert used_this_month() == 3


# --- item 11: the person who started it hears how it ended ----------------------------------
def test_a_cancelled_campaign_notifies_the_person_who_started_it(tenant, owner, make_member):
    marketer = make_member(roles.MARKETER, email="starter@alpha.example")
    client = logged_in_client(tenant, marketer)
    with schema_context(tenant.schema_name):
        people(3)
        campaign = CampaignFactory(created_by=owner)
    client.post(_url("admin:campaigns_campaign_send_now_detail", campaign.pk))
    client.post(_url("admin:campaigns_campaign_cancel_detail", campaign.pk))

    with schema_context(tenant.schema_name):
        notices = list(Notification.objects.filter(link__contains=f"/campaign/{campaign.pk}/"))
    assert [(n.recipient, n.title, n.body, n.level) for n in notices] == [
        (
            marketer,
            f"Campaign cancelled: {campaign.name}",
            "0 sent before it stopped; 3 will not get it.",
            "warning",
        )
    ]


def test_a_campaign_paused_by_esp_failures_notifies_the_person_who_started_it(
    tenant, owner, fake_sendgrid
):
    with schema_context(tenant.schema_name):
        people(2)
        fake_sendgrid.respond_next(500, times=10)
        campaign = started(0, created_by=owner)
        campaign_send_some(campaign_id=campaign.pk)
        campaign.refresh_from_db()
        notice = Notification.objects.get(link__contains=f"/campaign/{campaign.pk}/")

    assert campaign.status == S.PAUSED
    assert (notice.recipient, notice.title) == (owner, f"Campaign paused: {campaign.name}")
    assert notice.body.startswith("The email service kept failing (HTTP 500")
    assert notice.body.endswith("0 sent so far; 2 wait until it is resumed.")


def test_a_pause_by_a_person_notifies_nobody(tenant, owner, owner_client):
    with schema_context(tenant.schema_name):
        campaign = started(2, created_by=owner)

    owner_client.post(_url("admin:campaigns_campaign_pause_detail", campaign.pk))

    with schema_context(tenant.schema_name):
        campaign.refresh_from_db()
        assert campaign.status == S.PAUSED
        assert not Notification.objects.filter(link__contains=f"/campaign/{campaign.pk}/").exists()


# --- item 14: the audit log -------------------------------------------------------------------
def _audit(tenant, campaign):
    with schema_context(tenant.schema_name):
        entries = LogEntry.objects.filter(
            object_id=str(campaign.pk), content_type__model="campaign"
        ).order_by("pk")
        return [(e.user.email, *audit_parse(e)) for e in entries]


def test_the_console_audits_send_schedule_pause_resume_and_cancel(tenant, owner, owner_client):
    with schema_context(tenant.schema_name):
        people(3)
        campaign = CampaignFactory()
        later = CampaignFactory()
    when = timezone.localtime() + timedelta(days=2)
    day, hour = when.strftime("%Y-%m-%d"), when.strftime("%H:%M")

    owner_client.post(_url("admin:campaigns_campaign_send_now_detail", campaign.pk))
    owner_client.post(_url("admin:campaigns_campaign_pause_detail", campaign.pk))
    owner_client.post(_url("admin:campaigns_campaign_resume_detail", campaign.pk))
    owner_client.post(_url("admin:campaigns_campaign_cancel_detail", campaign.pk))
    owner_client.post(
        _url("admin:campaigns_campaign_schedule_detail", later.pk),
        {"send_at_0": day, "send_at_1": hour},
    )

    email = owner.email
    assert _audit(tenant, campaign) == [
        (email, "sent", "3 recipients"),
        (email, "paused", "0 of 3 sent"),
        (email, "resumed", "0 of 3 sent"),
        (email, "cancelled", "0 of 3 sent"),
    ]
    ((who, verb, detail),) = _audit(tenant, later)
    assert (who, verb) == (email, "scheduled")
    assert detail.startswith(f"for {day} {hour}")
    page = owner_client.get(_url("admin:admin_logentry_changelist")).content.decode()
    assert "3 recipients" in page


def test_the_api_audits_controls_as_the_keys_creator(tenant, owner, make_member):
    marketer = make_member(roles.MARKETER, email="keyholder@alpha.example")
    api = key_client(tenant, roles.MARKETER, marketer)
    with schema_context(tenant.schema_name):
        people(2)
        campaign = CampaignFactory(created_by=owner)
        later = CampaignFactory()
    when = (timezone.now() + timedelta(days=1)).isoformat()

    answers = [
        api.post(f"{API}/campaigns/{campaign.pk}/send/"),
        api.post(f"{API}/campaigns/{campaign.pk}/pause/"),
        api.post(f"{API}/campaigns/{campaign.pk}/resume/"),
        api.post(f"{API}/campaigns/{campaign.pk}/cancel/"),
        api.post(
            f"{API}/campaigns/{later.pk}/schedule/",
            {"send_at": when},
            content_type="application/json",
        ),
    ]

    assert [r.status_code for r in answers] == [202, 200, 200, 200, 200]
    assert [r.json()["status"] for r in answers] == [
        "sending", "paused", "sending", "cancelled", "scheduled"
    ]  # fmt: skip
    via = "(API key “Marketer key”)"
    assert _audit(tenant, campaign) == [
        (marketer.email, "sent", f"2 recipients {via}"),
        (marketer.email, "paused", f"0 of 2 sent {via}"),
        (marketer.email, "resumed", f"0 of 2 sent {via}"),
        (marketer.email, "cancelled", f"0 of 2 sent {via}"),
    ]
    assert [verb for _, verb, _ in _audit(tenant, later)] == ["scheduled"]
    with schema_context(tenant.schema_name):
        campaign.refresh_from_db()
        assert campaign.started_by == marketer


def test_a_refused_control_is_not_audited(tenant, owner_client):
    with schema_context(tenant.schema_name):
        campaign = CampaignFactory()  # a draft: nothing to pause

    response = owner_client.post(_url("admin:campaigns_campaign_pause_detail", campaign.pk))

    assert response.status_code == 403
    assert _audit(tenant, campaign) == []


# --- item 19: missing campaigns are 404s ----------------------------------------------------
ACTIONS = ["send_now", "schedule", "unschedule", "pause", "resume", "cancel", "duplicate"]


def test_every_campaign_admin_url_with_a_missing_or_other_workspace_id_is_a_404(
    tenant, other_tenant, owner_client
):
    with schema_context(other_tenant.schema_name):
        theirs = CampaignFactory(name="Beta only")
        Campaign.objects.filter(pk=theirs.pk).update(status=S.SENDING)
    with schema_context(tenant.schema_name):
        assert not Campaign.objects.filter(pk=theirs.pk).exists()
        before = Campaign.objects.count()

    for object_id in (theirs.pk, 999999, "abc"):
        for name in ACTIONS:
            url = f"/admin/campaigns/campaign/{object_id}/{name.replace('_now', '')}/"
            assert owner_client.get(url).status_code == 404, url
            assert owner_client.post(url).status_code == 404, url
        # Django's own pages go back to the console's home saying it does not exist.
        for url in (
            f"/admin/campaigns/campaign/{object_id}/change/",
            f"/admin/campaigns/campaign/{object_id}/delete/",
            f"/admin/campaigns/campaign/{object_id}/history/",
            f"/admin/campaigns/campaignrecipient/{object_id}/change/",
        ):
            response = owner_client.get(url, follow=True)
            assert response.redirect_chain == [("/admin/", 302)], url
            assert "doesn’t exist. Perhaps it was deleted?" in response.content.decode(), url

    with schema_context(tenant.schema_name):
        assert Campaign.objects.count() == before
    with schema_context(other_tenant.schema_name):
        theirs.refresh_from_db()
        assert (theirs.status, Campaign.objects.filter(name__startswith="Copy of").count()) == (
            S.SENDING,
            0,
        )


def test_a_viewer_still_gets_403_not_404_on_an_existing_campaign(tenant, make_member):
    viewer = logged_in_client(tenant, make_member(roles.VIEWER))
    with schema_context(tenant.schema_name):
        campaign = CampaignFactory()

    response = viewer.post(_url("admin:campaigns_campaign_duplicate_detail", campaign.pk))

    assert response.status_code == 403


# --- item 10: the sweeper ---------------------------------------------------------------------
def test_the_sweeper_is_on_the_minute_schedule():
    (spec,) = [s for s in SCHEDULES if s["func"] == "engagex.campaigns.tasks.campaigns_sweep"]
    assert (spec["schedule_type"], spec["minutes"]) == ("I", 1)


def _silence(campaign, seconds=3600):
    Campaign.objects.filter(pk=campaign.pk).update(
        heartbeat_at=timezone.now() - timedelta(seconds=seconds)
    )


def test_the_sweeper_requeues_a_sending_campaign_whose_tasks_fell_silent(
    in_tenant, fake_sendgrid, settings, django_capture_on_commit_callbacks
):
    settings.CAMPAIGN_SEND_TASKS = 2
    campaign = started(3)
    fresh = started(0)  # same contacts, its tasks are alive
    OrmQ.objects.all().delete()
    _silence(campaign)

    with django_capture_on_commit_callbacks(execute=True):
        assert campaigns_requeue_orphaned() == 1

    campaign.refresh_from_db()
    assert [q.task["args"] for q in OrmQ.objects.all()] == [("alpha", campaign.pk, 2)] * 2
    assert campaign.heartbeat_at > timezone.now() - timedelta(seconds=60)
    assert campaigns_requeue_orphaned() == 0  # queued counts as alive
    assert fresh.send_round == 1
    # The old round's task, should it come back, claims nothing; the new round sends.
    assert campaign_send_some(campaign_id=campaign.pk, send_round=1) is False
    assert fake_sendgrid.stats()["requests"] == 0
    while campaign_send_some(campaign_id=campaign.pk, send_round=2):
        pass
    campaign.refresh_from_db()
    assert campaign.status == S.SENT


def test_the_sweeper_leaves_live_finished_and_paused_campaigns_alone(in_tenant):
    live = started(2)
    paused = started(0)
    campaign_pause(campaign=paused)
    done = started(0)
    Campaign.objects.filter(pk=done.pk).update(status=S.SENT)
    for campaign in (paused, done):
        _silence(campaign)
    OrmQ.objects.all().delete()

    assert set(campaigns_orphaned()) == set()
    assert live.status == S.SENDING
    assert campaigns_requeue_orphaned() == 0
    assert OrmQ.objects.count() == 0


def test_a_silent_campaign_with_only_fresh_claims_waits_for_them_to_go_stale(in_tenant, settings):
    settings.CAMPAIGN_STALE_CLAIM_SECONDS = 300
    campaign = started(2)
    CampaignRecipient.objects.filter(campaign=campaign).update(
        status=R.SENDING, claimed_at=timezone.now()
    )
    _silence(campaign)

    assert list(campaigns_orphaned()) == []  # nothing a task could do yet

    CampaignRecipient.objects.filter(campaign=campaign).update(
        claimed_at=timezone.now() - timedelta(seconds=301)
    )
    assert list(campaigns_orphaned()) == [campaign]


def test_the_sweeper_settles_a_pause_whose_worker_died(
    in_tenant, fake_sendgrid, settings, django_capture_on_commit_callbacks
):
    settings.CAMPAIGN_STALE_CLAIM_SECONDS = 60
    campaign = started(2)
    CampaignRecipient.objects.filter(campaign=campaign).update(
        status=R.SENDING, claimed_at=timezone.now() - timedelta(minutes=5), attempt=None
    )
    campaign_pause(campaign=campaign)
    _silence(campaign)
    OrmQ.objects.all().delete()

    with django_capture_on_commit_callbacks(execute=True):
        assert campaigns_requeue_orphaned() == 1
    ((schema, campaign_id, send_round),) = [q.task["args"] for q in OrmQ.objects.all()]
    campaign_send_some(campaign_id=campaign_id, send_round=send_round)

    campaign.refresh_from_db()
    assert campaign.status == S.PAUSED
    # The ESP never saw the dead worker's batch: its recipients wait for the resume.
    assert CampaignRecipient.objects.filter(campaign=campaign, status=R.PENDING).count() == 2


def test_the_sweep_covers_every_workspace(tenant, other_tenant, django_capture_on_commit_callbacks):
    with schema_context(other_tenant.schema_name):
        theirs = started(1)
        _silence(theirs)
    with schema_context(tenant.schema_name):
        assert list(campaigns_orphaned()) == []

    from engagex.campaigns.tasks import campaigns_sweep

    OrmQ.objects.all().delete()
    with django_capture_on_commit_callbacks(execute=True):
        assert campaigns_sweep() == 1
    assert [q.task["args"][0] for q in OrmQ.objects.all()] == [other_tenant.schema_name] * 2
    assert Tenant.objects.filter(schema_name=other_tenant.schema_name).exists()
