"""The one notification service: in-app rows, emails for what matters, role broadcasts."""

from django.core import mail
from django.urls import reverse
from django_tenants.utils import schema_context

from engagex.accounts import roles
from engagex.accounts.services import user_update
from engagex.campaigns.models import Campaign
from engagex.campaigns.services.state import campaign_locked, campaign_transition
from engagex.notifications.models import Notification
from engagex.notifications.services import notification_send, notification_send_to_role
from tests.factories.campaigns import CampaignFactory
from tests.fixtures.tenants import logged_in_client


def test_send_writes_in_app_rows_and_emails_after_commit(
    tenant, owner, django_capture_on_commit_callbacks
):
    with schema_context(tenant.schema_name):
        with django_capture_on_commit_callbacks(execute=False) as callbacks:
            sent = notification_send(
                recipients=[owner],
                title="Import finished",
                body="12 new contacts.",
                link="/admin/contacts/importjob/1/change/",
                level="success",
                email=True,
            )
            assert mail.outbox == []  # nothing leaves before the commit
        for callback in callbacks:
            callback()

    assert [n.title for n in sent] == ["Import finished"]
    assert len(mail.outbox) == 1
    message = mail.outbox[0]
    assert (message.subject, message.to) == ("Import finished", [owner.email])
    assert "http://alpha.localhost/admin/contacts/importjob/1/change/" in message.body
    assert "12 new contacts." in message.alternatives[0][0]


def test_send_without_email_sends_no_mail(tenant, owner, django_capture_on_commit_callbacks):
    with schema_context(tenant.schema_name):
        with django_capture_on_commit_callbacks(execute=True):
            notification_send(recipients=[owner], title="FYI")
        assert Notification.objects.filter(recipient=owner).count() == 1

    assert mail.outbox == []


def test_send_to_role_reaches_active_owners_only_one_email_each(
    tenant, owner, make_member, django_capture_on_commit_callbacks
):
    second = make_member(roles.OWNER, email="second.owner@alpha.example")
    gone = make_member(roles.OWNER, email="gone.owner@alpha.example")
    make_member(roles.ADMIN)
    with schema_context(tenant.schema_name):
        user_update(user=gone, full_name="", role=roles.OWNER, is_active=False)
        with django_capture_on_commit_callbacks(execute=True):
            sent = notification_send_to_role(
                role=roles.OWNER,
                title="Payment failed",
                body="Update your card on the Billing page.",
                level="error",
                email=True,
            )

        assert sorted(n.recipient.email for n in sent) == sorted([owner.email, second.email])
        assert Notification.objects.filter(title="Payment failed").count() == 2
    assert sorted(m.to[0] for m in mail.outbox) == sorted([owner.email, second.email])
    assert all(len(m.to) == 1 for m in mail.outbox)


def test_failed_campaign_notifies_its_author_and_the_admins(
    tenant, owner, make_member, django_capture_on_commit_callbacks
):
    marketer = make_member(roles.MARKETER)
    admin_user = make_member(roles.ADMIN)
    make_member(roles.VIEWER)
    with schema_context(tenant.schema_name):
        campaign = CampaignFactory(created_by=marketer, status=Campaign.Status.SENDING)
        with django_capture_on_commit_callbacks(execute=True):
            campaign_transition(
                campaign_locked(campaign.pk), Campaign.Status.FAILED, reason="Bad key"
            )

        notices = Notification.objects.filter(title=f"Campaign failed: {campaign.name}")
        assert sorted(n.recipient.email for n in notices) == sorted(
            [owner.email, admin_user.email, marketer.email]
        )
        assert notices.first().body == "Bad key"
    assert len(mail.outbox) == 3


def test_notification_list_shows_only_mine_and_badge_counts_unread(tenant, owner, make_member):
    other = make_member(roles.MARKETER)
    with schema_context(tenant.schema_name):
        notification_send(recipients=[owner], title="For the owner")
        notification_send(recipients=[other], title="For someone else")
    client = logged_in_client(tenant, owner)
    url = reverse("admin:notifications_notification_changelist", urlconf="config.urls_tenants")

    body = client.get(url).content.decode()

    assert "For the owner" in body
    assert "For someone else" not in body
