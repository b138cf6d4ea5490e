"""Who is in a segment, how many, and a sample: always worked out now, never stored."""

from datetime import datetime

from django.db.models import Count, Q, QuerySet
from django.utils import timezone

from engagex.contacts.models import Contact, ContactStatus
from engagex.segments.models import CampaignSegment, Segment
from engagex.segments.registry import Context, condition_types
from engagex.segments.rules import rule_compile

SAMPLE_SIZE = 10


def rule_q(rule, *, now: datetime | None = None, segment: Segment | None = None) -> Q:
    """The rule's `Q` at `now` (relative dates count from then); raises ValidationError."""
    stack = (segment.pk,) if segment is not None and segment.pk else ()
    return rule_compile(rule, context=Context(now=now or timezone.now(), stack=stack))


def segment_contacts(
    *, segment: Segment | None = None, rule=None, now: datetime | None = None
) -> QuerySet[Contact]:
    """Every contact the segment (or an unsaved rule) matches, whatever their status."""
    rule = segment.rule if rule is None and segment is not None else rule
    return Contact.objects.filter(rule_q(rule, now=now, segment=segment))


def segment_count(*, segment: Segment | None = None, rule=None, sample: int = SAMPLE_SIZE) -> dict:
    """How many contacts match, how many of them a campaign would send to (subscribed),
    and the newest few of them, in two queries."""
    contacts = segment_contacts(segment=segment, rule=rule)
    counts = contacts.aggregate(
        matching=Count("pk"), sendable=Count("pk", filter=Q(status=ContactStatus.SUBSCRIBED))
    )
    rows = list(
        contacts.order_by("-pk").values("pk", "email", "first_name", "last_name", "status")[:sample]
    )
    return {**counts, "sample": rows}


def segment_list() -> QuerySet[Segment]:
    return Segment.objects.all()


def campaign_segments(campaign_id: int, *, exclude: bool) -> list[Segment]:
    uses = CampaignSegment.objects.filter(campaign_id=campaign_id, exclude=exclude)
    return [use.segment for use in uses.select_related("segment").order_by("segment__name")]


def condition_catalogue() -> list[dict]:
    """What the builder offers: each field, its operators and the kind of value each takes."""
    catalogue = []
    for kind in condition_types().values():
        catalogue.append(
            {
                "field": kind.field,
                "label": str(kind.label),
                "family": kind.family,
                "operators": [
                    {"name": op.name, "label": str(op.label), "value": op.value}
                    for op in kind.operators
                ],
                "options": dict(kind.options),
                "choices": [(key, str(label)) for key, label in kind.choices()]
                if kind.choices
                else [],
            }
        )
    return catalogue
