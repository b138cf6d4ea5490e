"""Segment rules: a versioned JSON schema, checked and compiled to a `Q` in one pass.

Version 1::

    {"version": 1, "match": "all" | "any",
     "conditions": [
        {"field": "email_domain", "op": "is", "value": "example.com"},
        {"field": "attribute", "name": "plan", "op": "is", "value": "pro"},
        {"match": "any", "conditions": [ ...conditions or groups... ]}
     ]}

Groups nest up to `MAX_DEPTH` levels. Every refusal names the condition by its path
("conditions[1].conditions[0].value"), so a builder can put the message beside it.
Compiling at use time is what keeps relative dates ("in the last 30 days") relative.
"""

import math
import re
from datetime import date

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils import timezone
from django.utils.translation import gettext_lazy

from engagex.core.formats import number
from engagex.segments.registry import (
    ConditionType,
    Context,
    Members,
    ValueKind,
    condition_types,
)

RULE_VERSION = 1
MAX_DEPTH = 4
MAX_CONDITIONS = 100
MAX_TEXT = 255
MAX_DAYS = 3650

NOT_AN_OBJECT = gettext_lazy("A rule must be a JSON object with “match” and “conditions”.")
BAD_VERSION = gettext_lazy("This rule is of version {version}; version {expected} is understood.")
BAD_MATCH = gettext_lazy("Choose how conditions join: “all” (AND) or “any” (OR).")
NOT_A_LIST = gettext_lazy("Conditions must be a list.")
EMPTY_GROUP = gettext_lazy("This group has no conditions: add one or remove the group.")
TOO_DEEP = gettext_lazy("Groups nest at most {depth} levels deep.")
TOO_MANY = gettext_lazy("A rule holds at most {count} conditions.")
UNKNOWN_KEY = gettext_lazy("Unknown key “{key}”.")
UNKNOWN_FIELD = gettext_lazy("Unknown field “{field}”.")
UNKNOWN_OPERATOR = gettext_lazy("“{op}” is not an operator of {field}; choose one of: {choices}.")
NEED_NO_VALUE = gettext_lazy("This operator takes no value.")
NEED_TEXT = gettext_lazy("Enter a text of at most {max} characters.")
NEED_NUMBER = gettext_lazy("Enter a number.")
NEED_RANGE = gettext_lazy("Enter two numbers, the lower one first, like [10, 20].")
NEED_DATE = gettext_lazy("Enter a date as YYYY-MM-DD.")
NEED_DAYS = gettext_lazy("Enter a whole number of days from 1 to {max}.")
NEED_CHOICE = gettext_lazy("Choose one of: {choices}.")
NEED_ID = gettext_lazy("Choose one by its id (a whole number).")
NEED_BOOLEAN = gettext_lazy("Enter true or false.")
NEED_OPENS = gettext_lazy(
    'Enter how many opens and over how many days, like {"count": 3, "days": 30}.'
)

_ALLOWED_CONDITION_KEYS = {"field", "op", "value"}
_ALLOWED_GROUP_KEYS = {"match", "conditions", "version"}


def _fail(path: str, message) -> ValidationError:
    return ValidationError({path or "rule": [message]})


def rule_compile(rule, *, context: Context | None = None) -> Q:
    """Check a rule and return the `Q` of the contacts it matches.

    Raises ValidationError keyed by the path of the first bad part.
    """
    context = context or Context(now=timezone.now())
    if not isinstance(rule, dict):
        raise _fail("", NOT_AN_OBJECT)
    version = rule.get("version", RULE_VERSION)
    if version != RULE_VERSION:
        raise _fail("version", BAD_VERSION.format(version=version, expected=RULE_VERSION))
    counter = [0]
    return _group(rule, context, "", depth=1, counter=counter, top=True)


def rule_check(rule, *, context: Context | None = None) -> None:
    """Refuse a rule that would not compile (same messages as compiling)."""
    rule_compile(rule, context=context)


def _join(path: str, key: str) -> str:
    return f"{path}.{key}" if path else key


def _group(group: dict, context: Context, path: str, *, depth: int, counter, top=False) -> Q:
    if depth > MAX_DEPTH:
        raise _fail(path, TOO_DEEP.format(depth=MAX_DEPTH))
    for key in group:
        if key not in _ALLOWED_GROUP_KEYS or (key == "version" and not top):
            raise _fail(_join(path, str(key)), UNKNOWN_KEY.format(key=key))
    match = group.get("match", "all")
    if match not in {"all", "any"}:
        raise _fail(_join(path, "match"), BAD_MATCH)
    items = group.get("conditions", [])
    if not isinstance(items, list):
        raise _fail(_join(path, "conditions"), NOT_A_LIST)
    if not items and not top:
        raise _fail(_join(path, "conditions"), EMPTY_GROUP)
    parts = []
    for index, item in enumerate(items):
        item_path = _join(path, f"conditions[{index}]")
        counter[0] += 1
        if counter[0] > MAX_CONDITIONS:
            raise _fail(item_path, TOO_MANY.format(count=number(MAX_CONDITIONS)))
        if not isinstance(item, dict):
            raise _fail(item_path, NOT_AN_OBJECT)
        if "conditions" in item or "match" in item:
            parts.append(_group(item, context, item_path, depth=depth + 1, counter=counter))
        else:
            parts.append(_condition(item, context, item_path))
    if not parts:
        return Q()  # the empty rule: everyone
    joined = parts[0]
    for part in parts[1:]:
        joined = joined & part if match == "all" else joined | part
    return joined


def _condition(condition: dict, context: Context, path: str) -> Q:
    kind, cleaned = _cleaned(condition, context, path)
    return kind.compile(cleaned, context, path)


def _cleaned(condition: dict, context: Context, path: str) -> tuple[ConditionType, dict]:
    """The condition's type and the condition with its values in the form compiling uses."""
    types = condition_types()
    field = condition.get("field")
    kind: ConditionType | None = types.get(field) if isinstance(field, str) else None
    if kind is None:
        raise _fail(_join(path, "field"), UNKNOWN_FIELD.format(field=field))
    for key in condition:
        if key not in _ALLOWED_CONDITION_KEYS and key not in kind.options:
            raise _fail(_join(path, str(key)), UNKNOWN_KEY.format(key=key))
    operator, operators = kind.operator(str(condition.get("op")), condition, context, path)
    if operator is None:
        choices = ", ".join(op.name for op in operators)
        raise _fail(
            _join(path, "op"),
            UNKNOWN_OPERATOR.format(op=condition.get("op"), field=kind.label, choices=choices),
        )
    cleaned = dict(condition)
    cleaned["value"] = value_clean(
        operator.value, condition.get("value"), _join(path, "value"), kind=kind
    )
    for key, value_kind in kind.options.items():
        if key in condition and condition[key] is not None:
            cleaned[key] = value_clean(value_kind, condition[key], _join(path, key), kind=kind)
    return kind, cleaned


def rule_members(rule, *, context: Context) -> list[Members] | None:
    """The rule as rows of other tables, when it joins with AND only conditions that have
    them (lists, campaigns, engagement, other segments made of those) and at least one is
    not negated; None otherwise.

    The contacts it matches are the first positive part's `contact_id`s that the other
    positive parts hold and the negated ones do not: a count reads those rows, never the
    whole contacts table. Call it on a rule `rule_compile` accepted.
    """
    parts = rule_parts(rule, context=context)
    if parts is None or all(part.negated for part in parts):
        return None
    return parts


def rule_parts(rule, *, context: Context) -> list[Members] | None:
    """`rule_members` without its last check: the parts may all be negated."""
    parts: list[Members] = []
    return parts if _members_of(rule, context, "", parts) else None


def _members_of(group: dict, context: Context, path: str, parts: list[Members]) -> bool:
    items = group.get("conditions") or []
    if group.get("match", "all") != "all" and len(items) > 1:
        return False
    for index, item in enumerate(items):
        item_path = _join(path, f"conditions[{index}]")
        if "conditions" in item or "match" in item:
            if not _members_of(item, context, item_path, parts):
                return False
            continue
        kind, cleaned = _cleaned(item, context, item_path)
        members = kind.members(cleaned, context, item_path) if kind.members else None
        if members is None:
            return False
        parts.extend(members if isinstance(members, list) else [members])
    return True


def value_clean(value_kind: str, value, path: str, *, kind: ConditionType | None = None):
    """Check one value against its kind; return it in the form compiling uses."""
    is_number = isinstance(value, int | float) and not isinstance(value, bool)
    if value_kind == ValueKind.NONE:
        if value not in (None, "", True):
            raise _fail(path, NEED_NO_VALUE)
        return None
    if value_kind == ValueKind.TEXT:
        if not isinstance(value, str) or not value.strip() or len(value) > MAX_TEXT:
            raise _fail(path, NEED_TEXT.format(max=MAX_TEXT))
        return value.strip()
    if value_kind == ValueKind.NUMBER:
        if not is_number or not math.isfinite(value):
            raise _fail(path, NEED_NUMBER)
        return value
    if value_kind == ValueKind.RANGE:
        if (
            not isinstance(value, list)
            or len(value) != 2
            or not all(
                isinstance(v, int | float) and not isinstance(v, bool) and math.isfinite(v)
                for v in value
            )
            or value[0] > value[1]
        ):
            raise _fail(path, NEED_RANGE)
        return value
    if value_kind == ValueKind.DATE:
        if not isinstance(value, str) or not re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
            raise _fail(path, NEED_DATE)
        try:
            return date.fromisoformat(value)
        except ValueError:
            raise _fail(path, NEED_DATE) from None
    if value_kind == ValueKind.DAYS:
        if not isinstance(value, int) or isinstance(value, bool) or not 1 <= value <= MAX_DAYS:
            raise _fail(path, NEED_DAYS.format(max=number(MAX_DAYS)))
        return value
    if value_kind == ValueKind.CHOICE:
        choices = [key for key, _label in (kind.choices() if kind and kind.choices else [])]
        if value not in choices:
            raise _fail(path, NEED_CHOICE.format(choices=", ".join(choices)))
        return value
    if value_kind == ValueKind.ID:
        if not isinstance(value, int) or isinstance(value, bool) or value < 1:
            raise _fail(path, NEED_ID)
        return value
    if value_kind == ValueKind.BOOLEAN:
        if not isinstance(value, bool):
            raise _fail(path, NEED_BOOLEAN)
        return value
    if value_kind == ValueKind.OPENS:
        if (
            not isinstance(value, dict)
            or set(value) != {"count", "days"}
            or not all(isinstance(v, int) and not isinstance(v, bool) for v in value.values())
            or not 1 <= value["count"] <= 1000
            or not 1 <= value["days"] <= MAX_DAYS
        ):
            raise _fail(path, NEED_OPENS)
        return value
    raise ValueError(f"unknown value kind {value_kind!r}")  # a registration bug, not input
