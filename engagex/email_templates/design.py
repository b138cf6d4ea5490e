"""The drag-and-drop editor's design: JSON the server stores without reading, within limits.

Checked before it is parsed: Python's parser recurses once per nesting level (a deep
enough array is a RecursionError), and PostgreSQL's jsonb refuses NaN and the NUL
character, which would otherwise fail only at the INSERT.
"""

import json
import math

from django.core.exceptions import ValidationError
from django.utils.translation import gettext_lazy

from engagex.core.formats import number

DESIGN_MAX_BYTES = 2 * 1024 * 1024
DESIGN_MAX_DEPTH = 64
DESIGN_TOO_BIG = gettext_lazy(
    "The design is {size} bytes; it may be at most {limit} bytes. Remove unused pages or "
    "images pasted into the design."
)
DESIGN_TOO_DEEP = gettext_lazy("The design is nested more than {limit} levels deep.")
DESIGN_NOT_JSON = gettext_lazy("The design is not valid JSON ({reason}).")
DESIGN_NOT_OBJECT = gettext_lazy("The design must be a JSON object ({{…}}).")
DESIGN_BAD_VALUE = gettext_lazy(
    "The design contains a value that cannot be stored (NaN, Infinity or the NUL character)."
)


def _depth_of_text(text: str) -> int:
    depth = deepest = 0
    in_string = escaped = False
    for char in text:
        if in_string:
            if escaped:
                escaped = False
            elif char == "\\":
                escaped = True
            elif char == '"':
                in_string = False
        elif char == '"':
            in_string = True
        elif char in "[{":
            depth += 1
            if depth > deepest:
                deepest = depth
                if deepest > DESIGN_MAX_DEPTH:
                    return deepest
        elif char in "]}":
            depth -= 1
    return deepest


def _refuse_constant(name):
    raise ValueError(name)


def design_parse(text: str) -> dict:
    """Parse the design's JSON text; raise ValidationError saying what is wrong with it."""
    text = (text or "").strip()
    if not text:
        return {}
    size = len(text.encode())
    if size > DESIGN_MAX_BYTES:
        raise ValidationError(
            DESIGN_TOO_BIG.format(size=number(size), limit=number(DESIGN_MAX_BYTES))
        )
    if _depth_of_text(text) > DESIGN_MAX_DEPTH:
        raise ValidationError(DESIGN_TOO_DEEP.format(limit=DESIGN_MAX_DEPTH))
    try:
        value = json.loads(text, parse_constant=_refuse_constant)
    except ValueError as error:
        if isinstance(error, json.JSONDecodeError):
            raise ValidationError(DESIGN_NOT_JSON.format(reason=str(error))) from error
        raise ValidationError(DESIGN_BAD_VALUE) from error
    design_check(value)
    return value


def design_check(value) -> None:
    """Refuse a design (already parsed) that is not an object or past the limits."""
    if not isinstance(value, dict):
        raise ValidationError(DESIGN_NOT_OBJECT)
    stack: list[tuple[dict | list, int]] = [(value, 1)]
    while stack:
        item, depth = stack.pop()
        if depth > DESIGN_MAX_DEPTH:
            raise ValidationError(DESIGN_TOO_DEEP.format(limit=DESIGN_MAX_DEPTH))
        children = item.values() if isinstance(item, dict) else item
        for key in item if isinstance(item, dict) else ():
            if "\x00" in key:
                raise ValidationError(DESIGN_BAD_VALUE)
        for child in children:
            if isinstance(child, dict | list):
                stack.append((child, depth + 1))
            elif isinstance(child, str) and "\x00" in child:
                raise ValidationError(DESIGN_BAD_VALUE)
            elif isinstance(child, float) and not math.isfinite(child):
                raise ValidationError(DESIGN_BAD_VALUE)
    size = len(json.dumps(value, separators=(",", ":")).encode())
    if size > DESIGN_MAX_BYTES:
        raise ValidationError(
            DESIGN_TOO_BIG.format(size=number(size), limit=number(DESIGN_MAX_BYTES))
        )
