"""Compile MJML to email HTML: MRML (Rust) for the layout, css-inline for the styles.

MRML reports a broken document with little more than "unexpected end of stream", so the
source is first read here for what a person can fix: an element MJML does not have, one
left open or closed in the wrong place, each with its line. Nothing is fetched while
compiling: `<mj-include>` is refused, web fonts are dropped (`fonts={}`), and css-inline
loads no remote stylesheet and drops `<link>` tags, so the email needs no external CSS.
"""

import re

import css_inline
import mrml
from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy

from engagex.core.formats import number
from engagex.email_templates.sandbox import SOURCE_MAX, SOURCE_TOO_LONG

MJML_EMPTY = gettext_lazy("Write the MJML source (it starts with <mjml>) before saving.")
MJML_ROOT = gettext_lazy("Line {line}: MJML starts with <mjml>; this starts with <{element}>.")
MJML_UNKNOWN_ELEMENT = gettext_lazy("Line {line}: <{element}> is not an MJML element.")
MJML_NOT_CLOSED = gettext_lazy("Line {line}: <{element}> is not closed.")
MJML_WRONG_CLOSE = gettext_lazy(
    "Line {line}: </{element}> comes before <{open}> (opened on line {opened}) is closed."
)
MJML_STRAY_CLOSE = gettext_lazy("Line {line}: </{element}> closes nothing.")
MJML_INCLUDE = gettext_lazy(
    "Line {line}: <mj-include> is not available; paste the included MJML in its place."
)
MJML_INVALID = gettext_lazy("Line {line}: the MJML cannot be compiled ({reason}).")

ELEMENTS = frozenset(
    """mjml mj-head mj-body mj-attributes mj-all mj-class mj-breakpoint mj-font
    mj-html-attributes mj-html-attribute mj-selector mj-preview mj-style mj-title mj-accordion
    mj-accordion-element mj-accordion-title mj-accordion-text mj-button mj-carousel
    mj-carousel-image mj-column mj-divider mj-group mj-hero mj-image mj-navbar mj-navbar-link
    mj-raw mj-section mj-social mj-social-element mj-spacer mj-table mj-text mj-wrapper
    mj-include""".split()
)
# Elements whose content is HTML (or CSS, or text), not MJML: read up to their closing tag.
ENDING = frozenset(
    """mj-text mj-button mj-raw mj-table mj-navbar-link mj-accordion-title mj-accordion-text
    mj-social-element mj-style mj-title mj-preview mj-html-attribute""".split()
)
# A tag, its attributes up to the next `<` at most: each match attempt stops there, so reading
# is linear in the source (an attribute part that could run on to the end made it quadratic).
_TAG = re.compile(r"<!--.*?-->|<(/?)([A-Za-z][\w:.-]*)((?:\"[^\"<]*\"|'[^'<]*'|[^'\"<>])*)>", re.S)
_POSITION = re.compile(r"at position (\d+)")
_IMPORT = re.compile(r"@import\s+[^;]+;", re.I)
_HEAD_END = re.compile(r"</mj-head\s*>", re.I)
_BETWEEN_TAGS = re.compile(r">\s+<")

_RENDER = mrml.RenderOptions(disable_comments=True, fonts={})
_PARSER = mrml.ParserOptions(include_loader=mrml.noop_loader())
_INLINER = css_inline.CSSInliner(
    keep_style_tags=False,
    keep_link_tags=False,
    keep_at_rules=True,  # media queries: the responsive columns
    load_remote_stylesheets=False,
)


def _line(source: str, offset: int) -> int:
    return source.count("\n", 0, offset) + 1


class _Lines:
    """Line numbers of increasing offsets, counting each newline once."""

    def __init__(self, source: str):
        self.source, self.offset, self.line = source, 0, 1

    def at(self, offset: int) -> int:
        self.line += self.source.count("\n", self.offset, offset)
        self.offset = offset
        return self.line


def mjml_check(source: str) -> None:
    """Raise ValidationError naming the first element (and its line) that MJML refuses."""
    stack: list[tuple[str, int]] = []
    lines = _Lines(source)
    position = 0
    first = True
    while True:
        match = _TAG.search(source, position)
        if match is None:
            break
        position = match.end()
        closing, name, rest = match.group(1), match.group(2), match.group(3) or ""
        if name is None:  # a comment
            continue
        name = name.lower()
        line = lines.at(match.start())
        if first and not closing and name != "mjml":
            raise ValidationError(MJML_ROOT.format(line=line, element=name))
        first = False
        if name not in ELEMENTS:
            if name.startswith("mj-") or name == "mjml":
                raise ValidationError(MJML_UNKNOWN_ELEMENT.format(line=line, element=name))
            if not stack:
                raise ValidationError(MJML_ROOT.format(line=line, element=name))
            continue  # HTML inside MJML elements that take it: MRML's business
        if name == "mj-include":
            raise ValidationError(MJML_INCLUDE.format(line=line))
        if closing:
            if not stack:
                raise ValidationError(MJML_STRAY_CLOSE.format(line=line, element=name))
            if stack[-1][0] != name:
                raise ValidationError(
                    MJML_WRONG_CLOSE.format(
                        line=line, element=name, open=stack[-1][0], opened=stack[-1][1]
                    )
                )
            stack.pop()
            continue
        if rest.rstrip().endswith("/"):
            continue
        if name in ENDING:
            end = re.compile(rf"</{re.escape(name)}\s*>", re.I).search(source, position)
            if end is None:
                raise ValidationError(MJML_NOT_CLOSED.format(line=line, element=name))
            position = end.end()
            continue
        stack.append((name, line))
    if stack:
        name, line = stack[-1]
        raise ValidationError(MJML_NOT_CLOSED.format(line=line, element=name))


def _head_spacing(source: str) -> str:
    """Whitespace between the head's tags as one line feed.

    MRML 0.2.4 parses the head only when the text between its elements starts a new line:
    `<mj-head> <mj-title>` or a tab there is "unexpected token". Between tags in the head
    (up to `</mj-head>`) whitespace means nothing, so nothing changes but the spacing.
    """
    end = _HEAD_END.search(source)
    if end is None:
        return source
    return _BETWEEN_TAGS.sub(">\n<", source[: end.end()]) + source[end.end() :]


def mjml_to_html(source: str) -> str:
    """Compile MJML to HTML with inlined styles; raise ValidationError saying where it fails."""
    # Browsers post a textarea's lines ending in CRLF, and MRML 0.2.4 refuses a CR inside
    # <mj-head> ("unexpected token"): compile with plain line feeds.
    source = (source or "").replace("\r\n", "\n").replace("\r", "\n")
    if not source.strip():
        raise ValidationError(MJML_EMPTY)
    if len(source) > SOURCE_MAX:  # the sandbox's cap on any template field
        raise ValidationError(
            SOURCE_TOO_LONG.format(limit=number(SOURCE_MAX), size=number(len(source)))
        )
    mjml_check(source)
    try:
        output = mrml.to_html(_head_spacing(source), parser_options=_PARSER, render_options=_RENDER)
    except OSError as error:
        reason = str(error)
        found = _POSITION.search(reason)
        line = _line(source, int(found.group(1))) if found else 1
        raise ValidationError(MJML_INVALID.format(line=line, reason=reason)) from error
    return _IMPORT.sub("", _INLINER.inline(output.content))
