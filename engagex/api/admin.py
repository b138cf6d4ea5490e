from django import forms
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.shortcuts import redirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.decorators import action, display

from engagex.accounts import roles
from engagex.api.models import ApiKey
from engagex.api.services import api_key_create, api_key_revoke
from engagex.core.admin import ServiceErrorsAdminMixin, change_page_badge, confirm_response
from engagex.core.sites import workspace_site


class ApiKeyForm(forms.ModelForm):
    class Meta:
        model = ApiKey
        fields = ["name", "role"]

    actor = None  # set by the admin to the person making the change

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "role" in self.fields and self.actor is not None:
            # Offer only the roles the person may give: at most their own.
            rank = roles.role_rank(roles.role_of(self.actor))
            self.fields["role"].choices = [
                (value, label)
                for value, label in self.fields["role"].choices
                if value in roles.ROLES and roles.role_rank(value) <= rank
            ]
            if self.fields["role"].initial not in dict(self.fields["role"].choices):
                self.fields["role"].initial = None


class ApiKeyAdmin(ServiceErrorsAdminMixin, ModelAdmin):
    form = ApiKeyForm
    list_display = ["name", "prefix_display", "role", "created_by", "last_used_at", "state"]
    list_filter = ["role"]
    search_fields = ["name", "prefix"]
    list_select_related = ["created_by"]
    fields = ["name", "role"]
    actions_detail = ["revoke_detail"]

    def get_form(self, request, obj=None, **kwargs):
        form = super().get_form(request, obj, **kwargs)
        form.actor = request.user
        return form

    def get_fields(self, request, obj=None):
        if obj is None:
            return ["name", "role"]
        return [
            "name",
            "role",
            "prefix_display",
            "created_by",
            "created_at",
            "last_used_at",
            "state_badge",
        ]

    def get_readonly_fields(self, request, obj=None):
        return self.get_fields(request, obj) if obj else []

    @display(description=_("Key starts with"))
    def prefix_display(self, obj):
        return f"egx_{obj.prefix}_…"

    @display(description=_("State"), label={"active": "success", "revoked": "danger"})
    def state(self, obj):
        return ("active", _("Active")) if obj.is_active else ("revoked", _("Revoked"))

    state_badge = change_page_badge(state)

    def save_model(self, request, obj, form, change):
        key, plain = api_key_create(
            name=form.cleaned_data["name"], role=form.cleaned_data["role"], user=request.user
        )
        obj.pk = key.pk
        self.message_user(
            request,
            format_html(
                _(
                    "Copy the key now; it is not shown again: <code>{}</code>. Use it as "
                    "<code>Authorization: Bearer …</code> on {}/api/v1/."
                ),
                plain,
                request.build_absolute_uri("/").rstrip("/"),
            ),  # fmt: skip
            messages.WARNING,
        )

    def log_addition(self, request, obj, message):
        # api_key_create records "Created API key" in the audit log itself.
        return None

    def response_add(self, request, obj, post_url_continue=None):
        return redirect(reverse("admin:api_apikey_change", args=[obj.pk]))

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    @action(description=_("Revoke"), url_path="revoke", permissions=["revoke_detail"])
    def revoke_detail(self, request, object_id):
        if request.method != "POST":
            key = self.get_object(request, object_id)
            return confirm_response(
                self, request, title=_("Revoke “%(name)s”?") % {"name": key.name},
                text=_("Every program using this key stops working at once. This cannot be "
                       "undone; create a new key if you need one."),
                cancel_url=reverse("admin:api_apikey_change", args=[object_id]),
                submit_label=_("Revoke key"), danger=True,
            )  # fmt: skip
        try:
            api_key_revoke(key=self.get_object(request, object_id), actor=request.user)
        except ValidationError as error:
            self.message_user(request, " ".join(error.messages), messages.ERROR)
        else:
            self.message_user(
                request,
                _("Key revoked: programs using it are refused from now on."),
                messages.SUCCESS,
            )
        return redirect(reverse("admin:api_apikey_change", args=[object_id]))

    def has_revoke_detail_permission(self, request, object_id=None):
        if not request.user.has_perm("api.add_apikey"):
            return False
        return object_id is None or ApiKey.objects.filter(pk=object_id, revoked_at=None).exists()


workspace_site.register(ApiKey, ApiKeyAdmin)
