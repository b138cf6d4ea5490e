from django.contrib import messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin

from engagex.core.admin import form_add_errors
from engagex.core.sites import workspace_site
from engagex.email_templates.forms import BrandKitForm
from engagex.email_templates.models import BrandKit
from engagex.email_templates.selectors import brand_kit_get, media_asset_list
from engagex.email_templates.services.brand import BRAND_FIELDS, brand_kit_update

BRAND_SAVED = _("The brand kit was saved. New templates and starters use it.")


class BrandKitAdmin(ModelAdmin):
    """One page: the workspace's brand kit (a single row, edited in place)."""

    def get_urls(self):
        return [
            path(
                "",
                self.admin_site.admin_view(self.brand_view),
                name="email_templates_brandkit_changelist",
            ),
        ]

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def brand_view(self, request):
        if not self.has_view_permission(request):
            raise PermissionDenied
        can_change = self.has_change_permission(request)
        kit = brand_kit_get()
        form = BrandKitForm(instance=kit)
        form.fields["logo"].queryset = media_asset_list()
        if request.method == "POST":
            if not can_change:
                raise PermissionDenied
            form = BrandKitForm(request.POST, instance=brand_kit_get())
            form.fields["logo"].queryset = media_asset_list()
            if form.is_valid():
                try:
                    brand_kit_update(
                        user=request.user,
                        **{name: form.cleaned_data[name] for name in BRAND_FIELDS},
                    )
                except ValidationError as error:
                    form_add_errors(form, error)
                else:
                    self.message_user(request, BRAND_SAVED, messages.SUCCESS)
                    return redirect(
                        reverse(
                            "admin:email_templates_brandkit_changelist",
                            current_app=self.admin_site.name,
                        )
                    )
        if not can_change:
            for field in form.fields.values():
                field.disabled = True
        context = {
            **self.admin_site.each_context(request),
            "title": _("Brand kit"),
            "opts": self.model._meta,
            "form": form,
            "kit": kit,
            "can_change": can_change,
        }
        return TemplateResponse(request, "admin/email_templates/brandkit/brand.html", context)


workspace_site.register(BrandKit, BrandKitAdmin)
