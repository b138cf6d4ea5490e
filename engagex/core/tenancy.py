from django.db import connection
from django_tenants.utils import get_tenant_model


def current_tenant():
    """Return the Tenant whose schema the connection is using (request, task or command)."""
    tenant = getattr(connection, "tenant", None)
    model = get_tenant_model()
    if isinstance(tenant, model) and tenant.pk:
        return tenant
    return model.objects.get(schema_name=connection.schema_name)


def workspace_name(request) -> str:
    """The current workspace's name as people see it (console title, merge tags in emails)."""
    tenant = getattr(request, "tenant", None) or getattr(connection, "tenant", None)
    return getattr(tenant, "name", "") or "EngageX"
