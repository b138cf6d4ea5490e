from typing import TYPE_CHECKING, cast

from django.db import connection
from django_tenants.utils import get_tenant_model

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
