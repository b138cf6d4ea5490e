from django.utils.translation import gettext as _

from engagex.accounts.models import User
from engagex.core.tasks import tenant_task
from engagex.notifications.services import notification_send


@tenant_task
def notification_welcome(schema_name: str, user_id: int) -> int:
    """Greet a new workspace's owner in-app (runs after provisioning)."""
    user = User.objects.filter(pk=user_id).first()
    if user is None:
        return 0
    sent = notification_send(
        recipients=[user],
        title=_("Welcome to EngageX"),
        body=_(
            "Your workspace is ready. Next: import your contacts, add a sender domain "
            "and invite your team."
        ),
        level="success",
    )
    return len(sent)
