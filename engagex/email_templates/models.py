from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import models
from django.utils.translation import gettext_lazy as _

from engagex.email_templates.sandbox import template_compile

TEMPLATE_FIELDS = ["subject", "preheader", "html_body", "text_body"]


class EmailTemplate(models.Model):
    name = models.CharField(_("name"), max_length=120)
    subject = models.CharField(_("subject"), max_length=255)
    preheader = models.CharField(
        _("preheader"),
        max_length=255,
        blank=True,
        help_text=_("The preview line inboxes show after the subject."),
    )
    html_body = models.TextField(_("HTML body"))
    text_body = models.TextField(
        _("plain-text body"), blank=True, help_text=_("Leave blank to generate it from the HTML.")
    )
    description = models.CharField(_("description"), max_length=255, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("created by"),
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("updated by"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("created at"))
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("email template")
        verbose_name_plural = _("email templates")
        ordering = ["name"]

    def __str__(self):
        return self.name

    def clean(self):
        super().clean()
        errors = {}
        for field in TEMPLATE_FIELDS:
            try:
                template_compile(getattr(self, field))
            except ValidationError as error:
                errors[field] = error.messages
        if errors:
            raise ValidationError(errors)
