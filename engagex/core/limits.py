"""Workspace limits. Until billing plans exist, each limit is a field on the tenant."""

from django.utils.translation import gettext_lazy

from engagex.core.tenancy import current_tenant

CONTACT_LIMIT_REACHED = gettext_lazy(
    "Contact limit reached: this workspace may hold {limit:,} contacts and has {count:,}. "
    "Delete contacts you no longer need, or ask for a higher plan on the Billing page."
)


def contact_capacity() -> tuple[int, int]:
    """Return (limit, current count) of contacts for the current workspace."""
    from engagex.contacts.models import Contact

    return current_tenant().contact_limit, Contact.objects.count()
