"""The visual email editor (GrapesJS + grapesjs-mjml) as a form widget for `design`.

The widget renders a mount point, the design JSON in a hidden textarea and, in a
`json_script` (data, never executed), the editor's settings: the workspace's
`editor_config` (upload and library URLs, merge tags, brand kit, required footer links),
the language and every text the editor shows. The bundle is a static file
(`make assets` builds it from frontend/), so the console's Content-Security-Policy
(scripts from 'self' or with the nonce) needs no exception.
"""

from django import forms
from django.template.loader import render_to_string
from django.utils.safestring import mark_safe
from django.utils.translation import get_language, pgettext
from django.utils.translation import gettext as _


def editor_strings() -> dict:
    """The editor's own texts, in the request's language (GrapesJS ships its own es/de)."""
    return {
        "blocks": {
            "heading": _("Heading"),
            "text": _("Text"),
            "image": _("Image"),
            "button": _("Button"),
            "divider": _("Divider"),
            "spacer": _("Spacer"),
            "social": _("Social links"),
            "video": _("Video thumbnail"),
            "header": _("Header with logo"),
            "col1": _("1 column"),
            "col2": _("2 columns"),
            "col3": _("3 columns"),
            "footer": _("Footer"),
        },
        "categories": {"content": _("Content"), "layout": _("Layout")},
        "heading_text": _("Your heading"),
        "text_text": _("Write your message here."),
        "column_text": _("Column %(number)s"),
        "button_text": pgettext("email button", "Read more"),
        "video_alt": _("Play the video"),
        "social_names": {
            "facebook": "Facebook",
            "instagram": "Instagram",
            "linkedin": "LinkedIn",
            "x": "X",
        },
        "footer_reason": _("You receive this email because you subscribed to our list."),
        "footer_links": {
            "unsubscribe_url": _("Unsubscribe"),
            "preferences_url": _("Manage preferences"),
            "view_in_browser_url": _("View in your browser"),
        },
        "merge_tag": _("Insert merge tag"),
        "dark_preview": _("Dark-mode preview"),
        "uploading": _("Uploading…"),
        "upload_failed": _("The upload failed. Try again, or choose a smaller image."),
        "design_unreadable": _(
            "The saved visual design could not be read; the editor opened the MJML source instead."
        ),
        "leave_visual": _(
            "Leave the visual editor? The MJML is kept, but the visual design (blocks and their "
            "settings) is discarded when you save in another mode."
        ),
    }


class VisualEditorWidget(forms.Textarea):
    """GrapesJS on the template change page; writes `design` (and `mjml_source`) on submit.

    `config` is `editor_config(request, template)`; the admin sets it per request.
    `readonly` shows the design (or `mjml` when it has none) without any way to change it.
    """

    template_name = "email_templates/widgets/visual_editor.html"
    fields = {"mode": "editor", "mjml": "mjml_source", "html": "html_body", "design": "design"}

    class Media:
        css = {"all": ["engagex/editor/editor.css"]}
        js = [forms.Script("engagex/editor/editor.js", type="module")]

    def __init__(
        self, attrs=None, *, config: dict | None = None, readonly: bool = False, mjml: str = ""
    ):
        super().__init__(attrs)
        self.config = config or {}
        self.readonly = readonly
        self.mjml = mjml  # read-only: the page has no MJML field to fall back on

    def get_context(self, name, value, attrs):
        context = super().get_context(name, value, attrs)
        widget_id = context["widget"]["attrs"].get("id") or f"id_{name}"
        context["widget"]["config_id"] = f"{widget_id}_editor_config"
        context["widget"]["readonly"] = self.readonly
        context["widget"]["settings"] = {
            "config": self.config,
            "locale": (get_language() or "en").split("-")[0],
            "readonly": self.readonly,
            "mjml": self.mjml,
            "mode": self.config.get("template", {}).get("editor", "visual"),
            "fields": {**self.fields, "design": name},
            "strings": editor_strings(),
        }
        return context

    def _render(self, template_name, context, renderer=None):
        # The project's templates/ (not only the apps' and django.forms'): the console's own
        # template loaders, so the widget's template lives with the other admin templates.
        return mark_safe(render_to_string(template_name, context))  # noqa: S308 (a template)
