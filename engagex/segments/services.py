"""Saving segments (the rule is checked by compiling it) and attaching them to campaigns."""

from collections.abc import Iterable

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils.translation import gettext_lazy

from engagex.campaigns.models import Campaign
from engagex.segments.models import CampaignSegment, Segment
from engagex.segments.selectors import campaign_segments, rule_q

ONLY_DRAFTS = gettext_lazy("Only a draft campaign's segments can be changed.")
SEGMENTS_OVERLAP = gettext_lazy("A segment cannot be both sent to and excluded: {names}.")
UNKNOWN_SEGMENTS = gettext_lazy(
    "This workspace has no segment with the id(s) {ids}: deleted, or another workspace's."
)
NOT_SEGMENT_IDS = gettext_lazy("Give the segments as a list of their ids.")
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


SEGMENT_FIELDS = ("include_segments", "exclude_segments")


def _segment_ids(values) -> list[int] | None:
    """The ids in `values` (segments or their ids), once each; None if it holds anything else."""
    if isinstance(values, str | bytes | dict) or not isinstance(values, Iterable):
        return None
    ids: list[int] = []
    for value in values:
        if isinstance(value, Segment):
            value = value.pk
        if not isinstance(value, int) or isinstance(value, bool):
            return None
        ids.append(value)
    return list(dict.fromkeys(ids))


def _segments_given(given: dict, errors: dict[str, list]) -> dict[str, list[Segment]]:
    """The segments each given field names; a field naming ids this workspace has no segment
    of (deleted, or another workspace's: each workspace numbers its own) gets an error."""
    chosen = {}
    for field in SEGMENT_FIELDS:
        if field not in given:
            continue
        ids = _segment_ids(given[field])
        if ids is None:
            errors[field] = [NOT_SEGMENT_IDS]
            continue
        found = Segment.objects.in_bulk(ids)
        missing = [str(pk) for pk in ids if pk not in found]
        if missing:
            errors[field] = [UNKNOWN_SEGMENTS.format(ids=", ".join(missing))]
            continue
        chosen[field] = [found[pk] for pk in ids]
    return chosen


def campaign_segments_check(*, campaign: Campaign, given: dict) -> dict[str, list]:
    """What is wrong with the segments a draft is given ({field: [messages]}): the campaign
    services ask this (the segments' audience source) with the rest of the draft. A field
    not given is as stored, so excluding alone is checked against what it sends to."""
    errors: dict[str, list] = {}
    chosen = _segments_given(given, errors)
    if errors:
        return errors
    for field in SEGMENT_FIELDS:
        if field not in chosen:
            flag = field == "exclude_segments"
            chosen[field] = campaign_segments(campaign.pk, exclude=flag) if campaign.pk else []
    sent_to, left_out = chosen["include_segments"], chosen["exclude_segments"]
    both = {s.pk for s in sent_to} & {s.pk for s in left_out}
    if both:
        names = ", ".join(sorted(s.name for s in sent_to if s.pk in both))
        errors["exclude_segments"] = [SEGMENTS_OVERLAP.format(names=names)]
    return errors


def campaign_segments_store(*, campaign: Campaign, given: dict) -> None:
    """Store the given segment fields of a saved draft (checked by `campaign_segments_check`)."""
    errors: dict[str, list] = {}
    chosen = _segments_given(given, errors)
    if errors:  # only when called without the check: refuse rather than store half
        raise ValidationError(errors)
    flags = [field == "exclude_segments" for field in chosen]
    # Both flags' rows go first: a segment moving from sent-to to excluded in one change
    # would otherwise meet its old row in the (campaign, segment) unique constraint.
    CampaignSegment.objects.filter(campaign=campaign, exclude__in=flags).delete()
    CampaignSegment.objects.bulk_create(
        CampaignSegment(campaign=campaign, segment=segment, exclude=field == "exclude_segments")
        for field, segments in chosen.items()
        for segment in segments
    )


def campaign_segments_copy(*, original: Campaign, copy: Campaign) -> None:
    """A duplicate sends to, and leaves out, the original's segments."""
    CampaignSegment.objects.bulk_create(
        CampaignSegment(campaign=copy, segment_id=use.segment_id, exclude=use.exclude)
        for use in CampaignSegment.objects.filter(campaign=original)
    )


@transaction.atomic
def campaign_segments_set(
    *, campaign: Campaign, include: Iterable[Segment] = (), exclude: Iterable[Segment] = ()
) -> None:
    """Send a draft campaign to these segments (beside its lists) and leave these out.

    The console and the API set them through `campaign_create`/`campaign_update`
    (`include_segments=`, `exclude_segments=`); this sets them alone.
    """
    if campaign.status != Campaign.Status.DRAFT:
        raise ValidationError(ONLY_DRAFTS)
    given = {"include_segments": list(include), "exclude_segments": list(exclude)}
    errors = campaign_segments_check(campaign=campaign, given=given)
    if errors:
        raise ValidationError(errors)
    campaign_segments_store(campaign=campaign, given=given)
