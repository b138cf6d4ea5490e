from django.conf import settings
from django.core.exceptions import ValidationError
from django.core.validators import RegexValidator
from django.db import models
from django.utils.translation import gettext_lazy as _

from engagex.core.tenancy import current_schema
from engagex.email_templates.sandbox import template_compile

TEMPLATE_FIELDS = ["subject", "preheader", "html_body", "text_body"]
# What a version keeps of a template: everything that changes what is sent or edited.
VERSIONED_FIELDS = [
    "editor",
    "subject",
    "preheader",
    "html_body",
    "text_body",
    "mjml_source",
    "design",
]


class Editor(models.TextChoices):
    HTML = "html", _("HTML code")
    MJML = "mjml", _("MJML code")
    VISUAL = "visual", _("Drag-and-drop editor")


class EmailTemplate(models.Model):
    name = models.CharField(_("name"), max_length=120)
    subject = models.CharField(_("subject"), max_length=255)
    preheader = models.CharField(
        _("preheader"),
        max_length=255,
        blank=True,
        help_text=_("The preview line inboxes show after the subject."),
    )
    editor = models.CharField(
        _("editor"),
        max_length=10,
        choices=Editor.choices,
        default=Editor.HTML,
        help_text=_(
            "HTML code: you write the HTML body. MJML code and the drag-and-drop editor: the "
            "HTML body is compiled from the MJML source when you save."
        ),
    )
    mjml_source = models.TextField(_("MJML source"), blank=True)
    # The drag-and-drop editor's project data: opaque to the server (size and depth capped).
    design = models.JSONField(_("design"), default=dict, blank=True)
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
        fields = list(TEMPLATE_FIELDS)
        if self.editor != Editor.HTML:
            # The author wrote the MJML: its merge tags are reported on the lines written
            # there (the HTML compiled from it is checked again by the service).
            fields = ["mjml_source", *(field for field in fields if field != "html_body")]
        for field in fields:
            try:
                template_compile(getattr(self, field))
            except ValidationError as error:
                errors[field] = error.messages
        if errors:
            raise ValidationError(errors)


class TemplateVersion(models.Model):
    """A template as one save left it: history, diffs, restores and what a campaign sent."""

    template = models.ForeignKey(
        EmailTemplate,
        on_delete=models.CASCADE,
        related_name="versions",
        verbose_name=_("template"),
    )
    number = models.PositiveIntegerField(_("version"))
    editor = models.CharField(_("editor"), max_length=10, choices=Editor.choices)
    subject = models.CharField(_("subject"), max_length=255)
    preheader = models.CharField(_("preheader"), max_length=255, blank=True)
    html_body = models.TextField(_("HTML body"))
    text_body = models.TextField(_("plain-text body"), blank=True)
    mjml_source = models.TextField(_("MJML source"), blank=True)
    design = models.JSONField(_("design"), default=dict, blank=True)
    # Set when the version was made by restoring an older one.
    restored_from = models.PositiveIntegerField(_("restored from version"), null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("saved by"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("saved at"))

    class Meta:
        verbose_name = _("template version")
        verbose_name_plural = _("template versions")
        ordering = ["template", "-number"]
        constraints = [
            models.UniqueConstraint(
                fields=["template", "number"], name="template_version_number_unique"
            ),
        ]

    def __str__(self):
        return _("%(template)s, version %(number)s") % {
            "template": self.template.name,
            "number": self.number,
        }


def media_upload_to(instance, filename):
    """Keep each workspace's media under its own schema name (as contacts keep imports)."""
    from django.utils import timezone

    return f"{current_schema()}/media/{timezone.now():%Y/%m}/{filename}"


class MediaAsset(models.Model):
    """An image of the workspace's media library, as the editor and emails use it."""

    file = models.FileField(_("file"), upload_to=media_upload_to, max_length=300)
    name = models.CharField(_("name"), max_length=255)
    content_type = models.CharField(_("content type"), max_length=50)
    bytes = models.PositiveIntegerField(_("size in bytes"))
    width = models.PositiveIntegerField(_("width"))
    height = models.PositiveIntegerField(_("height"))
    uploaded_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("uploaded by"),
    )
    created_at = models.DateTimeField(auto_now_add=True, verbose_name=_("uploaded at"))

    class Meta:
        verbose_name = _("image")
        verbose_name_plural = _("media library")
        ordering = ["-created_at", "-pk"]

    def __str__(self):
        return self.name


HEX_COLOUR = RegexValidator(
    r"^#[0-9a-fA-F]{6}$", _("Enter a colour as # and six hexadecimal digits, e.g. #1a73e8.")
)


class FontStack(models.TextChoices):
    # Web-safe stacks only: a web font would need an external stylesheet in the email.
    ARIAL = "Arial, Helvetica, sans-serif", "Arial / Helvetica"
    VERDANA = "Verdana, Geneva, sans-serif", "Verdana"
    TAHOMA = "Tahoma, Verdana, sans-serif", "Tahoma"
    TREBUCHET = "'Trebuchet MS', Helvetica, sans-serif", "Trebuchet MS"
    GEORGIA = "Georgia, 'Times New Roman', serif", "Georgia"
    TIMES = "'Times New Roman', Times, serif", "Times New Roman"
    COURIER = "'Courier New', Courier, monospace", "Courier New"


class BrandKit(models.Model):
    """The workspace's look: one row per workspace (its schema), edited on the console page."""

    # One row per schema: the constraint holds it even against two first saves at once.
    singleton = models.BooleanField(default=True, editable=False, unique=True)
    logo = models.ForeignKey(
        MediaAsset,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("logo"),
    )
    primary_colour = models.CharField(
        _("primary colour"),
        max_length=7,
        default="#1a73e8",
        validators=[HEX_COLOUR],
        help_text=_("Buttons and links."),
    )
    text_colour = models.CharField(
        _("text colour"), max_length=7, default="#1f2937", validators=[HEX_COLOUR]
    )
    background_colour = models.CharField(
        _("background colour"), max_length=7, default="#f3f4f6", validators=[HEX_COLOUR]
    )
    font_family = models.CharField(
        _("font"), max_length=60, choices=FontStack.choices, default=FontStack.ARIAL
    )
    footer_address = models.TextField(
        _("footer address"),
        blank=True,
        max_length=500,
        help_text=_(
            "Your postal address, shown in every email's footer (anti-spam laws ask for it)."
        ),
    )
    updated_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.SET_NULL,
        related_name="+",
        verbose_name=_("updated by"),
    )
    updated_at = models.DateTimeField(auto_now=True, verbose_name=_("updated at"))

    class Meta:
        verbose_name = _("brand kit")
        verbose_name_plural = _("brand kit")

    def __str__(self):
        return str(_("Brand kit"))


class LinkCheck(models.Model):
    """Whether one link of a template answered when the cluster last tried it."""

    class Status(models.TextChoices):
        PENDING = "pending", _("Checking…")
        OK = "ok", _("Answers")
        FAILING = "failing", _("Does not answer")

    template = models.ForeignKey(
        EmailTemplate, on_delete=models.CASCADE, related_name="link_checks"
    )
    url = models.URLField(max_length=2000)
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.PENDING)
    detail = models.CharField(max_length=255, blank=True)
    checked_at = models.DateTimeField(null=True, blank=True)
    requested_at = models.DateTimeField()

    class Meta:
        verbose_name = _("link check")
        verbose_name_plural = _("link checks")
        constraints = [
            models.UniqueConstraint(fields=["template", "url"], name="link_check_unique"),
        ]

    def __str__(self):
        return self.url
