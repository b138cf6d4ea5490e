import json
import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from unfold.widgets import (
    UnfoldAdminColorInputWidget,
    UnfoldAdminSelectWidget,
    UnfoldAdminTextareaWidget,
    UnfoldAdminTextInputWidget,
)

from engagex.email_templates.design import design_parse
from engagex.email_templates.mjml import mjml_to_html
from engagex.email_templates.models import BrandKit, Editor, EmailTemplate
from engagex.email_templates.sandbox_limits import render_limits
from engagex.email_templates.services import (
    EDITABLE_FIELDS,
    HTML_BODY_EMPTY,
    TEST_RECIPIENTS_MAX,
)
from engagex.email_templates.services.brand import BRAND_FIELDS
from engagex.email_templates.widgets import VisualEditorWidget

_CODE_STYLE = (
    "font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px;"
)


class DesignField(forms.CharField):
    """The editor's project data as JSON text in the form, a dict once cleaned."""

    def prepare_value(self, value):
        if isinstance(value, dict | list):
            return json.dumps(value, separators=(",", ":")) if value else ""
        return value

    def to_python(self, value):
        if isinstance(value, dict):
            return value
        return design_parse(super().to_python(value))

    def has_changed(self, initial, data):
        try:
            return self.to_python(data) != (initial or {})
        except ValidationError:
            return True


class EmailTemplateForm(forms.ModelForm):
    design = DesignField(
        label=_("Design"),
        required=False,
        strip=False,
        widget=VisualEditorWidget(),
    )
    editor_config: dict | None = None  # this request's, set by VisualEditorAdminMixin

    class Meta:
        model = EmailTemplate
        fields = EDITABLE_FIELDS
        widgets = {
            "editor": UnfoldAdminSelectWidget(attrs={"data-editor-mode": ""}),
            "mjml_source": UnfoldAdminTextareaWidget(
                attrs={
                    "rows": 20,
                    "spellcheck": "false",
                    "style": _CODE_STYLE,
                    "data-editor-mjml": "",
                }
            ),
            "html_body": UnfoldAdminTextareaWidget(
                attrs={"rows": 20, "spellcheck": "false", "style": _CODE_STYLE}
            ),
            "text_body": UnfoldAdminTextareaWidget(
                attrs={"rows": 10, "spellcheck": "false", "style": _CODE_STYLE}
            ),
        }
        error_messages = {"html_body": {"required": HTML_BODY_EMPTY}}

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if "design" in self.fields:
            self.fields["design"].widget.config = self.editor_config or {}
        if "html_body" in self.fields:
            # Compiled from the MJML for the other editors; required for HTML code (clean).
            self.fields["html_body"].required = False
        if "editor" in self.fields:
            self.fields["editor"].required = False  # not posted: HTML code, as before

    def clean(self):
        cleaned = super().clean()
        editor = cleaned.get("editor") or self.instance.editor or Editor.HTML
        if "editor" in self.fields:
            cleaned["editor"] = editor
        if editor == Editor.HTML:
            if "html_body" in cleaned and not (cleaned.get("html_body") or "").strip():
                self.add_error("html_body", HTML_BODY_EMPTY)
        elif "mjml_source" in cleaned:
            # The service compiles again when it saves; here the model's own checks get
            # the HTML that will be stored.
            try:
                cleaned["html_body"] = mjml_to_html(cleaned["mjml_source"])
            except ValidationError as error:
                self.add_error("mjml_source", error)
                cleaned["html_body"] = self.instance.html_body or " "
        return cleaned

    def _post_clean(self):
        # The model's clean() compiles each field within one email's render caps, as a send
        # does; whether the fields render is the service's check (shown by the admin).
        with render_limits():
            super()._post_clean()


class SendTestForm(forms.Form):
    recipients = forms.CharField(
        label=_("Send a test to"),
        max_length=1000,
        help_text=format_lazy(
            _("Up to {max} addresses, separated by commas."), max=TEST_RECIPIENTS_MAX
        ),
        widget=UnfoldAdminTextInputWidget(
            attrs={"placeholder": "you@example.com, colleague@example.com"}
        ),
    )

    def clean_recipients(self) -> list[str]:
        return [
            address for address in re.split(r"[,;\s]+", self.cleaned_data["recipients"]) if address
        ]


class BrandKitForm(forms.ModelForm):
    class Meta:
        model = BrandKit
        fields = BRAND_FIELDS
        widgets = {
            "primary_colour": UnfoldAdminColorInputWidget,
            "text_colour": UnfoldAdminColorInputWidget,
            "background_colour": UnfoldAdminColorInputWidget,
        }


class StarterChoiceForm(forms.Form):
    starter = forms.CharField(widget=forms.HiddenInput)
    name = forms.CharField(label=_("Name"), max_length=120, widget=UnfoldAdminTextInputWidget())
