"""Render templates for one recipient (previews, test sends, campaigns) and send tests."""

import logging
import re
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.core.mail import EmailMultiAlternatives, get_connection
from django.core.validators import validate_email
from django.utils.html import escape
from django.utils.translation import gettext_lazy

from engagex.email_templates.audience import MergeContact
from engagex.email_templates.models import EmailTemplate
from engagex.email_templates.plaintext import html_to_text
from engagex.email_templates.sandbox import render, render_error_message, sample_context
from engagex.email_templates.sandbox_limits import render_limits

logger = logging.getLogger(__name__)

TEST_SUBJECT_PREFIX = gettext_lazy("[Test] ")
TEST_RECIPIENTS_MAX = 5
TEST_RECIPIENTS_REQUIRED = gettext_lazy("Enter at least one email address to send the test to.")
TEST_RECIPIENTS_TOO_MANY = gettext_lazy(
    "A test email can go to at most {limit} addresses at a time; you entered {count}."
)
TEST_RECIPIENTS_INVALID = gettext_lazy("Not a valid email address: {addresses}.")

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


def _plain(value: str) -> str:
    # Rendered output is marked safe by the template engine; it is untrusted wherever it is
    # shown next (the admin page), so it must be escaped there like any other text.
    return str.__str__(value)


def render_field(source: str, context: dict, *, html: bool) -> str:
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
            return render_field(getattr(template, name), context, html=name == "html_body")
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
