import re

from django import forms
from django.core.exceptions import ValidationError
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from unfold.widgets import UnfoldAdminTextareaWidget, UnfoldAdminTextInputWidget

from engagex.email_templates.models import TEMPLATE_FIELDS, EmailTemplate
from engagex.email_templates.sandbox_limits import render_limits
from engagex.email_templates.services import (
    EDITABLE_FIELDS,
    HTML_BODY_EMPTY,
    TEST_RECIPIENTS_MAX,
    template_content_check,
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
        # The model's clean() compiles each field; this adds the checks that need a render.
        # Both run within one email's render caps, as a send does.
        with render_limits() as budget:
            super()._post_clean()
            fields = [
                name for name in TEMPLATE_FIELDS if name in self.fields and name not in self.errors
            ]
            try:
                if budget.error is None:  # else the caps are spent: the error is on its field
                    template_content_check(template=self.instance, fields=fields)
            except ValidationError as error:
                self._update_errors(error)


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
