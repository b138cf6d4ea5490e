import re

from django import forms
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from unfold.widgets import UnfoldAdminTextareaWidget, UnfoldAdminTextInputWidget

from engagex.email_templates.models import EmailTemplate
from engagex.email_templates.sandbox_limits import render_limits
from engagex.email_templates.services import (
    EDITABLE_FIELDS,
    HTML_BODY_EMPTY,
    TEST_RECIPIENTS_MAX,
)

_CODE_STYLE = (
    "font-family: ui-monospace, SFMono-Regular, Menlo, Consolas, monospace; font-size: 13px;"
)


class EmailTemplateForm(forms.ModelForm):
    class Meta:
        model = EmailTemplate
        fields = EDITABLE_FIELDS
        widgets = {
            "html_body": UnfoldAdminTextareaWidget(
                attrs={"rows": 20, "spellcheck": "false", "style": _CODE_STYLE}
            ),
            "text_body": UnfoldAdminTextareaWidget(
                attrs={"rows": 10, "spellcheck": "false", "style": _CODE_STYLE}
            ),
        }
        error_messages = {"html_body": {"required": HTML_BODY_EMPTY}}

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
