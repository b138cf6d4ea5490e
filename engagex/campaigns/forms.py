from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from unfold.widgets import UnfoldAdminSplitDateTimeWidget

from engagex.campaigns.models import Campaign
from engagex.domains.services import sender_address_check


class CampaignForm(forms.ModelForm):
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

    def clean_from_email(self):
        email = self.cleaned_data["from_email"]
        try:
            sender_address_check(email)
        except ValidationError as error:
            raise forms.ValidationError(error.message_dict["from_email"]) from error
        return email

    def clean(self):
        cleaned = super().clean()
        include = set(cleaned.get("include_groups") or [])
        exclude = set(cleaned.get("exclude_groups") or [])
        both = include & exclude
        if both:
            names = ", ".join(sorted(group.name for group in both))
            self.add_error(
                "exclude_groups", _("A group cannot be both sent to and excluded: %s.") % names
            )
        return cleaned


class ScheduleForm(forms.Form):
    send_at = forms.SplitDateTimeField(
        label=_("Send at"),
        widget=UnfoldAdminSplitDateTimeWidget,
        help_text=_("Date as YYYY-MM-DD and time as HH:MM, in the workspace's time zone."),
    )
