"""The conditions a segment rule may use, registered by the apps whose data they read.

A condition type names a field ("email_domain", "attribute", "campaign"…), the operators it
offers and, for each operator, the kind of value it takes. Its `compile` turns one checked
condition into a `Q` over contacts: ORM lookups and subqueries only, so every value reaches
PostgreSQL as a parameter and no rule is ever SQL.
"""

from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field as dc_field
from datetime import datetime
from typing import Any

from django.db.models import Exists, OuterRef, Q, QuerySet


class ValueKind:
    """What an operator's `value` must be (checked before compiling)."""

    NONE = "none"  # no value
    TEXT = "text"  # a non-empty string (≤ 255 characters)
    NUMBER = "number"  # a finite number
    RANGE = "range"  # [low, high], two numbers, low ≤ high
    DATE = "date"  # "YYYY-MM-DD"
    DAYS = "days"  # whole number of days, 1..3650
    CHOICE = "choice"  # one of the condition type's choices
    ID = "id"  # a positive whole number naming a row (checked by the type)
    BOOLEAN = "boolean"  # true or false
    OPENS = "opens"  # {"count": K ≥ 1, "days": N}


@dataclass(frozen=True)
class Operator:
    name: str
    label: Any
    value: str = ValueKind.NONE


@dataclass
class Context:
    """What compiling needs beyond the rule: the time it is used at (relative dates are
    evaluated then, not when the rule was saved) and the segments being expanded (cycles)."""

    now: datetime
    stack: tuple[int, ...] = ()
    cache: dict = dc_field(default_factory=dict)


@dataclass(frozen=True)
class Members:
    """A condition as rows of another table: the contacts it matches are those rows'
    `contact_id` (negated: every contact but those). A count of a rule made only of such
    conditions reads those rows and never the million contacts (`rules.rule_members`)."""

    rows: QuerySet
    negated: bool = False
    # At most one row per contact (memberships of one list, recipients of one campaign,
    # the engagement summary); otherwise counting needs DISTINCT.
    distinct: bool = True
    # Every `contact_id` names a contact (a foreign key); events keep the id of a contact
    # since deleted, so a count by them checks that the contact is still there.
    checked: bool = True
    # The list whose changes (contacts.MemberChange) alter these rows: set, a count may use
    # a copy of them kept between counts (segments/members.py).
    changes: int | None = None

    def q(self) -> Q:
        """The same condition as a `Q` over contacts (what a send snapshots)."""
        match = Q(Exists(self.rows.filter(contact_id=OuterRef("pk"))))
        return ~match if self.negated else match


@dataclass(frozen=True)
class ConditionType:
    field: str
    label: Any
    family: str  # fields, attributes, lists, engagement, segments (the builder's groups)
    operators: tuple[Operator, ...]
    compile: Callable[[dict, Context, str], Q]
    # Extra keys a condition of this type may carry, with the value kind of each.
    options: dict[str, str] = dc_field(default_factory=dict)
    choices: Callable[[], list[tuple[str, Any]]] | None = None
    # Operators for one condition when they depend on it (an attribute's type).
    operators_for: Callable[[dict, Context, str], tuple[Operator, ...]] | None = None
    # The condition as `Members`, when it reads another table by contact (None for the
    # conditions, or the operators, that do not): its `compile` must match the same
    # contacts as `members(…).q()` (for a list of them, another segment's, their AND).
    members: Callable[[dict, Context, str], Members | list[Members] | None] | None = None

    def operator(self, name: str, condition: dict, context: Context, path: str):
        operators = (
            self.operators_for(condition, context, path) if self.operators_for else self.operators
        )
        return next((op for op in operators if op.name == name), None), operators


_CONDITIONS: dict[str, ConditionType] = {}


def register_condition(condition: ConditionType) -> None:
    """Offer a condition type to segment rules (apps call this from `AppConfig.ready()`)."""
    _CONDITIONS[condition.field] = condition


def condition_types() -> dict[str, ConditionType]:
    return dict(_CONDITIONS)
