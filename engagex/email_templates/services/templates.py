"""Write, render and test-send email templates."""

import logging
import re
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.validators import validate_email
from django.db import transaction
from django.utils.html import escape
from django.utils.translation import gettext_lazy

from engagex.email_templates.audience import MergeContact
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
from engagex.email_templates.sandbox import (
    render,
    render_error_message,
    sample_context,
    template_compile,
)
from engagex.email_templates.sandbox_fields import unknown_field_warnings
from engagex.email_templates.sandbox_limits import render_limits
from engagex.email_templates.selectors import brand_kit_get, contact_attribute_names
from engagex.email_templates.starters import STARTERS_BY_SLUG, starter_mjml

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise

logger = logging.getLogger(__name__)

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
TEST_SUBJECT_PREFIX = gettext_lazy("[Test] ")
TEST_RECIPIENTS_MAX = 5
TEST_RECIPIENTS_REQUIRED = gettext_lazy("Enter at least one email address to send the test to.")
TEST_RECIPIENTS_TOO_MANY = gettext_lazy(
    "A test email can go to at most {limit} addresses at a time; you entered {count}."
)
TEST_RECIPIENTS_INVALID = gettext_lazy("Not a valid email address: {addresses}.")
UNKNOWN_FIELDS = gettext_lazy("These template fields cannot be set: {fields}.")
COMPILED_HTML_ERROR = gettext_lazy("In the HTML compiled from the MJML: {message}")
VERSION_OF_ANOTHER_TEMPLATE = gettext_lazy("That version belongs to another template.")
STARTER_UNKNOWN = gettext_lazy("There is no such starter template; choose one from the list.")

# Preheaders are shown by inboxes as the first text of the body, so the sent HTML starts
# with the preheader in an element that mail clients do not display.
PREHEADER_HTML = (
    '<div style="display:none;font-size:1px;line-height:1px;max-height:0;max-width:0;'
    'opacity:0;overflow:hidden;mso-hide:all;">{preheader}</div>'
)
_BODY_OPEN_RE = re.compile(r"<body\b[^>]*>", re.IGNORECASE)


@dataclass(frozen=True)
class RenderedEmail:
    """One template rendered for one recipient; every value is untrusted, unescaped text."""

    subject: str
    preheader: str
    html: str
    text: str


def html_with_preheader(html: str, preheader: str) -> str:
    """Put the preheader, hidden, at the start of the body where inboxes look for it."""
    if not preheader:
        return html
    hidden = PREHEADER_HTML.format(preheader=escape(preheader))
    match = _BODY_OPEN_RE.search(html)
    if match is None:
        return hidden + html
    return html[: match.end()] + hidden + html[match.end() :]


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
                _render_field(getattr(template, field), context, html=field == "html_body")
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


def _snapshot(source) -> dict:
    return {field: getattr(source, field) for field in VERSIONED_FIELDS}


def template_version_write(
    *, template: EmailTemplate, user, restored_from: int | None = None
) -> TemplateVersion:
    """Record the template as it is now as its next version."""
    latest = template.versions.order_by("-number").values_list("number", flat=True).first()
    return TemplateVersion.objects.create(
        template=template,
        number=(latest or 0) + 1,
        created_by=user,
        restored_from=restored_from,
        **_snapshot(template),
    )


@transaction.atomic
def template_version_current(*, template: EmailTemplate, user) -> TemplateVersion:
    """The version matching the template as stored; written first when there is none.

    Templates saved before versions existed (or written around the services) have none:
    whatever pins "the version it sent" gets one then.
    """
    template = EmailTemplate.objects.select_for_update().get(pk=template.pk)
    latest = template.versions.order_by("-number").first()
    if latest is not None and _snapshot(latest) == _snapshot(template):
        return latest
    return template_version_write(template=template, user=user)


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
    if latest is None or _snapshot(latest) != _snapshot(template):
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


# --- rendering and test sends ---------------------------------------------------------------
def _plain(value: str) -> str:
    # Rendered output is marked safe by the template engine; it is untrusted wherever it is
    # shown next (the admin page), so it must be escaped there like any other text.
    return str.__str__(value)


def _render_field(source: str, context: dict, *, html: bool) -> str:
    try:
        return _plain(render(source, context, html=html))
    except ValidationError:
        raise
    # Filters and tags raise all kinds of errors at render time (|divisibleby:0, a
    # {% widthratio %} over text, a render cap); each is the author's mistake, never a
    # server error.
    except Exception as error:
        raise ValidationError(render_error_message(error)) from error


def contact_merge_data(contact: MergeContact) -> dict:
    """The values of a contact that templates may use as `contact.<name>`."""
    return merge_contact(
        email=contact.email,
        first_name=contact.first_name,
        last_name=contact.last_name,
        phone=contact.phone,
        language=contact.language,
        attributes=contact.attributes,
    )


def merge_contact(*, email, first_name, last_name, phone, language, attributes) -> dict:
    """`contact` as merge tags see it: in previews, test sends, campaigns and web versions."""
    return {
        "email": email,
        "first_name": first_name,
        "last_name": last_name,
        "full_name": f"{first_name} {last_name}".strip(),
        "phone": phone,
        "language": language,
        "attributes": dict(attributes or {}),
    }


# The fields `contact.<name>` has, for the unknown-field warnings.
CONTACT_FIELDS = tuple(
    merge_contact(email="", first_name="", last_name="", phone="", language="", attributes={})
)


def template_render(
    *, template: EmailTemplate, contact: MergeContact | None = None, workspace_name: str
) -> RenderedEmail:
    """Render a template for a contact, or the sample contact when none is given.

    The fields share one render budget, as they do when a campaign is sent. A field that
    fails raises ValidationError on that field.
    """
    context = sample_context(
        workspace_name=workspace_name,
        contact=contact_merge_data(contact) if contact is not None else None,
    )

    def field(name: str) -> str:
        try:
            return _render_field(getattr(template, name), context, html=name == "html_body")
        except ValidationError as error:
            raise ValidationError({name: error.messages}) from error

    with render_limits():
        html = field("html_body")
        text = field("text_body").strip() if template.text_body.strip() else html_to_text(html)
        # A header holds one line: merge data with line breaks must not split it.
        subject = " ".join(field("subject").split())
        preheader = " ".join(field("preheader").split())
    return RenderedEmail(subject=subject, preheader=preheader, html=html, text=text)


def template_test_recipients_clean(recipients: list[str]) -> list[str]:
    """Trim and de-duplicate addresses; refuse none, more than the limit, or invalid ones."""
    cleaned, seen = [], set()
    for address in recipients:
        address = (address or "").strip()
        if address and address.lower() not in seen:
            seen.add(address.lower())
            cleaned.append(address)
    if not cleaned:
        raise ValidationError(TEST_RECIPIENTS_REQUIRED)
    if len(cleaned) > TEST_RECIPIENTS_MAX:
        raise ValidationError(
            TEST_RECIPIENTS_TOO_MANY.format(limit=TEST_RECIPIENTS_MAX, count=len(cleaned))
        )
    invalid = []
    for address in cleaned:
        try:
            validate_email(address)
        except ValidationError:
            invalid.append(address)
    if invalid:
        raise ValidationError(TEST_RECIPIENTS_INVALID.format(addresses=", ".join(invalid)))
    return cleaned


def template_send_test(
    *,
    template: EmailTemplate,
    recipients: list[str],
    workspace_name: str,
    user,
    contact: MergeContact | None = None,
) -> int:
    """Email the rendered template to up to five addresses, one message each; return the count."""
    addresses = template_test_recipients_clean(recipients)
    rendered = template_render(template=template, contact=contact, workspace_name=workspace_name)
    messages = []
    for address in addresses:
        message = EmailMultiAlternatives(
            subject=f"{TEST_SUBJECT_PREFIX}{rendered.subject}",
            body=rendered.text,
            to=[address],
        )
        message.attach_alternative(
            html_with_preheader(rendered.html, rendered.preheader), "text/html"
        )
        messages.append(message)
    sent = get_connection().send_messages(messages) or 0
    logger.info(
        "Test of email template %s sent to %d address(es) by user %s",
        template.pk,
        sent,
        getattr(user, "pk", None),
    )
    return sent


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
