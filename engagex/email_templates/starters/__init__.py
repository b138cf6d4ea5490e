"""Starter templates: MJML files in this folder, dressed in the workspace's brand kit.

Each file is MJML with the sandbox's merge tags and brand placeholders written
`%%NAME%%` (never `{{ }}`, which belong to the merge tags): PRIMARY, TEXT, BACKGROUND,
FONT, HEADER (the logo, or the workspace's name when it has none), IMAGES (where the
starters' sample pictures are served) and FOOTER (address, unsubscribe and preferences
links).
"""

import re
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.utils.html import linebreaks
from django.utils.translation import gettext_lazy as _

FOLDER = Path(__file__).parent
# The starters' sample pictures are our static files (replace them in the editor).
IMAGES_PATH = "email_templates/starters/"


_BRACE = re.compile(r"[{}]")
_BRACES = {"{": "{% templatetag openbrace %}", "}": "{% templatetag closebrace %}"}


@dataclass(frozen=True)
class Starter:
    slug: str
    name: object
    description: object
    subject: str
    preheader: str

    @property
    def path(self) -> Path:
        return FOLDER / f"{self.slug}.mjml"

    def source(self) -> str:
        return _source(self.slug)


STARTERS = [
    Starter(
        "newsletter",
        _("Newsletter"),
        _("A header, a lead story with an image, two columns of shorter news and a footer."),
        "{{ workspace.name }} news for {{ contact.first_name|default:'you' }}",
        "This month's stories, in two minutes.",
    ),
    Starter(
        "announcement",
        _("Announcement"),
        _("One big message: a headline, a picture, a paragraph and a button."),
        "Something new from {{ workspace.name }}",
        "We have news we wanted you to hear first.",
    ),
    Starter(
        "promotion",
        _("Promotion"),
        _("A sale or an offer: a discount code, three products and a call to action."),
        "{{ contact.first_name|default:'Hi' }}, 20% off this week",
        "Use the code inside before Sunday.",
    ),
    Starter(
        "welcome",
        _("Welcome"),
        _("Greet a new subscriber and point them to three first steps."),
        "Welcome to {{ workspace.name }}, {{ contact.first_name|default:'friend' }}",
        "Here is how to get started.",
    ),
    Starter(
        "event",
        _("Event invitation"),
        _("Date, place and agenda of an event with a button to register."),
        "You are invited, {{ contact.first_name|default:'friend' }}",
        "Save the date and reserve your seat.",
    ),
    Starter(
        "letter",
        _("Plain letter"),
        _("A personal note: text only, like an email from a person."),
        "A note from {{ workspace.name }}",
        "",
    ),
]
STARTERS_BY_SLUG = {starter.slug: starter for starter in STARTERS}


@cache
def _source(slug: str) -> str:
    return (FOLDER / f"{slug}.mjml").read_text(encoding="utf-8")


def _mjml_attribute(value: str) -> str:
    # Font stacks quote names with ' ("'Trebuchet MS'"): only what ends the attribute.
    return value.replace("&", "&amp;").replace('"', "&quot;").replace("<", "&lt;")


def footer_mjml(kit) -> str:
    """The footer section every starter ends with, in the brand kit's colours."""
    # Plain text: escaped, and each brace written with {% templatetag %} so an address is
    # never a merge tag (entities would not do: the HTML is parsed again when inlining).
    address = linebreaks(kit.footer_address, autoescape=True)
    address = _BRACE.sub(lambda match: _BRACES[match.group()], address)
    address = address.replace("<p>", "").replace("</p>", "<br>").replace("\n", "")
    address = address.removesuffix("<br>")
    return (
        '<mj-section padding="16px 0"><mj-column>'
        f'<mj-text align="center" font-size="12px" line-height="18px" color="{kit.text_colour}">'
        f"{address}{'<br>' if address else ''}"
        "You receive this email because you subscribed to {{ workspace.name }}.<br>"
        f'<a href="{{{{ preferences_url }}}}" style="color:{kit.primary_colour}">Manage '
        "preferences</a> · "
        f'<a href="{{{{ unsubscribe_url }}}}" style="color:{kit.primary_colour}">Unsubscribe</a>'
        "</mj-text></mj-column></mj-section>"
    )


def header_mjml(kit, logo_url: str) -> str:
    if logo_url:
        return (
            f'<mj-image src="{_mjml_attribute(logo_url)}" alt="{{{{ workspace.name }}}}" '
            'width="160px" align="center" padding="24px 0 8px" />'
        )
    return (
        f'<mj-text align="center" font-size="22px" font-weight="bold" color="{kit.text_colour}" '
        'padding="24px 0 8px">{{ workspace.name }}</mj-text>'
    )


def starter_mjml(starter: Starter, kit, *, logo_url: str = "", images_url: str = "") -> str:
    """The starter's MJML with the brand kit filled in.

    `images_url`: the absolute URL of the starters' picture folder (static files).
    """
    values = {
        "PRIMARY": kit.primary_colour,
        "TEXT": kit.text_colour,
        "BACKGROUND": kit.background_colour,
        "FONT": _mjml_attribute(kit.font_family),
        "HEADER": header_mjml(kit, logo_url),
        "IMAGES": _mjml_attribute(images_url or f"/static/{IMAGES_PATH}"),
        "FOOTER": footer_mjml(kit),
    }
    source = starter.source()
    for name, value in values.items():
        source = source.replace(f"%%{name}%%", value)
    return source
