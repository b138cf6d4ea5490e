"""Conditions on list membership and a member's status on the list."""

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy as _

from engagex.contacts.models import ContactGroup, Membership, MembershipStatus
from engagex.segments.registry import ConditionType, Members, Operator, register_condition
from engagex.segments.registry import ValueKind as V

ANY_STATUS = "any"
LIST_GONE = _("The list with id {id} does not exist (any more): choose another list.")


def list_check(list_id: int, ctx, path: str) -> None:
    known = ctx.cache.setdefault("lists", {})
    if list_id not in known:
        known[list_id] = ContactGroup.objects.filter(pk=list_id).exists()
    if not known[list_id]:
        raise ValidationError({f"{path}.value": [LIST_GONE.format(id=list_id)]})


def _members(cond, ctx, path) -> Members:
    list_check(cond["value"], ctx, path)
    members = Membership.objects.filter(group_id=cond["value"])
    status = cond.get("status") or MembershipStatus.SUBSCRIBED
    if status != ANY_STATUS:
        members = members.filter(status=status)
    return Members(members, negated=cond["op"] != "is_member", changes=cond["value"])


def _compile(cond, ctx, path) -> Q:
    return _members(cond, ctx, path).q()


def register() -> None:
    register_condition(
        ConditionType(
            "list",
            _("List"),
            "lists",
            (
                Operator("is_member", _("is on the list"), V.ID),
                Operator("is_not_member", _("is not on the list"), V.ID),
            ),
            _compile,
            members=_members,
            options={"status": V.CHOICE},
            # The status on the list ("subscribed" when left out; "any" status).
            choices=lambda: [*MembershipStatus.choices, (ANY_STATUS, _("Any status"))],
        )
    )
