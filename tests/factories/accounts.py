import factory

from engagex.accounts.models import User
from engagex.notifications.models import Notification


class UserFactory(factory.django.DjangoModelFactory):
    """A member of whatever schema is active when it is built."""

    class Meta:
        model = User

    email = factory.Sequence(lambda n: f"member{n}@example.com")
    full_name = factory.Faker("name")
    password = factory.django.Password("member-password-1")


class NotificationFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Notification

    recipient = factory.SubFactory(UserFactory)
    title = factory.Sequence(lambda n: f"Notification {n}")
