"""Operators shared by several condition types, and the `Q`s they compile to."""

from datetime import date, datetime, time, timedelta

from django.db.models import Q
from django.db.models.expressions import Expression
from django.db.models.functions import Lower
from django.db.models.lookups import (
    Contains,
    EndsWith,
    Exact,
    GreaterThan,
    GreaterThanOrEqual,
    IsNull,
    LessThan,
    LessThanOrEqual,
    StartsWith,
)
from django.utils import timezone
from django.utils.translation import gettext_lazy as _

from engagex.segments.registry import Operator
from engagex.segments.registry import ValueKind as V

IS = Operator("is", _("is"), V.TEXT)
IS_NOT = Operator("is_not", _("is not"), V.TEXT)
CONTAINS = Operator("contains", _("contains"), V.TEXT)
STARTS_WITH = Operator("starts_with", _("starts with"), V.TEXT)
ENDS_WITH = Operator("ends_with", _("ends with"), V.TEXT)
IS_EMPTY = Operator("is_empty", _("is empty"))
IS_NOT_EMPTY = Operator("is_not_empty", _("is not empty"))
TEXT_OPERATORS = (IS, IS_NOT, CONTAINS, STARTS_WITH, IS_EMPTY, IS_NOT_EMPTY)

EQ = Operator("eq", _("="), V.NUMBER)
NE = Operator("ne", _("≠"), V.NUMBER)
LT = Operator("lt", _("<"), V.NUMBER)
GT = Operator("gt", _(">"), V.NUMBER)
BETWEEN = Operator("between", _("between"), V.RANGE)
NUMBER_OPERATORS = (EQ, NE, LT, GT, BETWEEN)

BEFORE = Operator("before", _("before"), V.DATE)
AFTER = Operator("after", _("after"), V.DATE)
WITHIN_LAST = Operator("within_last_days", _("within the last … days"), V.DAYS)
MORE_THAN_AGO = Operator("more_than_days_ago", _("more than … days ago"), V.DAYS)
WITHIN_NEXT = Operator("within_next_days", _("within the next … days"), V.DAYS)
ANNIVERSARY = Operator("anniversary_within_days", _("anniversary in the next … days"), V.DAYS)


def blank(expr) -> Q:
    return Q(IsNull(expr, True)) | Q(Exact(expr, ""))


def text_q(expr: Expression | str, op: str, value) -> Q:
    """Case-insensitive text comparisons; "is not" also matches contacts with no value."""
    from django.db.models import F

    column = F(expr) if isinstance(expr, str) else expr
    low = Lower(column)
    if op == "is":
        return Q(Exact(low, value.lower()))
    if op == "is_not":
        return ~Q(Exact(low, value.lower())) | Q(IsNull(column, True))
    if op == "contains":
        return Q(Contains(low, value.lower()))
    if op == "starts_with":
        return Q(StartsWith(low, value.lower()))
    if op == "ends_with":
        return Q(EndsWith(low, value.lower()))
    if op == "is_empty":
        return blank(column)
    if op == "is_not_empty":
        return ~blank(column) & Q(IsNull(column, False))
    raise ValueError(op)


def number_q(expr, op: str, value) -> Q:
    """Comparisons of a number; "≠" also matches contacts with no value."""
    if op == "eq":
        return Q(Exact(expr, value))
    if op == "ne":
        return ~Q(Exact(expr, value)) | Q(IsNull(expr, True))
    if op == "lt":
        return Q(LessThan(expr, value))
    if op == "gt":
        return Q(GreaterThan(expr, value))
    if op == "between":
        return Q(GreaterThanOrEqual(expr, value[0])) & Q(LessThanOrEqual(expr, value[1]))
    raise ValueError(op)


def day_start(day: date) -> datetime:
    """Midnight at the start of `day` in the current (workspace) time zone."""
    return timezone.make_aware(datetime.combine(day, time.min))


def datetime_q(expr, op: str, value, now: datetime) -> Q:
    """Conditions on a timestamp; dates are whole days in the current time zone."""
    if op == "before":
        return Q(LessThan(expr, day_start(value)))
    if op == "after":
        return Q(GreaterThanOrEqual(expr, day_start(value + timedelta(days=1))))
    if op == "within_last_days":
        return Q(GreaterThanOrEqual(expr, now - timedelta(days=value)))
    if op == "more_than_days_ago":
        return Q(LessThan(expr, now - timedelta(days=value)))
    if op == "is_empty":
        return Q(IsNull(expr, True))
    if op == "is_not_empty":
        return Q(IsNull(expr, False))
    raise ValueError(op)
