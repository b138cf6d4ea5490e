from django import forms
from django.utils.translation import gettext_lazy as _
from unfold.widgets import UnfoldAdminSelectWidget, UnfoldAdminTextInputWidget

from engagex.billing.models import Plan


class PlanOverrideForm(forms.Form):
    plan = forms.ModelChoiceField(
        label=_("Plan"), queryset=Plan.objects.all(), widget=UnfoldAdminSelectWidget
    )
    reason = forms.CharField(
        label=_("Reason"),
        max_length=255,
        widget=UnfoldAdminTextInputWidget,
        help_text=_("Kept in the audit trail, e.g. “Partner account, agreed with sales”."),
    )
