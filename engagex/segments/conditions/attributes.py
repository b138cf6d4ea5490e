"""Conditions on typed custom attributes; the operators follow the attribute's type."""

from datetime import timedelta

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.db.models.lookups import (
    Exact,
    GreaterThanOrEqual,
    In,
    IsNull,
    LessThan,
    LessThanOrEqual,
)
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from engagex.contacts.models import AttributeType
from engagex.contacts.services.attributes import (
    TEXT_KEY_CHARS,
    attribute_boolean_text,
    attribute_date_text,
    attribute_month_day,
    attribute_number,
    attribute_text,
    attribute_text_key,
    attribute_types,
)
from engagex.segments.conditions import common as c
from engagex.segments.registry import ConditionType, Context, Operator, register_condition
from engagex.segments.registry import ValueKind as V

T = AttributeType
UNKNOWN_ATTRIBUTE = _(
    "There is no custom attribute “{name}”: give it a type under Audience → Custom attributes "
    "(or run “Infer types”) first."
)
NEED_NAME = _("Name the custom attribute.")

OPERATORS = {
    T.TEXT: c.TEXT_OPERATORS,
    T.NUMBER: (*c.NUMBER_OPERATORS, c.IS_EMPTY, c.IS_NOT_EMPTY),
    T.DATE: (
        c.BEFORE,
        c.AFTER,
        c.WITHIN_LAST,
        c.WITHIN_NEXT,
        c.ANNIVERSARY,
        c.IS_EMPTY,
        c.IS_NOT_EMPTY,
    ),
    T.BOOLEAN: (Operator("is", _("is"), V.BOOLEAN), c.IS_EMPTY, c.IS_NOT_EMPTY),
}


def _type(cond: dict, ctx: Context, path: str) -> str:
    types = ctx.cache.get("attribute_types")
    if types is None:
        types = ctx.cache["attribute_types"] = attribute_types()
    name = cond.get("name")
    if not isinstance(name, str) or not name:
        raise ValidationError({f"{path}.name": [NEED_NAME]})
    if name not in types:
        raise ValidationError({f"{path}.name": [UNKNOWN_ATTRIBUTE.format(name=name)]})
    return types[name]


def _operators(cond, ctx, path):
    return OPERATORS[T(_type(cond, ctx, path))]


def _present(name: str) -> Q:
    """Has a value: not absent, not JSON null, not "" (never NULL itself, so ~ is safe)."""
    text = attribute_text(name)
    return Q(attributes__has_key=name) & Q(IsNull(text, False)) & ~Q(Exact(text, ""))


def _compile(cond: dict, ctx: Context, path: str) -> Q:
    name, op, value = cond["name"], cond["op"], cond["value"]
    kind = _type(cond, ctx, path)
    if op == "is_empty":
        return ~_present(name)
    if op == "is_not_empty":
        return _present(name)
    if kind == T.TEXT:
        if op in ("is", "is_not"):
            # The attribute's index holds the text's start (and the status: counts read no
            # rows); a value that long must match in full too. A number or yes/no stored
            # before the type existed matches as the text it reads as.
            same = Q(Exact(attribute_text_key(name), value[:TEXT_KEY_CHARS]))
            if len(value) >= TEXT_KEY_CHARS:
                same &= Q(Exact(attribute_text(name), value))
            # "is not" takes in contacts without the attribute (never NULL, so ~ is exact).
            return same if op == "is" else ~(same & Q(IsNull(attribute_text(name), False)))
        return c.text_q(attribute_text(name), op, value)
    if kind == T.NUMBER:
        return c.number_q(attribute_number(name), op, value)
    if kind == T.BOOLEAN:
        return Q(Exact(attribute_boolean_text(name), "true" if value else "false"))
    # Dates: compared as 'YYYY-MM-DD' text, relative to today where the workspace is.
    as_text = attribute_date_text(name)
    today = timezone.localdate(ctx.now)
    if op == "before":
        return Q(LessThan(as_text, value.isoformat()))
    if op == "after":
        return Q(GreaterThanOrEqual(as_text, (value + timedelta(days=1)).isoformat()))
    if op == "within_last_days":
        start = (today - timedelta(days=value)).isoformat()
        return Q(GreaterThanOrEqual(as_text, start)) & Q(
            LessThanOrEqual(as_text, today.isoformat())
        )
    if op == "within_next_days":
        end = (today + timedelta(days=value)).isoformat()
        return Q(GreaterThanOrEqual(as_text, today.isoformat())) & Q(LessThanOrEqual(as_text, end))
    if op == "anniversary_within_days":
        days = {(today + timedelta(days=n)).strftime("%m-%d") for n in range(min(value, 366) + 1)}
        if "02-28" in days and "03-01" in days:
            days.add("02-29")  # a leap-day birthday is celebrated in non-leap years too
        return Q(In(attribute_month_day(name), sorted(days)))
    raise ValueError(op)


def register() -> None:
    register_condition(
        ConditionType(
            "attribute",
            _("Custom attribute"),
            "attributes",
            (),
            _compile,
            options={"name": V.TEXT},
            operators_for=_operators,
        )
    )
