"""Account schedules (registered in engagex/core/schedules.py)."""

from datetime import timedelta

from django.utils import timezone

from engagex.core.tasks import for_each_schema

# Sign-up requests count towards the per-address hourly limit, so they outlive their code.
KEEP_FOR = timedelta(days=1)


def accounts_tokens_purge() -> dict[str, int]:
    """Delete sign-up requests and login tokens that ended more than a day ago (daily)."""
    from engagex.accounts.models import LoginToken, SignupRequest

    cutoff = timezone.now() - KEEP_FOR
    signups, _ = SignupRequest.objects.filter(expires_at__lt=cutoff).delete()
    tokens = 0

    def purge():
        nonlocal tokens
        tokens += LoginToken.objects.filter(expires_at__lt=cutoff).delete()[0]

    for_each_schema(purge)
    return {"signup_requests": signups, "login_tokens": tokens}
