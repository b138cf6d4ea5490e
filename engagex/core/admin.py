from django.contrib.admin.models import LogEntry
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.template.response import TemplateResponse
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.decorators import display
from unfold.utils import display_for_label

from engagex.core.audit import AuditVerb, audit_parse
from engagex.core.sites import workspace_site


class ServiceErrorsAdminMixin:
    """Show what a service refused in `save_model`/`save_related` on the form it came from.

    Services are the only validators of a write, and they run after the admin has found the
    form valid: raised there, a ValidationError was a 500, or (caught) an error beside
    "…was added successfully" linking to `/None/change/`. Here it leaves the admin's
    transaction (so nothing is stored) and the view runs once more with the error put on the
    form: the page comes back, HTTP 200, with what was typed and each message on its field
    (on the form as a whole when the field is not on it). Only a refused POST costs a second
    form validation; a successful one runs the service's checks once.
    """

    # Where a refusal that names no field goes (None: above the form), e.g. the only field.
    service_error_field: str | None = None

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        try:
            return super().changeform_view(request, object_id, form_url, extra_context)
        except ValidationError as error:
            if request.method != "POST" or hasattr(request, "_service_refusal"):
                raise
            request._service_refusal = error
            return super().changeform_view(request, object_id, form_url, extra_context)

    def get_form(self, request, obj=None, change=False, **kwargs):
        form = super().get_form(request, obj, change=change, **kwargs)
        refusal = getattr(request, "_service_refusal", None)
        if refusal is None:
            return form
        return _form_showing(form, refusal, self.service_error_field)


def _form_showing(form_class, refusal: ValidationError, default_field: str | None):
    class RefusedForm(form_class):
        def full_clean(self):
            super().full_clean()
            if self.is_bound:
                form_add_errors(self, refusal, default_field=default_field)

    RefusedForm.__name__ = form_class.__name__
    return RefusedForm


def form_add_errors(form, error: ValidationError, *, default_field: str | None = None) -> None:
    """Add a service's ValidationError to `form`: on its fields, else on `default_field`
    (above the form when None)."""
    by_field = error.error_dict if hasattr(error, "error_dict") else {NON_FIELD_ERRORS: [error]}
    fallback = default_field if default_field in form.fields else None
    for field, errors in by_field.items():
        form.add_error(field if field in form.fields else fallback, errors)


class ReadOnlyModelAdmin(ModelAdmin):
    """Rows written by the system: staff may list and open them, never add, edit or delete."""

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


# unfold shows the raw key of a label it has no colour for: every verb is listed.
ACTION_COLORS = {
    "added": "success",
    "changed": "info",
    "deleted": "danger",
    **{verb: "info" for verb in AuditVerb.values},
    AuditVerb.CANCELLED.value: "warning",
    AuditVerb.PAUSED.value: "warning",
    AuditVerb.KEY_REVOKED.value: "warning",
}


class AuditLogAdmin(ReadOnlyModelAdmin):
    """Who changed what in this workspace's console, and when (Owners only, read-only)."""

    list_display = ["action_time", "user", "action", "content_type", "object_repr", "summary"]
    list_filter = ["action_flag", "content_type"]
    search_fields = ["object_repr", "user__email", "change_message"]
    list_select_related = ["user", "content_type"]
    date_hierarchy = "action_time"
    ordering = ["-action_time"]

    def changelist_view(self, request, extra_context=None):
        # The page is named as the sidebar names it, not after Django's "log entries".
        return super().changelist_view(request, {"title": _("Audit log"), **(extra_context or {})})

    @display(description=_("Action"), label=ACTION_COLORS)
    def action(self, obj):
        recorded = audit_parse(obj)
        if recorded is not None:
            verb = recorded[0]
            if verb in AuditVerb.values:
                return verb, AuditVerb(verb).label
            return "changed", verb
        key = {1: "added", 3: "deleted"}.get(obj.action_flag, "changed")
        return key, {"added": _("Added"), "changed": _("Changed"), "deleted": _("Deleted")}[key]

    @display(description=_("Details"))
    def summary(self, obj):
        recorded = audit_parse(obj)
        if recorded is not None:
            return recorded[1] or "—"
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


def change_page_badge(method):
    """The change-page twin of a `@display(label=…)` method, drawn as the same badge.

    unfold draws such a method's `(value, text)` as a badge in lists only; listed among a
    change page's read-only fields it prints the raw tuple, e.g. `('active', 'Active')`.
    """

    def badge(model_admin, obj):
        return display_for_label(method(model_admin, obj), "-", method.label)

    badge.short_description = method.short_description
    return badge
