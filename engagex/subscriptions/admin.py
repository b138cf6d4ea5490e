from django import forms
from django.core.exceptions import ValidationError
from django.template.loader import render_to_string
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from unfold.admin import ModelAdmin
from unfold.decorators import display

from engagex.contacts.models import ContactGroup
from engagex.core.admin import ServiceErrorsAdminMixin
from engagex.core.formats import number
from engagex.core.sites import workspace_site
from engagex.core.tenancy import current_tenant
from engagex.subscriptions.models import SignupForm
from engagex.subscriptions.selectors import signup_form_list
from engagex.subscriptions.services.forms import (
    signup_form_lists,
    signup_form_problem,
    signup_form_save,
)
from tenants.selectors import workspace_url

CUSTOM_FIELDS_HELP = _(
    "One custom attribute per line: its name, then optionally | the label people see, then "
    "optionally | required. Example: city | Your city | required"
)
CUSTOM_LINE_INVALID = _("Line {line}: write name | label | required (label and required optional).")


class CustomFieldsField(forms.CharField):
    """Custom attributes as lines of `name | label | required`."""

    widget = forms.Textarea(attrs={"rows": 3})

    def prepare_value(self, value):
        if isinstance(value, list):
            return "\n".join(
                " | ".join([f["name"], f["label"]] + (["required"] if f["required"] else []))
                for f in value
            )
        return value

    def to_python(self, value):
        fields = []
        for number_, line in enumerate((value or "").splitlines(), start=1):
            if not line.strip():
                continue
            parts = [p.strip() for p in line.split("|")]
            if len(parts) > 3 or (len(parts) == 3 and parts[2].lower() != "required"):
                raise ValidationError(CUSTOM_LINE_INVALID.format(line=number_))
            fields.append(
                {
                    "name": parts[0],
                    "label": parts[1] if len(parts) > 1 and parts[1] else parts[0],
                    "required": len(parts) == 3,
                }
            )
        return fields


class SignupFormForm(forms.ModelForm):
    groups = forms.ModelMultipleChoiceField(
        queryset=ContactGroup.objects.all(),
        label=_("Lists"),
        help_text=_(
            "Only public lists can be offered on a form: make a list public on its page first."
        ),
        widget=forms.CheckboxSelectMultiple,
    )
    custom_fields = CustomFieldsField(
        label=_("Custom attributes"), required=False, help_text=CUSTOM_FIELDS_HELP
    )

    class Meta:
        model = SignupForm
        fields = [
            "name",
            "is_active",
            "groups",
            "let_choose",
            "title",
            "intro",
            "first_name",
            "last_name",
            "language_field",
            "custom_fields",
            "consent_text",
            "success_message",
            "redirect_url",
            "confirmation_subject",
            "confirmation_body",
            "language",
            "accent_color",
        ]
        widgets = {"accent_color": forms.TextInput(attrs={"type": "color"})}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        public = ContactGroup.objects.filter(visibility=ContactGroup.Visibility.PUBLIC)
        chosen = self.instance.groups.all() if self.instance.pk else ContactGroup.objects.none()
        # Public lists, plus any chosen list made private since (so the error can name it).
        self.fields["groups"].queryset = (public | chosen).distinct()
        self.fields["groups"].label_from_instance = lambda g: (
            g.name if g.is_public else _("%(name)s (private)") % {"name": g.name}
        )


class SignupFormAdmin(ServiceErrorsAdminMixin, ModelAdmin):
    form = SignupFormForm
    list_display = ["name", "status_badge", "lists", "submissions", "confirmations", "waiting"]
    search_fields = ["name"]
    readonly_fields = ["hosted_page", "snippet", "counts"]
    fieldsets = [
        (None, {"fields": ["name", "is_active", "groups", "let_choose"]}),
        (
            _("Page"),
            {
                "fields": [
                    "title",
                    "intro",
                    "language",
                    "accent_color",
                    "success_message",
                    "redirect_url",
                ]
            },
        ),  # fmt: skip
        (
            _("Fields"),
            {
                "fields": [
                    "first_name",
                    "last_name",
                    "language_field",
                    "custom_fields",
                    "consent_text",
                ]
            },
        ),  # fmt: skip
        (_("Confirmation email"), {"fields": ["confirmation_subject", "confirmation_body"]}),
        (_("Publish"), {"fields": ["hosted_page", "snippet", "counts"]}),
    ]

    def get_queryset(self, request):
        return signup_form_list().prefetch_related("groups")

    def get_fieldsets(self, request, obj=None):
        if obj is None:  # nothing to publish before it is saved
            return self.fieldsets[:-1]
        return self.fieldsets

    @display(description=_("Status"), label={"open": "success", "closed": "warning"})
    def status_badge(self, obj):
        if obj.is_active and signup_form_lists(obj):
            return "open", _("Open")
        return "closed", _("Closed")

    @display(description=_("Lists"))
    def lists(self, obj):
        return ", ".join(g.name for g in obj.groups.all()) or "—"

    @display(description=_("Submissions"), ordering="submissions_count")
    def submissions(self, obj):
        return number(obj.submissions_count)

    @display(description=_("Confirmations"), ordering="confirmations_count")
    def confirmations(self, obj):
        return number(obj.confirmations_count)

    @display(description=_("Waiting to confirm"), ordering="waiting")
    def waiting(self, obj):
        return number(getattr(obj, "waiting", 0))

    @display(description=_("Hosted page"))
    def hosted_page(self, obj):
        url = _hosted_url(obj)
        problem = signup_form_problem(obj)
        if problem:
            return format_html('<a href="{0}">{0}</a><br><strong>{1}</strong>', url, problem)
        return format_html('<a href="{0}" target="_blank" rel="noopener">{0}</a>', url)

    @display(description=_("HTML snippet"))
    def snippet(self, obj):
        code = render_to_string(
            "subscriptions/snippet.html",
            {
                "form": obj,
                "action": _hosted_url(obj),
                "lists": signup_form_lists(obj),
                "languages": SignupForm.Language.choices,
            },
        ).strip()
        return render_to_string("admin/subscriptions/snippet_field.html", {"code": code})

    @display(description=_("Counts"))
    def counts(self, obj):
        return _("{submissions} submissions, {confirmations} confirmations").format(
            submissions=number(obj.submissions_count),
            confirmations=number(obj.confirmations_count),
        )

    def save_model(self, request, obj, form, change):
        signup_form_save(form=obj, groups=form.cleaned_data["groups"])

    def save_related(self, request, form, formsets, change):
        # The lists were saved by the service in save_model.
        for formset in formsets:
            self.save_formset(request, form, formset, change=change)


def _hosted_url(form: SignupForm) -> str:
    return workspace_url(current_tenant(), f"/f/{form.public_id}/")


workspace_site.register(SignupForm, SignupFormAdmin)
