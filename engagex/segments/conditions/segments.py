"""Membership of another segment (expanded inline; a cycle is refused)."""

from dataclasses import replace

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from engagex.segments.registry import ConditionType, Members, Operator, register_condition
from engagex.segments.registry import ValueKind as V

SEGMENT_GONE = _("The segment with id {id} does not exist (any more): choose another one.")
SEGMENT_CYCLE = _(
    "The segment “{name}” includes this segment (directly or through another): a segment "
    "cannot include itself."
)
SEGMENT_BROKEN = _("The segment “{name}” cannot be used: {reason}")


class RuleCycle(ValidationError):
    """A segment reached again while expanding itself."""


def _compile(cond, ctx, path) -> Q:
    from engagex.segments.models import Segment
    from engagex.segments.rules import rule_compile

    segment_id = cond["value"]
    segment = Segment.objects.filter(pk=segment_id).first()
    key = f"{path}.value"
    if segment is None:
        raise ValidationError({key: [SEGMENT_GONE.format(id=segment_id)]})
    if segment_id in ctx.stack:
        raise RuleCycle({key: [SEGMENT_CYCLE.format(name=segment.name)]})
    ctx.stack = (*ctx.stack, segment_id)
    try:
        match = rule_compile(segment.rule, context=ctx)
    except RuleCycle as error:
        raise RuleCycle({key: [SEGMENT_CYCLE.format(name=segment.name)]}) from error
    except ValidationError as error:
        reason = " ".join(error.messages)
        raise ValidationError(
            {key: [SEGMENT_BROKEN.format(name=segment.name, reason=reason)]}
        ) from error
    finally:
        ctx.stack = ctx.stack[:-1]
    if cond["op"] == "is_member":
        return match
    # NOT IN over primary keys: a contact the rule leaves undecided (NULL) is not in it.
    from engagex.contacts.models import Contact

    return ~Q(pk__in=Contact.objects.filter(match).values("pk"))


def _members(cond, ctx, path) -> list[Members] | None:
    """The other segment's rule as rows, when it is made of them (`rules.rule_parts`): "in"
    it is all its parts, "not in" it only a single part, negated. Called after `_compile`
    accepted the condition (the segment exists and does not include itself)."""
    from engagex.segments.models import Segment
    from engagex.segments.rules import rule_parts

    segment = Segment.objects.filter(pk=cond["value"]).first()
    if segment is None:
        return None
    ctx.stack = (*ctx.stack, segment.pk)
    try:
        parts = rule_parts(segment.rule, context=ctx)
    finally:
        ctx.stack = ctx.stack[:-1]
    if parts is None or cond["op"] == "is_member":
        return parts
    if len(parts) != 1:
        return None  # not (A and B) is A's or B's contrary: the contacts query
    return [replace(parts[0], negated=not parts[0].negated)]


def register() -> None:
    register_condition(
        ConditionType(
            "segment",
            _("Segment"),
            "segments",
            (
                Operator("is_member", _("is in the segment"), V.ID),
                Operator("is_not_member", _("is not in the segment"), V.ID),
            ),
            _compile,
            members=_members,
        )
    )
