"""Custom attribute types: edit them, or infer them from the values contacts hold."""

from django.contrib import messages
from django.http import HttpResponseRedirect
from django.urls import path, reverse
from django.utils.translation import ngettext
from unfold.admin import ModelAdmin

from engagex.contacts.models import AttributeDefinition
from engagex.contacts.services.attributes import (
    attribute_definition_delete,
    attribute_definition_save,
    attributes_infer,
)
from engagex.core.admin import ServiceErrorsAdminMixin
from engagex.core.formats import number
from engagex.core.sites import workspace_site


class AttributeDefinitionAdmin(ServiceErrorsAdminMixin, ModelAdmin):
    list_display = ["name", "type", "updated_at"]
    search_fields = ["name"]
    fields = ["name", "type"]
    change_list_template = "admin/contacts/attributedefinition/change_list.html"

    def save_model(self, request, obj, form, change):
        definition = obj if change else None
        saved = attribute_definition_save(
            name=form.cleaned_data["name"], type=form.cleaned_data["type"], definition=definition
        )
        obj.pk = saved.pk

    def delete_model(self, request, obj):
        attribute_definition_delete(definition=obj)

    def delete_queryset(self, request, queryset):
        for definition in queryset:
            attribute_definition_delete(definition=definition)

    def get_urls(self):
        return [
            path(
                "infer/",
                self.admin_site.admin_view(self.infer_view),
                name="contacts_attributedefinition_infer",
            ),
            *super().get_urls(),
        ]

    def infer_view(self, request):
        """Type every attribute name that has no type yet (POST only: it writes)."""
        target = reverse("admin:contacts_attributedefinition_changelist")
        if request.method != "POST" or not self.has_add_permission(request):
            return HttpResponseRedirect(target)
        inferred = attributes_infer()
        messages.success(
            request,
            ngettext(
                "%(count)s attribute typed from its values.",
                "%(count)s attributes typed from their values.",
                len(inferred),
            )
            % {"count": number(len(inferred))},
        )
        return HttpResponseRedirect(target)


workspace_site.register(AttributeDefinition, AttributeDefinitionAdmin)
