import json

from django.contrib import admin
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpResponseBadRequest, JsonResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin

from engagex.contacts.models import Contact
from engagex.core.admin import ServiceErrorsAdminMixin
from engagex.core.formats import number
from engagex.core.sites import workspace_site
from engagex.segments.forms import RuleBuilderWidget, SegmentForm
from engagex.segments.models import Segment
from engagex.segments.selectors import builder_catalogue, segment_contacts, segment_count
from engagex.segments.services import (
    rule_errors,
    segment_create,
    segment_delete,
    segment_update,
)

MAX_RULE_BYTES = 64 * 1024
BAD_JSON = _("The rule is not JSON.")


class SegmentAdmin(ServiceErrorsAdminMixin, ModelAdmin):
    form = SegmentForm
    list_display = ["name", "description", "contacts_link", "updated_at"]
    search_fields = ["name"]
    fields = ["name", "description", "rule"]
    service_error_field = "rule"

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        form.base_fields["rule"].widget = RuleBuilderWidget(
            catalogue=builder_catalogue(exclude_segment=obj),
            count_url=reverse("admin:segments_segment_count"),
        )
        return form

    def save_model(self, request, obj, form, change):
        data = {key: form.cleaned_data[key] for key in ("name", "description", "rule")}
        if change:
            segment_update(segment=obj, **data)
        else:
            obj.pk = segment_create(user=request.user, **data).pk

    def delete_model(self, request, obj):
        segment_delete(segment=obj)

    @admin.display(description=_("Contacts"))
    def contacts_link(self, obj):
        from django.utils.html import format_html

        url = reverse("admin:contacts_contact_changelist") + f"?segment={obj.pk}"
        return format_html('<a href="{}">{}</a>', url, _("Show contacts"))

    def get_urls(self):
        return [
            path(
                "count/",
                self.admin_site.admin_view(self.count_view),
                name="segments_segment_count",
            ),
            *super().get_urls(),
        ]

    def count_view(self, request):
        """Count an unsaved rule and show a few of its contacts (the builder posts here)."""
        if request.method != "POST":
            return HttpResponseBadRequest()
        if not self.has_view_permission(request):
            raise PermissionDenied
        if len(request.body) > MAX_RULE_BYTES:
            return JsonResponse({"errors": [str(BAD_JSON)]}, status=400)
        try:
            rule = json.loads(request.body or b"{}").get("rule")
        except (ValueError, AttributeError):
            return JsonResponse({"errors": [str(BAD_JSON)]}, status=400)
        try:
            counted = segment_count(rule=rule)
        except ValidationError as error:
            return JsonResponse({"errors": rule_errors(error)}, status=400)
        return JsonResponse(
            {
                **counted,
                "matching_text": number(counted["matching"]),
                "sendable_text": number(counted["sendable"]),
            }
        )


class SegmentFilter(admin.SimpleListFilter):
    """ "In segment …" on the contact list (export then exports the segment)."""

    title = _("segment")
    parameter_name = "segment"

    def lookups(self, request, model_admin):
        return [(str(pk), name) for pk, name in Segment.objects.values_list("pk", "name")]

    def queryset(self, request, queryset):
        if not self.value():
            return queryset
        segment = (
            Segment.objects.filter(pk=self.value()).first() if self.value().isdigit() else None
        )
        if segment is None:
            return queryset.none()
        try:
            return queryset.filter(pk__in=segment_contacts(segment=segment).values("pk"))
        except ValidationError:
            return queryset.none()


def _add_segment_filter() -> None:
    """The contact list is contacts' admin (below segments): add the filter from here."""
    contact_admin = workspace_site._registry.get(Contact)
    if contact_admin is not None and SegmentFilter not in contact_admin.list_filter:
        contact_admin.list_filter = [*contact_admin.list_filter, SegmentFilter]


workspace_site.register(Segment, SegmentAdmin)
_add_segment_filter()
