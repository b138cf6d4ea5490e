"""Write email templates: create, change, duplicate, restore, start from a starter.

Every write checks that each field compiles and renders (for MJML and drag-and-drop
templates, after compiling the MJML) and records a version when the content changed.
"""

from collections.abc import Sequence
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy

from engagex.email_templates.design import design_check
from engagex.email_templates.mjml import mjml_to_html
from engagex.email_templates.models import (
    TEMPLATE_FIELDS,
    VERSIONED_FIELDS,
    Editor,
    EmailTemplate,
    TemplateVersion,
)
from engagex.email_templates.plaintext import html_to_text
from engagex.email_templates.sandbox import sample_context, template_compile
from engagex.email_templates.sandbox_fields import unknown_field_warnings
from engagex.email_templates.sandbox_limits import render_limits
from engagex.email_templates.selectors import brand_kit_get, contact_attribute_names
from engagex.email_templates.services.rendering import CONTACT_FIELDS, render_field
from engagex.email_templates.services.versions import template_snapshot, template_version_write
from engagex.email_templates.starters import STARTERS_BY_SLUG, starter_mjml

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

EDITABLE_FIELDS = [
    "name",
    "subject",
    "preheader",
    "editor",
    "mjml_source",
    "design",
    "html_body",
    "text_body",
    "description",
]
HTML_BODY_EMPTY = gettext_lazy(
    "The HTML body is empty: write the content of the email (text or images) before saving."
)
COPY_NAME = gettext_lazy("Copy of {name}")
UNKNOWN_FIELDS = gettext_lazy("These template fields cannot be set: {fields}.")
COMPILED_HTML_ERROR = gettext_lazy("In the HTML compiled from the MJML: {message}")
VERSION_OF_ANOTHER_TEMPLATE = gettext_lazy("That version belongs to another template.")
STARTER_UNKNOWN = gettext_lazy("There is no such starter template; choose one from the list.")


# --- validation -----------------------------------------------------------------------------
def _has_content(html: str) -> bool:
    return bool(html_to_text(html).strip()) or "<img" in (html or "").lower()


def template_content_check(*, template: EmailTemplate, fields=TEMPLATE_FIELDS) -> None:
    """Refuse an HTML body without content and fields that fail when rendered.

    The fields are rendered for the sample contact as one email, within one render budget
    (as a send renders them): a template past the caps is refused on the field that ran
    out, and the fields after it are not tried.
    """
    errors: dict[str, Sequence[StrOrPromise]] = {}
    if "html_body" in fields and not _has_content(template.html_body):
        errors["html_body"] = [HTML_BODY_EMPTY]
    context = sample_context()
    with render_limits() as budget:
        for field in fields:
            if field in errors:
                continue
            try:
                render_field(getattr(template, field), context, html=field == "html_body")
            except ValidationError as error:
                errors[field] = error.messages
                if budget.error is not None:
                    break
    if errors:
        raise ValidationError(errors)


def template_warnings(
    *, template: EmailTemplate, fields=TEMPLATE_FIELDS, attribute_names: set[str] | None = None
) -> dict[str, list[str]]:
    """Per field, a warning for each merge tag no recipient has (the template may still save).

    A field that does not compile has no warnings: its error is reported by validation.
    `attribute_names` (the workspace's, from `contact_attribute_names()`) saves its query
    when several templates are checked.
    """
    attributes = contact_attribute_names() if attribute_names is None else attribute_names
    warnings = {}
    for field in fields:
        try:
            found = unknown_field_warnings(
                getattr(template, field) or "",
                contact_fields=CONTACT_FIELDS,
                attribute_names=attributes,
            )
        except ValidationError:
            continue
        if found:
            warnings[field] = found
    return warnings


def template_compile_source(template: EmailTemplate) -> None:
    """For MJML and drag-and-drop templates, compile `mjml_source` into `html_body`.

    The MJML source goes through the sandbox's compile first (a refused tag is reported on
    the line the author wrote), then MRML and css-inline; the HTML that comes out is checked
    as any HTML body is. Raise ValidationError on `mjml_source` or `design`.
    """
    errors: dict[str, Sequence[StrOrPromise]] = {}
    if template.design:
        try:
            design_check(template.design)
        except ValidationError as error:
            errors["design"] = error.messages
    if template.editor != Editor.HTML:
        try:
            template_compile(template.mjml_source)
            template.html_body = mjml_to_html(template.mjml_source)
        except ValidationError as error:
            errors["mjml_source"] = error.messages
    if errors:
        raise ValidationError(errors)


def _validate(template: EmailTemplate) -> None:
    errors: dict[str, Sequence[StrOrPromise]] = {}
    try:
        template_compile_source(template)
    except ValidationError as error:
        errors.update(error.message_dict)
    if errors.get("mjml_source"):
        template.html_body = template.html_body or " "  # the MJML's error says it all
    with render_limits() as budget:  # compiling and rendering the fields: one email's caps
        try:
            template.full_clean()
        except ValidationError as error:
            errors.update({k: v for k, v in error.message_dict.items() if k not in errors})
        unchecked = [field for field in TEMPLATE_FIELDS if field not in errors]
        if "html_body" in errors and not (template.html_body or "").strip():
            errors["html_body"] = [HTML_BODY_EMPTY]  # clearer than "This field cannot be blank."
        try:
            if budget.error is None:  # else the caps are spent: the error is on its field
                template_content_check(template=template, fields=unchecked)
        except ValidationError as error:
            errors.update(error.message_dict)
    if template.editor != Editor.HTML and "html_body" in errors:
        # The author wrote MJML: what is wrong with the HTML made from it is said there.
        compiled = errors.pop("html_body")
        if "mjml_source" not in errors:
            errors["mjml_source"] = [
                COMPILED_HTML_ERROR.format(message=message) for message in compiled
            ]
    if errors:
        raise ValidationError(errors)


# --- writes ---------------------------------------------------------------------------------
@transaction.atomic
def template_create(
    *,
    name: str,
    subject: str,
    user,
    html_body: str = "",
    text_body: str = "",
    preheader: str = "",
    description: str = "",
    editor: str = Editor.HTML,
    mjml_source: str = "",
    design: dict | None = None,
) -> EmailTemplate:
    """Create a template (and its version 1) after checking every field compiles and renders.

    For MJML and drag-and-drop templates the HTML body is compiled from `mjml_source`.
    """
    template = EmailTemplate(
        name=name,
        subject=subject,
        preheader=preheader,
        editor=editor,
        mjml_source=mjml_source,
        design=design or {},
        html_body=html_body,
        text_body=text_body,
        description=description,
        created_by=user,
        updated_by=user,
    )
    _validate(template)
    template.save()
    template_version_write(template=template, user=user)
    return template


@transaction.atomic
def template_update(*, template: EmailTemplate, user, **fields) -> EmailTemplate:
    """Change the given fields; nothing is saved unless every field compiles and renders.

    A save that changes the content writes the next version; one that changes nothing
    (or only the name or description) does not.
    """
    unknown = sorted(set(fields) - set(EDITABLE_FIELDS))
    if unknown:
        raise TypeError(UNKNOWN_FIELDS.format(fields=", ".join(unknown)))
    if fields.get("design") is None and "design" in fields:
        fields["design"] = {}
    # Two saves at once would both take the same next version number.
    EmailTemplate.objects.select_for_update().filter(pk=template.pk).first()
    for name, value in fields.items():
        setattr(template, name, value)
    template.updated_by = user
    _validate(template)
    template.save()
    latest = template.versions.order_by("-number").first()
    if latest is None or template_snapshot(latest) != template_snapshot(template):
        template_version_write(template=template, user=user)
    return template


def template_duplicate(*, template: EmailTemplate, user) -> EmailTemplate:
    """Create "Copy of <name>" with the same content."""
    max_length = EmailTemplate._meta.get_field("name").max_length
    return template_create(
        name=COPY_NAME.format(name=template.name)[:max_length],
        subject=template.subject,
        preheader=template.preheader,
        html_body=template.html_body,
        text_body=template.text_body,
        description=template.description,
        editor=template.editor,
        mjml_source=template.mjml_source,
        design=template.design,
        user=user,
    )


# --- versions and starters ------------------------------------------------------------------
@transaction.atomic
def template_restore(*, template: EmailTemplate, version: TemplateVersion, user) -> EmailTemplate:
    """Bring back an older version's content as a new version (history is never rewritten).

    The content is checked under today's rules: a version saved before a rule existed is
    refused with the reason, and nothing changes.
    """
    if version.template_id != template.pk:
        raise ValidationError(VERSION_OF_ANOTHER_TEMPLATE)
    EmailTemplate.objects.select_for_update().filter(pk=template.pk).first()
    for field in VERSIONED_FIELDS:
        setattr(template, field, getattr(version, field))
    template.updated_by = user
    _validate(template)
    template.save()
    template_version_write(template=template, user=user, restored_from=version.number)
    return template


def template_from_starter(
    *, slug: str, name: str, user, logo_url: str = "", images_url: str = ""
) -> EmailTemplate:
    """Create a drag-and-drop template from a starter, in the workspace's brand kit."""
    starter = STARTERS_BY_SLUG.get(slug)
    if starter is None:
        raise ValidationError(STARTER_UNKNOWN)
    kit = brand_kit_get()
    return template_create(
        name=name,
        subject=starter.subject,
        preheader=starter.preheader,
        description=str(starter.description),
        editor=Editor.VISUAL,
        mjml_source=starter_mjml(starter, kit, logo_url=logo_url, images_url=images_url),
        user=user,
    )
