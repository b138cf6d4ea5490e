"""Reads across a workspace's apps, for the platform admin."""

from django_tenants.utils import schema_context

from engagex.accounts.models import User
from engagex.campaigns.models import Campaign
from engagex.contacts.models import Contact
from tenants.models import Tenant


def workspace_contents(tenant: Tenant) -> dict[str, int]:
    """Count what deleting the workspace would drop, read inside its own schema."""
    with schema_context(tenant.schema_name):
        return {
            "contacts": Contact.objects.count(),
            "campaigns": Campaign.objects.count(),
            "members": User.objects.count(),
        }
