import factory

from engagex.contacts.models import (
    ConsentSource,
    Contact,
    ContactGroup,
    Membership,
    MembershipStatus,
)


class ContactGroupFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ContactGroup

    name = factory.Sequence(lambda n: f"Group {n}")


class ContactFactory(factory.django.DjangoModelFactory):
    """A contact in whatever schema is active when it is built."""

    class Meta:
        model = Contact

    email = factory.Sequence(lambda n: f"person{n}@example.com")
    first_name = factory.Faker("first_name")
    last_name = factory.Faker("last_name")


class MembershipFactory(factory.django.DjangoModelFactory):
    """A contact on a list (subscribed, from the console, unless told otherwise)."""

    class Meta:
        model = Membership

    contact = factory.SubFactory(ContactFactory)
    group = factory.SubFactory(ContactGroupFactory)
    status = MembershipStatus.SUBSCRIBED
    source = ConsentSource.CONSOLE
