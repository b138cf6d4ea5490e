import factory

from engagex.email_templates.models import EmailTemplate


class EmailTemplateFactory(factory.django.DjangoModelFactory):
    """A valid template in whatever schema is active when it is built."""

    class Meta:
        model = EmailTemplate

    name = factory.Sequence(lambda n: f"Template {n}")
    subject = "Hello {{ contact.first_name|default:'there' }}"
    preheader = "News from {{ workspace.name }}"
    html_body = (
        "<html><body><h1>Hi {{ contact.first_name }}</h1>"
        '<p>Read <a href="https://example.com/news">the news</a>.</p>'
        '<p><a href="{{ unsubscribe_url }}">Unsubscribe</a></p></body></html>'
    )
    text_body = ""
    description = ""
