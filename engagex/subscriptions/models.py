import secrets

from django.db import models
from django.utils.translation import gettext_lazy as _

from engagex.contacts.models import ContactGroup, Membership


def public_id_new() -> str:
    """A form's id in public URLs: 12 URL-safe characters (72 random bits), not guessable."""
    return secrets.token_urlsafe(9)


class FieldMode(models.TextChoices):
    OFF = "", _("Not asked")
    OPTIONAL = "optional", _("Optional")
    REQUIRED = "required", _("Required")


class SignupForm(models.Model):
    """A public sign-up form: which public lists it offers, what it asks, what it says.

    Served as a hosted page on the workspace's domain (`/f/<public_id>/`), as a plain HTML
    snippet that posts there from any site, and as a JSON endpoint.
    """

    class Language(models.TextChoices):
        EN = "en", _("English")
        ES = "es", _("Spanish")
        DE = "de", _("German")

    public_id = models.CharField(
        _("public id"), max_length=24, unique=True, default=public_id_new, editable=False
    )
    name = models.CharField(_("name"), max_length=120)
    is_active = models.BooleanField(
        _("accepting sign-ups"),
        default=True,
        help_text=_("Off: visitors see that the form is closed; nothing they send is kept."),
    )
    groups = models.ManyToManyField(
        ContactGroup,
        related_name="signup_forms",
        verbose_name=_("lists"),
        help_text=_("Only public lists can be offered on a form."),
    )
    let_choose = models.BooleanField(
        _("let people choose lists"),
        default=False,
        help_text=_("Show each list with a checkbox; otherwise everyone joins all of them."),
    )
    title = models.CharField(_("heading"), max_length=200, blank=True)
    intro = models.TextField(_("introduction"), blank=True)
    first_name = models.CharField(
        _("first name"), max_length=10, blank=True, choices=FieldMode.choices, default=""
    )
    last_name = models.CharField(
        _("last name"), max_length=10, blank=True, choices=FieldMode.choices, default=""
    )
    language_field = models.CharField(
        _("language"), max_length=10, blank=True, choices=FieldMode.choices, default=""
    )
    custom_fields = models.JSONField(
        _("custom attributes"),
        default=list,
        blank=True,
        help_text=_("[{name, label, required}]: each fills the contact's custom attribute."),
    )
    consent_text = models.TextField(
        _("consent text"),
        help_text=_("Shown beside the checkbox and kept as the evidence of consent."),
    )
    success_message = models.TextField(_("success message"), blank=True)
    redirect_url = models.URLField(
        _("redirect after sign-up"),
        max_length=500,
        blank=True,
        help_text=_("An http(s) address; if set, people go there instead of the message."),
    )
    confirmation_subject = models.CharField(
        _("confirmation email subject"), max_length=200, blank=True
    )
    confirmation_body = models.TextField(
        _("confirmation email text"),
        blank=True,
        help_text=_(
            "Must contain {{ confirm_url }}; may contain {{ list }} and {{ workspace }}. "
            "Empty: the default text in the form's language."
        ),
    )
    language = models.CharField(
        _("page language"), max_length=5, choices=Language.choices, default=Language.EN
    )
    accent_color = models.CharField(_("accent colour"), max_length=7, default="#2563eb")
    submissions_count = models.PositiveIntegerField(_("submissions"), default=0)
    confirmations_count = models.PositiveIntegerField(_("confirmations"), default=0)
    created_at = models.DateTimeField(_("created at"), auto_now_add=True)
    updated_at = models.DateTimeField(_("updated at"), auto_now=True)

    class Meta:
        verbose_name = _("sign-up form")
        verbose_name_plural = _("sign-up forms")
        ordering = ["name"]

    def __str__(self):
        return self.name


class Signup(models.Model):
    """Which form a membership last came through: its confirmation email's words, the
    form's counts, and when the last confirmation email was asked for."""

    form = models.ForeignKey(
        SignupForm, on_delete=models.CASCADE, related_name="signups", verbose_name=_("form")
    )
    membership = models.OneToOneField(
        Membership, on_delete=models.CASCADE, related_name="signup", verbose_name=_("membership")
    )
    created_contact = models.BooleanField(
        _("created the contact"),
        default=False,
        help_text=_("The contact did not exist before this sign-up."),
    )
    submitted_at = models.DateTimeField(_("submitted"))

    class Meta:
        verbose_name = _("sign-up")
        verbose_name_plural = _("sign-ups")
        indexes = [models.Index(fields=["form", "submitted_at"], name="signup_form_idx")]

    def __str__(self):
        return f"{self.form} · {self.membership}"


class SignupCounter(models.Model):
    """A sign-up rate-limit window or a used ALTCHA challenge, counted in one statement
    (services.abuse.counter_hit) when no Redis is configured: the PostgreSQL cache costs
    a get, a set and a COUNT(*) of its whole table per hit."""

    key = models.CharField(_("key"), max_length=120, primary_key=True)
    expires = models.DateTimeField(_("expires"))
    hits = models.PositiveIntegerField(_("hits"), default=0)

    class Meta:
        verbose_name = _("sign-up counter")
        verbose_name_plural = _("sign-up counters")
        indexes = [models.Index(fields=["expires"], name="signup_counter_expires_idx")]

    def __str__(self):
        return self.key


class PendingSignup(models.Model):
    """A visitor's accepted post, kept until the task cluster makes it a contact and its
    memberships (services.forms.signups_process). The request stores only this row, so a
    form keeps answering at once under a burst; what the visitor reads does not depend on
    what processing finds (known, bounced, over the plan's limit: no enumeration)."""

    form = models.ForeignKey(
        SignupForm, on_delete=models.CASCADE, related_name="pending", verbose_name=_("form")
    )
    email = models.CharField(_("email"), max_length=254)
    fields = models.JSONField(_("fields"), default=dict)
    attributes = models.JSONField(_("attributes"), default=dict)
    lists = models.JSONField(_("lists"), default=list, help_text=_("The ids of the lists chosen."))
    ip = models.GenericIPAddressField(_("IP address"), null=True, blank=True)
    user_agent = models.TextField(_("user agent"), blank=True)
    consent_text = models.TextField(
        _("consent text"), blank=True, help_text=_("The words the visitor agreed to.")
    )
    submitted_at = models.DateTimeField(_("submitted"))
    attempts = models.PositiveSmallIntegerField(_("attempts"), default=0)

    class Meta:
        verbose_name = _("waiting sign-up")
        verbose_name_plural = _("waiting sign-ups")

    def __str__(self):
        return self.email
