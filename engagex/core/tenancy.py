from contextlib import contextmanager

from django.db import connection
from django.utils import translation
from django_tenants.utils import get_public_schema_name, get_tenant_model


def current_tenant():
    """Return the Tenant whose schema the connection is using (request, task or command)."""
    tenant = getattr(connection, "tenant", None)
    model = get_tenant_model()
    if isinstance(tenant, model) and tenant.pk:
        return tenant
    return model.objects.get(schema_name=connection.schema_name)


@contextmanager
def workspace_language():
    """Speak the current workspace's default language, whoever is asking.

    For text written once and read by everyone (notifications and their emails, audit log
    details): the console shows each person it in the workspace's language, so a member
    browsing in Spanish and a background task write the same words. Outside a workspace
    (the platform), the active language is kept.
    """
    language = _workspace_default_language()
    if language is None:
        yield
        return
    with translation.override(language or None):
        yield


def _workspace_default_language() -> str | None:
    """The current workspace's default language ("" for the site default); None outside one."""
    if connection.schema_name == get_public_schema_name():
        return None
    tenant = getattr(connection, "tenant", None)
    if isinstance(tenant, get_tenant_model()) and tenant.schema_name == connection.schema_name:
        return tenant.default_language
    return (
        get_tenant_model()
        .objects.filter(schema_name=connection.schema_name)
        .values_list("default_language", flat=True)
        .first()
    )
