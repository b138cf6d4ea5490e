import difflib
import re

from django.conf import settings
from django.db.models import QuerySet
from django.urls import reverse
from django.utils.translation import gettext_lazy as _

from engagex.email_templates.audience import MergeContact, audience
from engagex.email_templates.checks import (
    HTML_CLIP_BYTES,
    html_links,
    link_check_list,
    template_checklist,
)
from engagex.email_templates.design import DESIGN_MAX_BYTES
from engagex.email_templates.models import (
    BrandKit,
    Editor,
    EmailTemplate,
    MediaAsset,
    TemplateVersion,
)
from engagex.email_templates.starters import footer_mjml

PREVIEW_CONTACT_CHOICES = 10


def preview_contact_list(
    *, search: str, limit: int = PREVIEW_CONTACT_CHOICES
) -> list[MergeContact]:
    """Contacts whose email (or name) starts with `search`, for the preview's contact picker."""
    if not search.strip():
        return []
    return audience().search(search, limit)


def preview_contact_get(*, contact_id) -> MergeContact | None:
    """The contact to preview a template for, or None when the id names no contact."""
    try:
        return audience().get(int(contact_id))
    except (TypeError, ValueError):
        return None


ATTRIBUTE_NAMES_SAMPLE = 10_000


def contact_attribute_names(*, sample: int = ATTRIBUTE_NAMES_SAMPLE) -> set[str]:
    """The custom attribute names the workspace's most recent `sample` contacts have.

    Read on every save and live preview: the newest contacts (by primary key) keep this a
    bounded read on a million-contact workspace; an attribute only older contacts have is
    reported as unknown, which is a warning, never a refusal.
    """
    return audience().attribute_names(sample)


# --- media library, brand kit and the editor --------------------------------------------------
def media_asset_list() -> QuerySet[MediaAsset]:
    """The workspace's images, newest first."""
    return MediaAsset.objects.select_related("uploaded_by").order_by("-created_at", "-pk")


def media_asset_url(asset: MediaAsset, request=None) -> str:
    """Where mail clients fetch the image: absolute (a relative URL means nothing in an inbox)."""
    url = asset.file.url
    if request is not None and url.startswith("/"):
        return request.build_absolute_uri(url)
    return url


def media_asset_json(asset: MediaAsset, request=None) -> dict:
    """One image as GrapesJS's asset manager reads it."""
    return {
        "src": media_asset_url(asset, request),
        "width": asset.width,
        "height": asset.height,
        "name": asset.name,
        "type": "image",
    }


def brand_kit_get() -> BrandKit:
    """The workspace's brand kit, with the defaults when nobody has edited it (not stored)."""
    return BrandKit.objects.select_related("logo").filter(singleton=True).first() or BrandKit()


CONTACT_MERGE_FIELDS = [
    ("email", _("Email")),
    ("first_name", _("First name")),
    ("last_name", _("Last name")),
    ("full_name", _("Full name")),
    ("phone", _("Phone")),
    ("language", _("Language")),
]
REQUIRED_FOOTER_TAGS = ["{{ unsubscribe_url }}", "{{ preferences_url }}"]


def merge_tag_list(*, attribute_names: set[str] | None = None) -> list[dict]:
    """Every merge tag the editor's picker offers: [{"label": str, "tag": "{{ … }}"}]."""
    tags = [
        {"label": str(label), "tag": f"{{{{ contact.{name} }}}}"}
        for name, label in CONTACT_MERGE_FIELDS
    ]
    names = contact_attribute_names() if attribute_names is None else attribute_names
    tags += [
        {
            "label": str(_("Attribute: %(name)s") % {"name": name}),
            "tag": f"{{{{ contact.attributes.{name} }}}}",
        }
        for name in sorted(names)
        if name.isidentifier()  # `contact.attributes.<name>` must be a valid lookup
    ]
    tags += [
        {"label": str(_("Workspace name")), "tag": "{{ workspace.name }}"},
        {"label": str(_("Unsubscribe link")), "tag": "{{ unsubscribe_url }}"},
        {"label": str(_("Preferences link")), "tag": "{{ preferences_url }}"},
        {"label": str(_("View in browser link")), "tag": "{{ view_in_browser_url }}"},
    ]
    return tags


def brand_kit_json(kit: BrandKit, request=None) -> dict:
    return {
        "logo_url": media_asset_url(kit.logo, request) if kit.logo else "",
        "primary_colour": kit.primary_colour,
        "text_colour": kit.text_colour,
        "background_colour": kit.background_colour,
        "font_family": kit.font_family,
        "footer_address": kit.footer_address,
    }


def editor_config(request, template: EmailTemplate | None = None) -> dict:
    """What the drag-and-drop editor widget needs, as JSON-ready data.

    ```
    {
      "upload_url": "/admin/email_templates/mediaasset/upload/",   # POST multipart `files`
      "library_url": "/admin/email_templates/mediaasset/library/", # GET: {"data": [asset…]}
      "can_upload": bool,             # the add-image permission (else hide the upload area)
      "merge_tags": [{"label": "First name", "tag": "{{ contact.first_name }}"}, …],
      "brand": {"logo_url": "https://…" or "", "primary_colour": "#1a73e8",
                "text_colour": "#1f2937", "background_colour": "#f3f4f6",
                "font_family": "Arial, Helvetica, sans-serif", "footer_address": "…"},
      "required_footer_tags": ["{{ unsubscribe_url }}", "{{ preferences_url }}"],
      "footer_mjml": "<mj-section>…</mj-section>",  # the footer block, with both links
      "template": {"id": 1 or None, "editor": "visual", "preview_url": "…" or ""},
      "limits": {"design_bytes": 2097152, "media_bytes": 5242880, "html_bytes": 102400},
    }
    ```
    An asset is {"src", "width", "height", "name", "type": "image"}, as GrapesJS reads it.
    """
    kit = brand_kit_get()
    site = "admin"
    return {
        "upload_url": reverse(f"{site}:email_templates_mediaasset_upload"),
        "library_url": reverse(f"{site}:email_templates_mediaasset_library"),
        "can_upload": request.user.has_perm("email_templates.add_mediaasset"),
        "merge_tags": merge_tag_list(),
        "brand": brand_kit_json(kit, request),
        "required_footer_tags": REQUIRED_FOOTER_TAGS,
        "footer_mjml": footer_mjml(kit),
        "template": {
            "id": template.pk if template is not None else None,
            "editor": template.editor if template is not None else "html",
            "preview_url": (
                reverse(f"{site}:email_templates_emailtemplate_preview", args=[template.pk])
                if template is not None and template.pk
                else ""
            ),
        },
        "limits": {
            "design_bytes": DESIGN_MAX_BYTES,
            "media_bytes": settings.MEDIA_MAX_BYTES,
            "html_bytes": HTML_CLIP_BYTES,
        },
    }


# --- versions -------------------------------------------------------------------------------
def template_version_list(*, template: EmailTemplate) -> QuerySet[TemplateVersion]:
    """The template's versions, newest first, with who saved each."""
    return template.versions.select_related("created_by").order_by("-number")


def template_version_get(*, template: EmailTemplate, number) -> TemplateVersion | None:
    try:
        return template.versions.select_related("created_by").get(number=int(number))
    except (TypeError, ValueError, TemplateVersion.DoesNotExist):
        return None


_TAG_BREAK = re.compile(r">\s*<")
DIFF_FIELDS = ["subject", "preheader", "editor", "mjml_source", "html_body", "text_body"]
DIFF_CONTEXT_LINES = 3


def template_version_diff(old: TemplateVersion | None, new: TemplateVersion) -> list[dict]:
    """Per changed field, a unified diff of its text: [{"field", "label", "lines"}].

    `lines` are (kind, text) with kind "add", "remove", "context" or "hunk"; the text is
    plain (the page escapes it). The design (the editor's JSON) is compared as a whole.
    """
    changes = []
    labels = {field.name: field.verbose_name for field in TemplateVersion._meta.fields}
    compiled = new.editor != Editor.HTML and (old is None or old.editor != Editor.HTML)
    for field in DIFF_FIELDS:
        if field == "html_body" and compiled:
            continue  # compiled from the MJML, whose diff says it in the author's words
        before = str(getattr(old, field, "") or "") if old is not None else ""
        after = str(getattr(new, field) or "")
        if before == after:
            continue
        if field == "html_body":  # one tag a line: HTML is often written on a few long lines
            before, after = _TAG_BREAK.sub(">\n<", before), _TAG_BREAK.sub(">\n<", after)
        lines = []
        for line in list(
            difflib.unified_diff(
                before.splitlines(), after.splitlines(), lineterm="", n=DIFF_CONTEXT_LINES
            )
        )[2:]:
            if line.startswith("@@"):
                lines.append(("hunk", line))
            elif line.startswith("+"):
                lines.append(("add", line[1:]))
            elif line.startswith("-"):
                lines.append(("remove", line[1:]))
            else:
                lines.append(("context", line[1:]))
        changes.append({"field": field, "label": labels[field], "lines": lines})
    if old is not None and old.design != new.design:
        changes.append(
            {
                "field": "design",
                "label": labels["design"],
                "lines": [("context", str(_("The drag-and-drop design changed.")))],
            }
        )
    return changes


# --- pre-send checks ------------------------------------------------------------------------
def template_checks(
    *,
    template: EmailTemplate,
    subject: str | None = None,
    preheader: str | None = None,
    rendered_html: str | None,
    merge_warnings: dict[str, list[str]],
) -> list:
    """The pre-send checklist of a saved template.

    `subject` and `preheader` as rendered (or a campaign's subject); the template's own
    text when not given.
    """
    urls = html_links(template.html_body)
    return template_checklist(
        subject=template.subject if subject is None else subject,
        preheader=template.preheader if preheader is None else preheader,
        html_source=template.html_body,
        rendered_html=rendered_html,
        merge_warnings=merge_warnings,
        link_checks=link_check_list(template=template, urls=urls),
    )
