"""allauth adapters: nobody signs up through allauth itself; invitations may use SSO."""

from allauth.account.adapter import DefaultAccountAdapter
from allauth.socialaccount.adapter import DefaultSocialAccountAdapter
from django.core.exceptions import ImproperlyConfigured, ValidationError

INVITATION_SESSION_KEY = "engagex_invitation_token"


class AccountAdapter(DefaultAccountAdapter):
    def is_open_for_signup(self, request):
        # Workspaces start at /signup/ on the public domain; members join by invitation.
        return False

    def get_client_ip(self, request):
        """The address login throttling counts (config/settings/allauth.py).

        allauth raises when X-Forwarded-For has fewer entries than TRUSTED_PROXY_COUNT (a
        request that did not pass every proxy): count it by the connecting address, no 500.
        """
        try:
            return super().get_client_ip(request)
        except ImproperlyConfigured:
            return request.META["REMOTE_ADDR"]


class SocialAccountAdapter(DefaultSocialAccountAdapter):
    """An SSO login signs in an existing member, or accepts the invitation being accepted."""

    def is_open_for_signup(self, request, sociallogin):
        from engagex.accounts.services.invitations import invitation_get_pending

        token = request.session.get(INVITATION_SESSION_KEY)
        if not token:
            return False
        try:
            invitation = invitation_get_pending(token=token)
        except ValidationError:
            return False
        return _email_of(sociallogin) == invitation.email

    def save_user(self, request, sociallogin, form=None):
        from engagex.accounts.services.invitations import invitation_accept

        token = request.session.pop(INVITATION_SESSION_KEY, None)
        user = invitation_accept(
            token=token,
            full_name=sociallogin.user.get_full_name() if sociallogin.user.full_name else "",
            email=_email_of(sociallogin),
        )
        sociallogin.user = user
        sociallogin.save(request)
        return user


def _email_of(sociallogin) -> str:
    from engagex.accounts.models import User

    verified = [a.email for a in sociallogin.email_addresses if a.verified]
    return User.objects.normalize_email(verified[0] if verified else "")
