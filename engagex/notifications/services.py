"""The one way to notify people: in-app (the bell badge and list) and, for events that
matter, by email too. Other apps call `notification_send` or `notification_send_to_role`."""

import logging

from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone
from django_tenants.utils import get_public_schema_name

from engagex.core.tenancy import workspace_language
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
    """Notify each active recipient in-app and, when `email`, by mail after the commit.

    `link` is a path in the current console (e.g. an admin change page); emails carry it as
    an absolute URL on the workspace's own domain. Callers write `title` and `body` under
    `workspace_language()`, so a workspace's notifications all speak its default language,
    whoever (a member in another language, a task) triggered them.
    """
    recipients = [user for user in recipients if user.is_active]
    notifications = Notification.objects.bulk_create(
        Notification(recipient=user, title=title, body=body, link=link, level=level)
        for user in recipients
    )
    if email and recipients:
        addresses = sorted({user.email for user in recipients})
        context = {"title": str(title), "body": str(body), "url": _absolute(link)}
        # The email's own words match the notification's: the workspace's language.
        with workspace_language():
            text = render_to_string("notifications/email/notification.txt", context)
            html = render_to_string("notifications/email/notification.html", context)
        subject = str(title)

        def deliver():
            # One message per person: recipients never see each other's addresses.
            for address in addresses:
                send_mail(subject, text, None, [address], html_message=html)

        transaction.on_commit(deliver)
    return notifications


def notification_send_to_role(
    *,
    role: str,
    title: str,
    body: str = "",
    link: str = "",
    level: str = Notification.Level.INFO,
    email: bool = False,
) -> list[Notification]:
    """Notify every active member of the current workspace who holds `role` (e.g. "Owner")."""
    from engagex.accounts.selectors import user_list_with_role

    return notification_send(
        recipients=list(user_list_with_role(role=role)),
        title=title,
        body=body,
        link=link,
        level=level,
        email=email,
    )


def notification_mark_read(*, user, ids=None) -> int:
    """Mark the user's notifications (all, or those in `ids`) read; return how many changed."""
    unread = Notification.objects.filter(recipient=user, read_at__isnull=True)
    if ids is not None:
        unread = unread.filter(pk__in=ids)
    return unread.update(read_at=timezone.now())


def _absolute(link: str) -> str:
    if not link or not link.startswith("/"):
        return link
    from engagex.core.tenancy import current_schema, current_tenant
    from tenants.selectors import platform_url, workspace_url

    if current_schema() == get_public_schema_name():
        return platform_url(link)
    return workspace_url(current_tenant(), link)
