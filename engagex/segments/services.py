"""Saving segments (the rule is checked by compiling it) and attaching them to campaigns."""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy

from engagex.campaigns.models import Campaign
from engagex.segments.models import CampaignSegment, Segment
from engagex.segments.selectors import rule_q

ONLY_DRAFTS = gettext_lazy("Only a draft campaign's segments can be changed.")
SEGMENTS_OVERLAP = gettext_lazy("A segment cannot be both sent to and excluded: {names}.")
IN_USE_BY_SEGMENTS = gettext_lazy(
    "This segment is used by the segment(s) {names}: remove it from their rules first."
)
IN_USE_BY_CAMPAIGNS = gettext_lazy(
    "This segment is the audience of the campaign(s) {names}, not sent yet: remove it from "
    "them first."
)


def rule_errors(error: ValidationError) -> list[str]:
    """A rule's refusal as "path: message" lines (the form shows them under the rule)."""
    if hasattr(error, "error_dict"):
        return [f"{path}: {m}" for path, messages in error.message_dict.items() for m in messages]
    return list(error.messages)


def segment_rule_check(*, rule, segment: Segment | None = None) -> None:
    """Refuse a rule that does not compile, on the form's `rule` field."""
    try:
        rule_q(rule, segment=segment)
    except ValidationError as error:
        raise ValidationError({"rule": rule_errors(error)}) from error


@transaction.atomic
def segment_create(*, name: str, rule, description: str = "", user=None) -> Segment:
    segment = Segment(name=name, rule=rule, description=description, created_by=user)
    segment.full_clean()
    segment_rule_check(rule=rule)
    segment.save()
    return segment


@transaction.atomic
def segment_update(*, segment: Segment, **fields) -> Segment:
    """Change a segment; a rule that would include the segment itself is refused."""
    for name, value in fields.items():
        setattr(segment, name, value)
    segment.full_clean()
    segment_rule_check(rule=segment.rule, segment=segment)
    segment.save()
    return segment


def segments_using(segment: Segment) -> list[Segment]:
    """Segments whose rule names `segment` (at any depth)."""

    def names(node) -> bool:
        if isinstance(node, dict):
            if node.get("field") == "segment" and node.get("value") == segment.pk:
                return True
            return any(names(child) for child in node.get("conditions", []) or [])
        return False

    return [other for other in Segment.objects.exclude(pk=segment.pk) if names(other.rule)]


@transaction.atomic
def segment_delete(*, segment: Segment) -> None:
    users = segments_using(segment)
    if users:
        names = ", ".join(f"“{s.name}”" for s in users)
        raise ValidationError(IN_USE_BY_SEGMENTS.format(names=names))
    uses = CampaignSegment.objects.filter(segment=segment)
    # A campaign that has started snapshotted its audience: only drafts and scheduled ones
    # still need the segment.
    waiting = Campaign.objects.filter(
        pk__in=uses.values("campaign_id"),
        status__in=[Campaign.Status.DRAFT, Campaign.Status.SCHEDULED],
    )
    if waiting.exists():
        names = ", ".join(f"“{c.name}”" for c in waiting[:5])
        raise ValidationError(IN_USE_BY_CAMPAIGNS.format(names=names))
    uses.delete()
    segment.delete()


@transaction.atomic
def campaign_segments_set(
    *, campaign: Campaign, include: Iterable[Segment] = (), exclude: Iterable[Segment] = ()
) -> None:
    """Send a draft campaign to these segments (beside its lists) and leave these out."""
    include, exclude = list(include), list(exclude)
    if campaign.status != Campaign.Status.DRAFT:
        raise ValidationError(ONLY_DRAFTS)
    both = {s.pk for s in include} & {s.pk for s in exclude}
    if both:
        names = ", ".join(sorted(s.name for s in include if s.pk in both))
        raise ValidationError({"exclude_segments": [SEGMENTS_OVERLAP.format(names=names)]})
    CampaignSegment.objects.filter(campaign=campaign).delete()
    CampaignSegment.objects.bulk_create(
        [CampaignSegment(campaign=campaign, segment=s) for s in include]
        + [CampaignSegment(campaign=campaign, segment=s, exclude=True) for s in exclude]
    )
