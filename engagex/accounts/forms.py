from django import forms
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy as _
from unfold.widgets import UnfoldAdminPasswordWidget, UnfoldAdminSelectWidget

from engagex.accounts import roles
from engagex.accounts.models import User
from engagex.accounts.services import role_grant_check, user_update_check

ROLE_CHOICES = [(role, f"{role} — {roles.ROLE_DESCRIPTIONS[role]}") for role in roles.ROLES]


class RoleGrantFormMixin:
    """Refuse a `role` the person using the form may not grant (only Owners grant Owner)."""

    actor = None  # set by the admin to the person making the change

    def clean_role(self):
        try:
            role_grant_check(actor=self.actor, role=self.cleaned_data["role"])
        except ValidationError as error:
            raise forms.ValidationError(error.message_dict["role"]) from error
        return self.cleaned_data["role"]


class MemberCreateForm(RoleGrantFormMixin, forms.ModelForm):
    role = forms.ChoiceField(
        label=_("Role"),
        choices=ROLE_CHOICES,
        initial=roles.MARKETER,
        widget=UnfoldAdminSelectWidget,
        help_text=_("The new member gets an email with a link to choose their password."),
    )

    class Meta:
        model = User
        fields = ["email", "full_name"]


class MemberChangeForm(forms.ModelForm):
    role = forms.ChoiceField(label=_("Role"), choices=ROLE_CHOICES, widget=UnfoldAdminSelectWidget)

    class Meta:
        model = User
        fields = ["full_name", "is_active"]

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk:
            current = self.instance.groups.filter(name__in=roles.ROLES).first()
            self.fields["role"].initial = current.name if current else roles.VIEWER

    actor = None  # set by the admin to the person making the change

    def clean(self):
        cleaned = super().clean()
        if "role" in cleaned:
            try:
                user_update_check(
                    user=self.instance,
                    role=cleaned["role"],
                    is_active=cleaned.get("is_active", False),
                    actor=self.actor,
                )
            except ValidationError as error:
                raise forms.ValidationError(error.messages) from error
        return cleaned


class PlatformUserCreateForm(forms.ModelForm):
    password = forms.CharField(label=_("Password"), widget=UnfoldAdminPasswordWidget, min_length=8)

    class Meta:
        model = User
        fields = ["email", "full_name"]
