import zoneinfo

from django import forms
from django.conf import settings
from django.utils.translation import gettext_lazy as _
from unfold.widgets import UnfoldAdminSelectWidget, UnfoldAdminTextInputWidget

from engagex.core.forms import ServiceValidatedFieldsMixin
from tenants.models import Tenant


class TenantCreateForm(ServiceValidatedFieldsMixin, forms.ModelForm):
    # The slug's format, reserved names and uniqueness are tenant_create's to say, on this
    # field (TenantAdmin shows its refusal): not the model's generic slug and unique checks.
    service_validated = ("slug",)

    # A plain CharField: a form SlugField would refuse first, with the generic slug message.
    slug = forms.CharField(
        label=_("Workspace slug"), max_length=40, widget=UnfoldAdminTextInputWidget
    )
    owner_name = forms.CharField(
        label=_("Owner's name"), max_length=150, required=False, widget=UnfoldAdminTextInputWidget
    )

    class Meta:
        model = Tenant
        fields = ["name", "slug", "owner_email"]
        help_texts = {
            "owner_email": _("The Owner gets an email with a link to choose a password."),
        }

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["slug"].help_text = _(
            "3 to 40 lowercase letters, digits and hyphens, e.g. “acme-co”: the workspace "
            "then lives at acme-co.%(domain)s. It cannot be changed later."
        ) % {"domain": settings.BASE_DOMAIN}


class SuspendForm(forms.Form):
    reason = forms.CharField(
        label=_("Reason (shown to the workspace's staff)"),
        max_length=255,
        required=False,
        widget=UnfoldAdminTextInputWidget,
    )


SLUG_MISMATCH = _("Type the workspace slug “%(slug)s” exactly to delete it.")


class WorkspaceDeleteForm(forms.Form):
    """Deleting a workspace drops its schema: the superuser types its slug to confirm."""

    slug = forms.CharField(
        label=_("Workspace slug"),
        max_length=40,
        required=False,
        widget=UnfoldAdminTextInputWidget(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )

    def __init__(self, *args, tenant: Tenant, **kwargs):
        super().__init__(*args, **kwargs)
        self.tenant = tenant

    def clean_slug(self):
        if self.cleaned_data["slug"].strip() != self.tenant.slug:
            raise forms.ValidationError(SLUG_MISMATCH % {"slug": self.tenant.slug})
        return self.cleaned_data["slug"]


class TenantChangeForm(forms.ModelForm):
    timezone = forms.ChoiceField(
        label=_("Time zone"),
        choices=[(name, name) for name in sorted(zoneinfo.available_timezones())],
        widget=UnfoldAdminSelectWidget,
        help_text=_("Campaign schedules and dates in the workspace console use this zone."),
    )

    class Meta:
        model = Tenant
        fields = [
            "name",
            "default_language",
            "timezone",
        ]
