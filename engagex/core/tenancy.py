from contextlib import contextmanager
from typing import TYPE_CHECKING, cast

from django.db import connection
from django.utils import translation
from django_tenants.utils import get_public_schema_name, get_tenant_model

if TYPE_CHECKING:
    from django_tenants.postgresql_backend.base import DatabaseWrapper as TenantDatabaseWrapper


def current_schema() -> str:
    """Return the name of the schema the connection is using (request, task or command).

    django-tenants' database wrapper sets `schema_name` (to "public" from the start); Django's
    connection proxy, all a type checker sees, has no such attribute.
    """
    return cast("TenantDatabaseWrapper", connection).schema_name


def current_tenant():
    """Return the Tenant whose schema the connection is using (request, task or command)."""
    tenant = getattr(connection, "tenant", None)
    model = get_tenant_model()
    if isinstance(tenant, model) and tenant.pk:
        return tenant
    return model.objects.get(schema_name=current_schema())


def workspace_name(request) -> str:
    """The current workspace's name as people see it (console title, merge tags in emails)."""
    tenant = getattr(request, "tenant", None) or getattr(connection, "tenant", None)
    return getattr(tenant, "name", "") or "EngageX"


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
    if current_schema() == get_public_schema_name():
        return None
    tenant = getattr(connection, "tenant", None)
    if isinstance(tenant, get_tenant_model()) and tenant.schema_name == current_schema():
        return tenant.default_language
    return (
        get_tenant_model()
        .objects.filter(schema_name=current_schema())
        .values_list("default_language", flat=True)
        .first()
    )
