from django.urls import reverse
from django_tenants.utils import schema_context

from engagex.accounts import roles
from engagex.api.models import ApiKey
from engagex.api.services import api_key_create


def test_revoking_a_key_in_the_admin_asks_first_then_revokes_on_post(tenant, owner, owner_client):
    with schema_context(tenant.schema_name):
        key, _ = api_key_create(name="Zapier", role=roles.MARKETER, user=owner)
    url = reverse("admin:api_apikey_revoke_detail", args=[key.pk], urlconf="config.urls_tenants")

    page = owner_client.get(url)

    assert page.status_code == 200
    assert "Revoke “Zapier”?" in page.content.decode()
    with schema_context(tenant.schema_name):
        assert ApiKey.objects.get(pk=key.pk).revoked_at is None  # a GET only asks

    owner_client.post(url)

    with schema_context(tenant.schema_name):
        assert ApiKey.objects.get(pk=key.pk).revoked_at is not None
