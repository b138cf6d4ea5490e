from django.conf import settings
from django.db.models import QuerySet
from django_tenants.utils import get_public_schema_name

from tenants.models import Tenant


def workspace_list() -> QuerySet[Tenant]:
    """Every customer workspace (the platform's own `public` tenant excluded)."""
    return Tenant.objects.exclude(schema_name=get_public_schema_name())


def platform_url(path: str = "/") -> str:
    """Return the absolute URL of `path` on the platform's own domain (BASE_DOMAIN)."""
    return f"{settings.SITE_SCHEME}://{settings.BASE_DOMAIN}{settings.SITE_PORT}{path}"


def workspace_url(tenant: Tenant, path: str = "/") -> str:
    """Return the absolute URL of `path` on the workspace's own domain."""
    domain = tenant.get_primary_domain()
    host = domain.domain if domain else tenant.primary_domain_name
    return f"{settings.SITE_SCHEME}://{host}{settings.SITE_PORT}{path}"
