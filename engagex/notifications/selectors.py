from django.db.models import QuerySet

from engagex.notifications.models import Notification


def notification_list(*, user) -> QuerySet[Notification]:
    return Notification.objects.filter(recipient=user)


def notification_unread_count(*, user) -> int:
    return notification_list(user=user).filter(read_at__isnull=True).count()
