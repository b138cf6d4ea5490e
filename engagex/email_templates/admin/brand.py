from django.shortcuts import redirect
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin

from engagex.core.admin import ServiceErrorsAdminMixin
from engagex.core.sites import workspace_site
from engagex.email_templates.forms import BrandKitForm
from engagex.email_templates.models import BrandKit
from engagex.email_templates.selectors import brand_kit_get
from engagex.email_templates.services.brand import BRAND_FIELDS, brand_kit_update


class BrandKitAdmin(ServiceErrorsAdminMixin, ModelAdmin):
    """The workspace's one brand kit: the sidebar entry opens it (or adds it, the first time).

    Opening the page never writes: until someone saves, the defaults are shown and used.
    """

    form = BrandKitForm
    fields = BRAND_FIELDS
    readonly_fields = ["updated_by", "updated_at"]
    change_form_template = "admin/email_templates/brandkit/change_form.html"

    def get_fields(self, request, obj=None):
        return [*BRAND_FIELDS, *(["updated_by", "updated_at"] if obj else [])]

    def has_add_permission(self, request):
        return super().has_add_permission(request) and not BrandKit.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        kit = brand_kit_get()
        if kit.pk is not None:
            return redirect("admin:email_templates_brandkit_change", kit.pk)
        if self.has_add_permission(request):
            return redirect("admin:email_templates_brandkit_add")
        if not self.has_view_permission(request):
            return super().changelist_view(request, extra_context)  # its own refusal
        form = BrandKitForm(instance=kit)
        for field in form.fields.values():
            field.disabled = True
        context = {
            **self.admin_site.each_context(request),
            "title": _("Brand kit"),
            "opts": self.model._meta,
            "form": form,
        }
        return TemplateResponse(request, "admin/email_templates/brandkit/brand.html", context)

    def save_model(self, request, obj, form, change):
        kit = brand_kit_update(
            user=request.user, **{name: form.cleaned_data[name] for name in BRAND_FIELDS}
        )
        obj.pk = kit.pk

    def response_add(self, request, obj, post_url_continue=None):
        return redirect("admin:email_templates_brandkit_change", obj.pk)

    def response_change(self, request, obj):
        self.message_user(request, _("The brand kit was saved. New templates and starters use it."))
        return redirect("admin:email_templates_brandkit_change", obj.pk)


workspace_site.register(BrandKit, BrandKitAdmin)
