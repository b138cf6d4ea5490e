from django.urls import reverse
from django_tenants.utils import schema_context

from engagex.accounts import roles
from engagex.notifications.models import Notification
from engagex.notifications.services import notification_send


def _url(name):
    return reverse(name, urlconf="config.urls_tenants")


def _unread(user):
    return Notification.objects.filter(recipient=user, read_at__isnull=True).count()


def test_mark_all_read_asks_on_get_and_marks_only_my_notifications_on_post(
    tenant, owner, owner_client, make_member
):
    colleague = make_member(roles.MARKETER)
    with schema_context(tenant.schema_name):
        notification_send(recipients=[owner, owner, colleague], title="Import finished")
    url = _url("admin:notifications_notification_mark_all_read")

    page = owner_client.get(url)

    assert page.status_code == 200
    assert "Mark all your notifications as read?" in page.content.decode()
    with schema_context(tenant.schema_name):
        assert _unread(owner) == 2  # a GET only asks

    response = owner_client.post(url)

    assert response.status_code == 302
    with schema_context(tenant.schema_name):
        assert _unread(owner) == 0
        assert _unread(colleague) == 1


def test_the_level_badge_shows_the_levels_name_in_the_readers_language(tenant, owner, owner_client):
    with schema_context(tenant.schema_name):
        notification_send(recipients=[owner], title="Import finished", level="success")
    owner_client.cookies["django_language"] = "es"

    page = owner_client.get(_url("admin:notifications_notification_changelist")).content.decode()

    assert "Éxito" in page
    assert ">success<" not in page.replace(" ", "").replace("\n", "")
