import factory
from django.utils import timezone

from engagex.campaigns.models import Campaign, CampaignRecipient
from engagex.email_templates.models import EmailTemplate
from tests.factories.contacts import ContactFactory
from tests.factories.domains import verified_domain


class TemplateFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EmailTemplate

    name = factory.Sequence(lambda n: f"Template {n}")
    subject = 'Hello {{ contact.first_name|default:"there" }}'
    html_body = (
        "<h1>{{ workspace.name }} news</h1>"
        '<p>Hi {{ contact.first_name|default:"there" }}, '
        "your plan: {{ contact.attributes.plan }}</p>"
        '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p>'
    )


class CampaignFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Campaign
        skip_postgeneration_save = True

    name = factory.Sequence(lambda n: f"Campaign {n}")
    template = factory.SubFactory(TemplateFactory)
    from_name = "Alpha News"
    from_email = "news@alpha.example"
    reply_to = "hello@alpha.example"

    @factory.post_generation
    def sender_domain(self, create, extracted, **kwargs):
        """Campaigns only send from verified domains: verify the from address's one."""
        if create:
            verified_domain(self.from_email)


class CampaignRecipientFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CampaignRecipient

    campaign = factory.SubFactory(CampaignFactory, status="sent")
    contact = factory.SubFactory(ContactFactory)
    email = factory.LazyAttribute(lambda o: o.contact.email)
    status = CampaignRecipient.Status.SENT
    sent_at = factory.LazyFunction(timezone.now)
