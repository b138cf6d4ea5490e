"""Conditions on the contact's own fields (contacts owns them; segments reads them)."""

from django.db.models import CharField, F, Func, Q, Value
from django.db.models.functions import Lower
from django.db.models.lookups import Exact
from django.utils.translation import gettext_lazy as _

from engagex.contacts.models import ContactStatus
from engagex.segments.conditions import common as c
from engagex.segments.registry import ConditionType, Operator, register_condition
from engagex.segments.registry import ValueKind as V


def email_domain():
    """The expression `contact_domain_reach_idx` indexes (keep the two the same)."""
    return Func(
        Lower("email"), Value("@"), Value(2), function="split_part", output_field=CharField()
    )


def _text(column: str):
    return lambda cond, ctx, path: c.text_q(column, cond["op"], cond["value"])


def _domain(cond, ctx, path) -> Q:
    value = cond["value"].lower().lstrip("@")
    match = Q(Exact(email_domain(), value))
    return match if cond["op"] == "is" else ~match


def _status(cond, ctx, path) -> Q:
    match = Q(status=cond["value"])
    return match if cond["op"] == "is" else ~match


def _when(column: str):
    return lambda cond, ctx, path: c.datetime_q(F(column), cond["op"], cond["value"], ctx.now)


def _number(column: str):
    return lambda cond, ctx, path: c.number_q(F(column), cond["op"], cond["value"])


DATE_OPERATORS = (c.BEFORE, c.AFTER, c.WITHIN_LAST, c.MORE_THAN_AGO)


def register() -> None:
    fields = "fields"
    for name, label, operators in [
        ("email", _("Email address"), (c.IS, c.IS_NOT, c.CONTAINS, c.STARTS_WITH, c.ENDS_WITH)),
        ("first_name", _("First name"), c.TEXT_OPERATORS),
        ("last_name", _("Last name"), c.TEXT_OPERATORS),
        ("language", _("Language"), (c.IS, c.IS_NOT, c.IS_EMPTY, c.IS_NOT_EMPTY)),
        ("timezone", _("Time zone"), (c.IS, c.IS_NOT, c.IS_EMPTY, c.IS_NOT_EMPTY)),
    ]:
        register_condition(ConditionType(name, label, fields, operators, _text(name)))
    register_condition(
        ConditionType("email_domain", _("Email domain"), fields, (c.IS, c.IS_NOT), _domain)
    )
    register_condition(
        ConditionType(
            "status",
            _("Status"),
            fields,
            (Operator("is", _("is"), V.CHOICE), Operator("is_not", _("is not"), V.CHOICE)),
            _status,
            choices=lambda: list(ContactStatus.choices),
        )
    )
    register_condition(
        ConditionType("created_at", _("Created"), fields, DATE_OPERATORS, _when("created_at"))
    )
    register_condition(
        ConditionType(
            "consent_at",
            _("Consent given"),
            fields,
            (*DATE_OPERATORS, c.IS_EMPTY, c.IS_NOT_EMPTY),
            _when("consent_at"),
        )
    )
    register_condition(
        ConditionType(
            "soft_bounces",
            _("Soft bounces"),
            fields,
            c.NUMBER_OPERATORS,
            _number("soft_bounces"),
        )
    )
