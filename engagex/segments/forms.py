import json

from django import forms
from django.utils.translation import gettext_lazy as _

from engagex.segments.models import Segment


class RuleBuilderWidget(forms.Textarea):
    """The rule as JSON, edited by a condition builder (static/engagex/segments.js).

    Without scripts the JSON itself stays editable; with them the builder writes it.
    `read_only` shows the conditions and their count to someone who may not change them
    (the console renders such a widget in place of the field's raw value).
    """

    template_name = "segments/rule_builder.html"

    def __init__(self, *, catalogue=None, count_url: str = "", read_only: bool = False, attrs=None):
        attrs = {"rows": 8, "class": "font-mono", **(attrs or {})}
        if read_only:
            attrs["readonly"] = True
        super().__init__(attrs=attrs)
        self.catalogue = catalogue or []
        self.count_url = count_url
        self.read_only = read_only

    def format_value(self, value):
        # A read-only field is rendered from the stored rule, not from the form's JSON text.
        if value is not None and not isinstance(value, str):
            return json.dumps(value, indent=2, ensure_ascii=False)
        return super().format_value(value)

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["catalogue"] = json.dumps(self.catalogue)
        context["count_url"] = self.count_url
        context["read_only"] = self.read_only
        return context

    class Media:
        js = ["engagex/segments.js"]


class SegmentForm(forms.ModelForm):
    rule = forms.JSONField(
        label=_("Rule"),
        help_text=_(
            "Conditions joined by all (AND) or any (OR); a group inside a group joins its own "
            "conditions. Relative dates count from the moment the segment is used."
        ),
    )

    class Meta:
        model = Segment
        fields = ["name", "description", "rule"]
