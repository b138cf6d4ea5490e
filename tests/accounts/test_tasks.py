"""The daily purge of spent sign-up requests and login tokens."""

from datetime import timedelta

from django.utils import timezone
from django_tenants.utils import schema_context

from engagex.accounts.models import LoginToken, SignupRequest
from engagex.accounts.services.login_tokens import login_token_create
from engagex.accounts.tasks import accounts_tokens_purge


def _signup(expires_at):
    return SignupRequest.objects.create(
        name="Old", slug="old-co", email="old@old.example", code_hash="x", expires_at=expires_at
    )


def test_purge_keeps_what_can_still_matter(tenant, other_tenant, owner):
    now = timezone.now()
    old = _signup(now - timedelta(days=2))
    recent = _signup(now - timedelta(hours=2))  # ended less than a day ago
    with schema_context(tenant.schema_name):
        login_token_create(user=owner)
        LoginToken.objects.update(expires_at=now - timedelta(days=2))
        login_token_create(user=owner)

    counts = accounts_tokens_purge()

    assert counts == {"signup_requests": 1, "login_tokens": 1}
    assert list(SignupRequest.objects.values_list("pk", flat=True)) == [recent.pk]
    assert not SignupRequest.objects.filter(pk=old.pk).exists()
    with schema_context(tenant.schema_name):
        assert LoginToken.objects.count() == 1
