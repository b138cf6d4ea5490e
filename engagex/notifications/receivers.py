"""Notifications about events of the layers below (connected in NotificationsConfig.ready())."""

from django.urls import reverse
from django.utils.translation import gettext as _

from engagex.accounts.models import Invitation, User
from engagex.core.tenancy import workspace_language
from engagex.notifications.services import notification_send


@workspace_language()
def invitation_accepted_notify(*, invitation: Invitation, user: User, **kwargs) -> None:
    """Tell whoever sent the invitation that the invitee joined."""
    if invitation.invited_by is None:
        return
    notification_send(
        recipients=[invitation.invited_by],
        title=_("%(name)s joined the workspace") % {"name": user.get_full_name()},
        body=_("%(email)s accepted your invitation and is now a %(role)s.")
        % {"email": user.email, "role": invitation.role},
        link=reverse("admin:accounts_user_change", args=[user.pk]),
        level="success",
        email=True,
    )
