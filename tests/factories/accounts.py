import factory
from allauth.account.models import EmailAddress
from allauth.mfa.models import Authenticator
from allauth.mfa.recovery_codes.internal.auth import RecoveryCodes
from allauth.socialaccount.models import SocialAccount, SocialApp, SocialToken

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


class EmailAddressFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = EmailAddress

    user = factory.SubFactory(UserFactory)
    email = factory.LazyAttribute(lambda o: o.user.email)
    verified = True
    primary = True


class AuthenticatorFactory(factory.django.DjangoModelFactory):
    """Recovery codes, activated as allauth activates them (encrypted seed)."""

    class Meta:
        model = Authenticator

    user = factory.SubFactory(UserFactory)

    @classmethod
    def _create(cls, model_class, *args, user, **kwargs):
        return RecoveryCodes.activate(user).instance


class SocialAppFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SocialApp

    provider = "openid_connect"
    provider_id = factory.Sequence(lambda n: f"test-idp-{n}")
    name = factory.Sequence(lambda n: f"Test IdP {n}")
    client_id = "engagex-test-client"
    settings = factory.LazyFunction(lambda: {"server_url": "https://idp.example"})


class SocialAccountFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SocialAccount

    user = factory.SubFactory(UserFactory)
    provider = "test-idp"
    uid = factory.Sequence(lambda n: f"subject-{n}")
    extra_data = factory.LazyFunction(dict)


class SocialTokenFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = SocialToken

    app = factory.SubFactory(SocialAppFactory)
    account = factory.SubFactory(SocialAccountFactory)
    token = "test-access-token"  # noqa: S105
