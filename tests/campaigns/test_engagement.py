"""Contacts' engagement summary: kept exact by the recipients' triggers on every write path."""

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from engagex.campaigns.models import OPEN_TIMES_KEPT, CampaignRecipient, ContactEngagement
from engagex.campaigns.services.outcomes import recipients_set_outcome
from tests.factories.campaigns import CampaignFactory
from tests.factories.contacts import ContactFactory


def _recipient(contact, **outcomes):
    campaign = CampaignFactory(status="sent")
    return CampaignRecipient.objects.create(
        campaign=campaign, contact=contact, email=contact.email, status="sent", **outcomes
    )


def _summary(contact):
    row = ContactEngagement.objects.filter(contact=contact).first()
    return None if row is None else (row.open_times, row.last_click_at)


def test_opens_and_clicks_from_events_are_summarised_newest_first(in_tenant):
    now = timezone.now()
    ann, bob = ContactFactory(), ContactFactory()
    first, second = _recipient(ann), _recipient(ann)
    untouched = _recipient(bob)

    recipients_set_outcome(field="opened_at", times={first.pk: now - timedelta(days=3)})
    recipients_set_outcome(field="opened_at", times={second.pk: now - timedelta(days=1)})
    recipients_set_outcome(field="clicked_at", times={first.pk: now - timedelta(days=2)})

    assert _summary(ann) == ([now - timedelta(days=1), now - timedelta(days=3)],
                             now - timedelta(days=2))  # fmt: skip
    assert _summary(bob) is None
    # A later open of a campaign already opened changes nothing; an earlier one moves it back.
    recipients_set_outcome(field="opened_at", times={second.pk: now})
    recipients_set_outcome(field="opened_at", times={second.pk: now - timedelta(days=5)})
    assert _summary(ann)[0] == [now - timedelta(days=3), now - timedelta(days=5)]
    untouched.refresh_from_db()
    assert untouched.opened_at is None


def test_removing_an_outcome_a_recipient_or_the_contact_recomputes(in_tenant):
    now = timezone.now()
    ann = ContactFactory()
    old = _recipient(ann, opened_at=now - timedelta(days=9), clicked_at=now - timedelta(days=9))
    new = _recipient(ann, opened_at=now - timedelta(days=1))
    assert _summary(ann) == ([now - timedelta(days=1), now - timedelta(days=9)],
                             now - timedelta(days=9))  # fmt: skip

    CampaignRecipient.objects.filter(pk=new.pk).update(opened_at=None)
    assert _summary(ann) == ([now - timedelta(days=9)], now - timedelta(days=9))
    old.delete()
    assert _summary(ann) is None

    _recipient(ann, opened_at=now)
    ann.delete()
    assert ContactEngagement.objects.count() == 0


def test_the_newest_opens_are_kept_up_to_the_limit(in_tenant):
    now = timezone.now()
    ann = ContactFactory()
    for day in range(OPEN_TIMES_KEPT + 5):
        _recipient(ann, opened_at=now - timedelta(days=day))
    times = _summary(ann)[0]
    assert times == [now - timedelta(days=day) for day in range(OPEN_TIMES_KEPT)]


def test_each_workspace_summarises_only_its_own_recipients(in_tenant, other_tenant):
    ann = ContactFactory()
    _recipient(ann, opened_at=timezone.now())
    with schema_context(other_tenant.schema_name):
        assert ContactEngagement.objects.count() == 0
        bob = ContactFactory()
        _recipient(bob, opened_at=timezone.now())
        assert list(ContactEngagement.objects.values_list("contact_id", flat=True)) == [bob.pk]
    assert list(ContactEngagement.objects.values_list("contact_id", flat=True)) == [ann.pk]


def test_a_rebuild_gives_what_the_triggers_kept(in_tenant):
    from engagex.campaigns.services.outcomes import engagement_rebuild

    now = timezone.now()
    ann, bob = ContactFactory(), ContactFactory()
    older = _recipient(ann, opened_at=now - timedelta(days=2), clicked_at=now)
    newer = _recipient(ann, opened_at=now)
    _recipient(bob, clicked_at=now - timedelta(days=1))
    _recipient(ContactFactory())
    kept = {
        row.contact_id: (row.open_times, row.open_campaigns, row.last_click_at)
        for row in ContactEngagement.objects.all()
    }

    assert engagement_rebuild() == 2
    rebuilt = {
        row.contact_id: (row.open_times, row.open_campaigns, row.last_click_at)
        for row in ContactEngagement.objects.all()
    }
    assert (
        rebuilt
        == kept
        == {
            ann.pk: ([now, now - timedelta(days=2)], [newer.campaign_id, older.campaign_id], now),
            bob.pk: ([], [], now - timedelta(days=1)),
        }
    )


def test_one_statement_changing_several_recipients_of_a_contact_counts_each_open_once(in_tenant):
    """A data fix: one UPDATE gives a first open to one recipient and moves another's back.
    The second's recomputation already sees the first; the first is not added again."""
    now = timezone.now()
    ann = ContactFactory()
    # Made first, so the statement reaches it (and its recomputation fires) first.
    moved = _recipient(ann, opened_at=now - timedelta(days=1))
    fresh = _recipient(ann)
    CampaignRecipient.objects.filter(pk__in=[fresh.pk, moved.pk]).update(
        opened_at=now - timedelta(days=2)
    )
    row = ContactEngagement.objects.get(contact=ann)
    assert row.open_times == [now - timedelta(days=2)] * 2
    assert sorted(row.open_campaigns) == sorted([fresh.campaign_id, moved.campaign_id])


def test_deleting_many_contacts_drops_their_summaries_at_once(in_tenant):
    from engagex.contacts.models import Contact
    from engagex.contacts.services.contacts import contact_delete_many

    now = timezone.now()
    gone = [ContactFactory() for _ in range(3)]
    kept = ContactFactory()
    for contact in [*gone, kept]:
        _recipient(contact, opened_at=now, clicked_at=now)
    contact_delete_many(contacts=Contact.objects.filter(pk__in=[c.pk for c in gone]))

    assert list(ContactEngagement.objects.values_list("contact_id", flat=True)) == [kept.pk]
    assert CampaignRecipient.objects.filter(contact__isnull=True).count() == 3
    assert _summary(kept) == ([now], now)


@pytest.mark.parametrize("seed", [16, 17, 18])
def test_batches_of_events_keep_the_summary_a_rebuild_would_give(in_tenant, seed):
    """The webhook's batches merge opens and clicks in one statement each (the trigger steps
    aside): first opens, opens moved earlier, ties, late reports of old campaigns beyond the
    newest OPEN_TIMES_KEPT, and first clicks, in random order."""
    import random

    from engagex.campaigns.services.outcomes import engagement_rebuild

    rng = random.Random(seed)
    now = timezone.now().replace(microsecond=0)
    contacts = [ContactFactory() for _ in range(3)]
    campaigns = [CampaignFactory(status="sent") for _ in range(OPEN_TIMES_KEPT + 6)]
    recipients = [
        CampaignRecipient.objects.create(
            campaign=campaign, contact=contact, email=contact.email, status="sent"
        )
        for campaign in campaigns
        for contact in contacts
    ]

    def rows():
        return {
            row.contact_id: (row.open_times, row.open_campaigns, row.last_click_at)
            for row in ContactEngagement.objects.all()
        }

    # Few distinct times, so ties between campaigns happen; a recipient's open comes again,
    # sometimes earlier.
    for _ in range(8):
        times = {r.pk: now - timedelta(hours=rng.randrange(40)) for r in rng.sample(recipients, 60)}
        recipients_set_outcome(field="opened_at", times=times)
    kept = rows()
    assert engagement_rebuild() == 3
    assert rows() == kept
    assert all(len(times) == OPEN_TIMES_KEPT for times, _, _ in kept.values())

    # First clicks only (a click moved earlier is recomputed by the trigger).
    unclicked = rng.sample(recipients, len(recipients))
    for _ in range(4):
        batch, unclicked = unclicked[:30], unclicked[30:]
        times = {r.pk: now - timedelta(hours=rng.randrange(40)) for r in batch}
        recipients_set_outcome(field="clicked_at", times=times)
    kept = rows()
    assert engagement_rebuild() == 3
    assert rows() == kept


def test_an_open_moved_back_past_the_newest_kept_lets_the_next_one_in(in_tenant):
    """The summary keeps the newest OPEN_TIMES_KEPT; when one of them moves back behind all
    of them, the open it drops below (which the summary did not hold) takes its place."""
    now = timezone.now().replace(microsecond=0)
    ann = ContactFactory()
    recipients = [_recipient(ann) for _ in range(OPEN_TIMES_KEPT + 1)]
    times = {r.pk: now - timedelta(hours=len(recipients) - n) for n, r in enumerate(recipients)}
    recipients_set_outcome(field="opened_at", times=times)
    oldest = recipients[0]
    assert oldest.campaign_id not in ContactEngagement.objects.get(contact=ann).open_campaigns

    newest = recipients[-1]
    recipients_set_outcome(field="opened_at", times={newest.pk: now - timedelta(days=30)})

    row = ContactEngagement.objects.get(contact=ann)
    assert oldest.campaign_id in row.open_campaigns
    assert newest.campaign_id not in row.open_campaigns
    assert row.open_times[0] == now - timedelta(hours=2)


def test_a_batch_for_a_recipient_without_a_contact_summarises_nobody(in_tenant):
    ann = ContactFactory()
    recipient = _recipient(ann)
    CampaignRecipient.objects.filter(pk=recipient.pk).update(contact=None)

    recipients_set_outcome(field="opened_at", times={recipient.pk: timezone.now()})
    recipients_set_outcome(field="clicked_at", times={recipient.pk: timezone.now()})

    assert ContactEngagement.objects.count() == 0
