"""Tell a workspace's Owners about its billing (platform jobs and Stripe events run outside
any request, so each notice names its workspace)."""

from django_tenants.utils import schema_context

from engagex.accounts import roles
from engagex.notifications.services import notification_send_to_role
from tenants.models import Tenant


def owners_notify(tenant: Tenant, *, title: str, body: str, level: str) -> int:
    """In-app and email notification to every active Owner of `tenant`.

    Callers word `title` and `body` under `translation.override(tenant.default_language)`:
    a webhook or platform job has no reader's language, and a workspace's notifications
    all speak its own.
    """
    with schema_context(tenant.schema_name):
        sent = notification_send_to_role(
            role=roles.OWNER,
            title=title,
            body=body,
            link="/admin/billing/",
            level=level,
            email=True,
        )
        return len(sent)
