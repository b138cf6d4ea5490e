from django import forms
from django.utils.translation import gettext_lazy as _
from unfold.widgets import UnfoldAdminSplitDateTimeWidget

from engagex.campaigns.models import Campaign


class CampaignForm(forms.ModelForm):
    """What a draft campaign is made of; `campaign_create`/`campaign_update` check it."""

    class Meta:
        model = Campaign
        fields = [
            "name",
            "template",
            "subject_override",
            "from_name",
            "from_email",
            "reply_to",
            "include_groups",
            "exclude_groups",
        ]


class ScheduleForm(forms.Form):
    send_at = forms.SplitDateTimeField(
        label=_("Send at"),
        widget=UnfoldAdminSplitDateTimeWidget,
        help_text=_("Date as YYYY-MM-DD and time as HH:MM, in the workspace's time zone."),
    )
