from django.contrib.admin.models import LogEntry
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.decorators import display

from engagex.core.sites import workspace_site


class ReadOnlyModelAdmin(ModelAdmin):
    """Rows written by the system: staff may list and open them, never add, edit or delete."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


class AuditLogAdmin(ReadOnlyModelAdmin):
    """Who changed what in this workspace's console, and when (Owners only, read-only)."""

    list_display = ["action_time", "user", "action", "content_type", "object_repr", "summary"]
    list_filter = ["action_flag", "content_type"]
    search_fields = ["object_repr", "user__email", "change_message"]
    list_select_related = ["user", "content_type"]
    date_hierarchy = "action_time"
    ordering = ["-action_time"]

    @display(
        description=_("Action"), label={"Added": "success", "Changed": "info", "Deleted": "danger"}
    )
    def action(self, obj):
        return {1: "Added", 2: "Changed", 3: "Deleted"}.get(obj.action_flag, "Changed")

    @display(description=_("Details"))
    def summary(self, obj):
        return obj.get_change_message() or "—"


workspace_site.register(LogEntry, AuditLogAdmin)


def confirm_response(
    model_admin, request, *, title, text, cancel_url, submit_label=None, cancel_label=None,
    danger=False,
):  # fmt: skip
    """A page that asks before a state-changing admin action; its form POSTs back to the URL."""
    context = {
        **model_admin.admin_site.each_context(request),
        "title": title,
        "text": text,
        "cancel_url": cancel_url,
        "submit_label": submit_label,
        "cancel_label": cancel_label,
        "danger": danger,
        "opts": model_admin.model._meta,
    }
    return TemplateResponse(request, "admin/engagex/confirm.html", context)
