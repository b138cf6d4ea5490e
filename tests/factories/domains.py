import factory

from engagex.domains.models import SendingDomain
from engagex.domains.services import expected_records


class SendingDomainFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SendingDomain
        django_get_or_create = ["domain"]

    domain = factory.Sequence(lambda n: f"mail{n}.example.com")
    status = SendingDomain.Status.VERIFIED
    records = factory.LazyAttribute(lambda o: expected_records(o.domain))


def verified_domain(email_or_domain: str) -> SendingDomain:
    """Make the domain of an address a verified sender domain of the current workspace."""
    return SendingDomainFactory(domain=email_or_domain.rpartition("@")[2])
