from django import forms
from django.conf import settings
from django.template.defaultfilters import filesizeformat
from django.utils import formats
from django.utils.functional import lazy
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from unfold.widgets import (
    UnfoldAdminCheckboxSelectMultipleWidget,
    UnfoldAdminFileFieldWidget,
    UnfoldAdminRadioSelectWidget,
    UnfoldAdminSelectWidget,
    UnfoldBooleanWidget,
)

from engagex.contacts.models import Contact, ContactGroup, ImportJob, ListConsent
from engagex.contacts.services import mapping as mapping_rules
from engagex.contacts.services.lists import memberships_current
from engagex.contacts.services.reading import ENCODINGS
from engagex.core.forms import ServiceValidatedFieldsMixin


class ContactForm(ServiceValidatedFieldsMixin, forms.ModelForm):
    # Whether the address is taken is contact_create's / contact_update's to say (on email).
    service_validated = ("email",)

    class Meta:
        model = Contact
        fields = [
            "email",
            "first_name",
            "last_name",
            "phone",
            "language",
            "timezone",
            "status",
            "consent_at",
            "consent_source",
            "attributes",
        ]

    lists = forms.ModelMultipleChoiceField(
        queryset=ContactGroup.objects.all(),
        required=False,
        label=_("Lists"),
        widget=UnfoldAdminCheckboxSelectMultipleWidget,
        help_text=_(
            "Adding a list subscribes the contact to it; a list they unsubscribed from can "
            "only be chosen again by them."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            self.fields["lists"].initial = list(memberships_current(self.instance))

    def clean_attributes(self):
        # An emptied field means no attributes; what jsonb cannot store, the service refuses.
        attributes = self.cleaned_data.get("attributes")
        return {} if attributes is None else attributes


class ContactGroupForm(ServiceValidatedFieldsMixin, forms.ModelForm):
    # Whether the name is taken is group_create's / group_update's to say (on name).
    service_validated = ("name",)

    class Meta:
        model = ContactGroup
        fields = ["name", "description", "opt_in", "visibility"]
        widgets = {
            "opt_in": UnfoldAdminRadioSelectWidget,
            "visibility": UnfoldAdminRadioSelectWidget,
        }


class GroupChoiceForm(forms.Form):
    group = forms.ModelChoiceField(
        queryset=ContactGroup.objects.all(), label=_("List"), widget=UnfoldAdminSelectWidget
    )


def size_label(size: int) -> str:
    """A size in the active language, whole megabytes without decimals ("150 MB")."""
    if size % (1024 * 1024) == 0 and size < 1024**3:
        return gettext("%s MB") % formats.number_format(size // (1024 * 1024))
    return filesizeformat(size)


def _upload_help() -> str:
    return gettext(
        "CSV (any delimiter), Excel .xlsx or JSON (a list of objects), up to %(size)s."
    ) % {"size": size_label(settings.IMPORT_MAX_UPLOAD_BYTES)}


class ImportUploadForm(forms.Form):
    file = forms.FileField(
        label=_("Spreadsheet"),
        widget=UnfoldAdminFileFieldWidget,
        # Lazy: worded when the form renders, in its reader's language, not at import.
        help_text=lazy(_upload_help, str)(),
    )
    encoding = forms.ChoiceField(
        label=_("Text encoding (CSV)"),
        choices=list(ENCODINGS.items()),
        initial="auto",
        widget=UnfoldAdminSelectWidget,
    )


class ImportMappingForm(forms.Form):
    unknown_columns = forms.ChoiceField(
        label=_("Columns mapped to “custom attribute”"),
        choices=ImportJob.UnknownColumns.choices,
        widget=UnfoldAdminRadioSelectWidget,
    )
    update_existing = forms.BooleanField(
        label=_("Update contacts that already exist"),
        required=False,
        widget=UnfoldBooleanWidget,
        help_text=_(
            "When unticked, contacts already in the workspace keep their details (they still "
            "join the groups below, and opt-outs in the file still apply). Unsubscribed, "
            "bounced or complained contacts are never made subscribed again either way."
        ),
    )
    file_status = forms.ChoiceField(
        label=_("Who is in this file"),
        choices=ImportJob.FileStatus.choices,
        required=False,
        widget=UnfoldAdminRadioSelectWidget,
        help_text=_(
            "Exports of unsubscribed, cleaned or bounced members (from Mailchimp, Sendy, …) "
            "are recognised by the file's name. Such contacts are imported as unsubscribed or "
            "bounced, never as subscribed."
        ),
    )
    groups = forms.ModelMultipleChoiceField(
        label=_("Add every imported contact to these lists"),
        queryset=ContactGroup.objects.all(),
        required=False,
        widget=UnfoldAdminCheckboxSelectMultipleWidget,
    )
    list_consent = forms.ChoiceField(
        label=_("How did the people in this file agree to get email from you?"),
        choices=ListConsent.choices,
        required=False,
        widget=UnfoldAdminRadioSelectWidget,
        help_text=_(
            "Asked when you choose lists. Your answer is kept with each membership as its "
            "consent record (your name, the time, the words above). Members asked to "
            "confirm get an email once the import is done and receive campaigns only after "
            "confirming."
        ),
    )

    def __init__(self, *args, job: ImportJob, **kwargs):
        super().__init__(*args, **kwargs)
        self.job = job
        self.initial.setdefault("unknown_columns", job.unknown_columns)
        self.initial.setdefault("update_existing", job.update_existing)
        self.initial.setdefault("file_status", job.file_status)
        self.initial.setdefault("groups", list(job.target_groups.values_list("pk", flat=True)))
        self.initial.setdefault("list_consent", job.list_consent)
        self.columns = []
        for index, header in enumerate(job.headers):
            name = f"column_{index}"
            self.fields[name] = forms.ChoiceField(
                label=header or _("(no header)"),
                choices=mapping_rules.CHOICES,
                required=False,
                widget=UnfoldAdminSelectWidget,
                initial=job.mapping.get(str(index), mapping_rules.IGNORE),
            )
            samples = [row[index] for row in job.sample_rows if index < len(row) and row[index]]
            self.columns.append((self[name], samples[:3]))

    def mapping(self) -> dict[str, str]:
        return {
            str(i): self.cleaned_data.get(f"column_{i}", "") for i in range(len(self.job.headers))
        }
