from django.contrib import admin, messages
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.translation import gettext_lazy as _
from django.utils.translation import ngettext
from unfold.admin import ModelAdmin
from unfold.decorators import action, display

from engagex.core.admin import confirm_response
from engagex.core.sites import workspace_site
from engagex.notifications.models import Notification
from engagex.notifications.selectors import notification_list
from engagex.notifications.services import notification_mark_read


class NotificationAdmin(ModelAdmin):
    list_display = ["title", "level_badge", "created_at", "is_read_display"]
    list_filter = ["level", ("read_at", admin.EmptyFieldListFilter)]
    search_fields = ["title", "body"]
    readonly_fields = ["title", "body", "link", "level", "created_at", "read_at"]
    fields = readonly_fields
    actions = ["mark_read"]
    actions_list = ["mark_all_read"]

    def get_queryset(self, request):
        return notification_list(user=request.user)

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return request.user.has_perm("notifications.view_notification")

    def change_view(self, request, object_id, form_url="", extra_context=None):
        notification_mark_read(user=request.user, ids=[object_id])
        return super().change_view(request, object_id, form_url, extra_context)

    @display(
        description=_("Level"),
        label={"info": "info", "success": "success", "warning": "warning", "error": "danger"},
    )
    def level_badge(self, obj):
        return obj.level, obj.get_level_display()

    @display(description=_("State"), label={"new": "info", "read": "success"})
    def is_read_display(self, obj):
        return ("read", _("Read")) if obj.is_read else ("new", _("New"))

    @admin.action(description=_("Mark selected as read"))
    def mark_read(self, request, queryset):
        count = notification_mark_read(
            user=request.user, ids=list(queryset.values_list("pk", flat=True))
        )
        self.message_user(
            request,
            ngettext("%d notification marked read.", "%d notifications marked read.", count)
            % count,
            messages.SUCCESS,
        )

    @action(description=_("Mark all as read"), url_path="mark-all-read")
    def mark_all_read(self, request):
        changelist_url = reverse("admin:notifications_notification_changelist")
        if request.method != "POST":
            return confirm_response(
                self, request, title=_("Mark all your notifications as read?"),
                text=_("They stay in the list; only the unread count goes to zero."),
                cancel_url=changelist_url,
            )  # fmt: skip
        count = notification_mark_read(user=request.user)
        self.message_user(request, _("%d notifications marked read.") % count, messages.SUCCESS)
        return redirect(changelist_url)


admin.site.register(Notification, NotificationAdmin)
workspace_site.register(Notification, NotificationAdmin)
