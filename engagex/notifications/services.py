import logging

from django.core.mail import send_mail
from django.db import transaction
from django.utils import timezone

from engagex.notifications.models import Notification

logger = logging.getLogger(__name__)


def notification_send(
    *,
    recipients,
    title: str,
    body: str = "",
    link: str = "",
    level: str = Notification.Level.INFO,
    email: bool = False,
) -> list[Notification]:
    """Notify each recipient in-app and, when `email`, by mail after the transaction commits."""
    recipients = [user for user in recipients if user.is_active]
    notifications = Notification.objects.bulk_create(
        Notification(recipient=user, title=title, body=body, link=link, level=level)
        for user in recipients
    )
    if email and recipients:
        addresses = [user.email for user in recipients]
        transaction.on_commit(
            lambda: send_mail(title, f"{body}\n\n{link}".strip(), None, addresses)
        )
    return notifications


def notification_mark_read(*, user, ids=None) -> int:
    """Mark the user's notifications (all, or those in `ids`) read; return how many changed."""
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=timezone.now())
