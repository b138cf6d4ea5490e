from django import forms
from django.contrib.auth import forms as auth_forms
from django.contrib.auth.password_validation import validate_password
from django.utils.text import format_lazy
from django.utils.translation import gettext_lazy as _
from unfold.widgets import (
    UnfoldAdminEmailInputWidget,
    UnfoldAdminPasswordWidget,
    UnfoldAdminSelectWidget,
    UnfoldAdminTextInputWidget,
)

from engagex.accounts import roles
from engagex.accounts.models import Invitation, User

# Lazy: the descriptions are translated when the form renders, not when this module loads.
ROLE_CHOICES = [
    (role, format_lazy("{} — {}", role, roles.ROLE_DESCRIPTIONS[role])) for role in roles.ROLES
]


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


class PlatformUserCreateForm(forms.ModelForm):
    password = forms.CharField(label=_("Password"), widget=UnfoldAdminPasswordWidget, min_length=8)

    class Meta:
        model = User
        fields = ["email", "full_name"]


class SignupForm(forms.Form):
    name = forms.CharField(
        label=_("Organisation name"), max_length=100, widget=UnfoldAdminTextInputWidget
    )
    slug = forms.CharField(
        label=_("Workspace address"),
        max_length=40,
        widget=UnfoldAdminTextInputWidget(attrs={"autocomplete": "off", "spellcheck": "false"}),
    )
    full_name = forms.CharField(
        label=_("Your name"), max_length=150, required=False, widget=UnfoldAdminTextInputWidget
    )
    email = forms.EmailField(
        label=_("Work email"), widget=UnfoldAdminEmailInputWidget(attrs={"autocomplete": "email"})
    )
    password = forms.CharField(
        label=_("Password"),
        strip=False,
        widget=UnfoldAdminPasswordWidget(attrs={"autocomplete": "new-password"}),
    )


class SignupCodeForm(forms.Form):
    code = forms.CharField(
        label=_("Code from the email"),
        max_length=6,
        min_length=6,
        widget=UnfoldAdminTextInputWidget(
            attrs={"autocomplete": "one-time-code", "inputmode": "numeric", "autofocus": True}
        ),
    )


class InvitationAcceptForm(forms.Form):
    full_name = forms.CharField(
        label=_("Your name"), max_length=150, required=False, widget=UnfoldAdminTextInputWidget
    )
    password1 = forms.CharField(
        label=_("Choose a password"),
        strip=False,
        widget=UnfoldAdminPasswordWidget(attrs={"autocomplete": "new-password"}),
    )
    password2 = forms.CharField(
        label=_("Password again"),
        strip=False,
        widget=UnfoldAdminPasswordWidget(attrs={"autocomplete": "new-password"}),
    )

    def __init__(self, *args, email: str = "", **kwargs):
        super().__init__(*args, **kwargs)
        self.email = email

    def clean(self):
        cleaned = super().clean()
        first, second = cleaned.get("password1"), cleaned.get("password2")
        if first and second and first != second:
            self.add_error("password2", _("The two passwords differ."))
        elif first:
            try:
                validate_password(
                    first, User(email=self.email, full_name=cleaned.get("full_name", ""))
                )
            except forms.ValidationError as error:
                self.add_error("password1", error)
        return cleaned


class InvitationCreateForm(forms.ModelForm):
    role = forms.ChoiceField(
        label=_("Role"),
        choices=ROLE_CHOICES,
        initial=roles.MARKETER,
        widget=UnfoldAdminSelectWidget,
        help_text=_("The invitee gets an email link to join; it works once."),
    )

    class Meta:
        model = Invitation
        fields = ["email"]


class SetPasswordForm(auth_forms.SetPasswordForm):
    """Django's set-password form with the console's inputs (its bare ones are invisible)."""

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        for name in ("new_password1", "new_password2"):
            self.fields[name].widget = UnfoldAdminPasswordWidget(
                attrs={"autocomplete": "new-password"}
            )
