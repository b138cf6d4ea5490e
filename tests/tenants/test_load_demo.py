"""`make run`'s demo data: a workspace a new user can try every feature in."""

import io

from django.core.management import call_command
from django_tenants.utils import schema_context

from engagex.campaigns.models import Campaign
from engagex.campaigns.services.campaigns import campaign_audience
from engagex.contacts.models import Contact, ContactGroup
from engagex.email_templates.models import EmailTemplate


def test_demo_workspace_gets_sample_content_once_and_keeps_user_changes(db):
    call_command("load_demo", "--force", stdout=io.StringIO())

    with schema_context("demo"):
        assert Contact.objects.count() == 40
        assert set(ContactGroup.objects.values_list("name", flat=True)) == {
            "Newsletter",
            "Product updates",
            "Customers",
        }
        campaign = Campaign.objects.get()
        assert campaign.status == Campaign.Status.DRAFT
        assert campaign_audience(campaign).count() == 37  # 2 unsubscribed, 1 bounced left out
        EmailTemplate.objects.update(name="Renamed by the user")
        Contact.objects.filter(email="ana.silva@example.com").delete()

    call_command("load_demo", "--force", stdout=io.StringIO())

    with schema_context("demo"):
        assert Contact.objects.count() == 39
        assert list(EmailTemplate.objects.values_list("name", flat=True)) == ["Renamed by the user"]
        assert Campaign.objects.count() == 1
