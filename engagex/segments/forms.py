import json

from django import forms
from django.utils.translation import gettext_lazy as _

from engagex.segments.models import Segment


class RuleBuilderWidget(forms.Textarea):
    """The rule as JSON, edited by a condition builder (static/engagex/segments.js).

    Without scripts the JSON itself stays editable; with them the builder writes it.
    """

    template_name = "segments/rule_builder.html"

    def __init__(self, *, catalogue=None, count_url: str = "", attrs=None):
        super().__init__(attrs={"rows": 8, "class": "font-mono", **(attrs or {})})
        self.catalogue = catalogue or []
        self.count_url = count_url

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        context["catalogue"] = json.dumps(self.catalogue)
        context["count_url"] = self.count_url
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
