"""Who is in a segment, how many, and a sample: always worked out now, never stored."""

from datetime import datetime

from django.contrib.postgres.expressions import ArraySubquery
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext_lazy

from engagex.campaigns.models import Campaign
from engagex.contacts.models import UNREACHABLE_CONTACTS, Contact, ContactQuerySet
from engagex.segments import members
from engagex.segments.models import CampaignSegment, Segment
from engagex.segments.registry import Context, Members, condition_types
from engagex.segments.rules import rule_compile, rule_members

SAMPLE_SIZE = 10
FAMILY_LABELS = {
    "fields": gettext_lazy("Contact fields"),
    "attributes": gettext_lazy("Custom attributes"),
    "lists": gettext_lazy("Lists"),
    "engagement": gettext_lazy("Engagement"),
    "segments": gettext_lazy("Segments"),
}


def _context(segment: Segment | None, now: datetime | None) -> Context:
    stack = (segment.pk,) if segment is not None and segment.pk else ()
    return Context(now=now or timezone.now(), stack=stack)


def rule_q(rule, *, now: datetime | None = None, segment: Segment | None = None) -> Q:
    """The rule's `Q` at `now` (relative dates count from then); raises ValidationError."""
    return rule_compile(rule, context=_context(segment, now))


def segment_contacts(
    *, segment: Segment | None = None, rule=None, now: datetime | None = None
) -> QuerySet[Contact]:
    """Every contact the segment (or an unsaved rule) matches, whatever their status."""
    rule = segment.rule if rule is None and segment is not None else rule
    return Contact.objects.filter(rule_q(rule, now=now, segment=segment))


def segment_count(
    *,
    segment: Segment | None = None,
    rule=None,
    sample: int = SAMPLE_SIZE,
    every_status: bool = False,
) -> dict:
    """How many contacts a campaign to the segment would reach (subscribed: exactly what a
    send snapshots), and a few of the contacts it matches.

    `every_status` also counts the matching contacts in any status (`matching`): a second
    pass over the rule, which at a million contacts costs about as much as the first, so the
    builder does not ask for it.

    A rule of lists, campaigns and engagement (or segments of them) joined by AND is counted
    from those rows (`_count_by_members`); any other rule by the contacts query a send
    snapshots.
    """
    rule = segment.rule if rule is None and segment is not None else rule
    context = _context(segment, None)
    match = rule_compile(rule, context=context)
    parts = rule_members(rule, context=context)
    if parts is not None:
        return _count_by_members(parts, sample=sample, every_status=every_status)
    contacts = Contact.objects.filter(match).order_by()
    sendable = reachable(contacts).count()
    result: dict = {"sendable": sendable}
    if every_status:
        result["matching"] = contacts.count()
    # Any few of them, not the newest: ORDER BY id with a LIMIT makes PostgreSQL walk the
    # primary key testing every contact (slow for a rare rule).
    result["sample"] = _sample(contacts[:sample])
    return result


def reachable(contacts: "ContactQuerySet") -> QuerySet[Contact]:
    """Those of `contacts` a campaign to a segment can reach: subscribed, and not still to
    confirm a sign-up (`ContactQuerySet.reachable`, as `campaign_audience`)."""
    return contacts.reachable()


def _sample(contacts: QuerySet[Contact]) -> list[dict]:
    fields = ("pk", "email", "first_name", "last_name", "status", "awaiting_confirmation")
    rows = [dict(row) for row in contacts.values(*fields)]
    return sorted(rows, key=lambda row: -row["pk"])


def _count_by_members(parts: list[Members], *, sample: int, every_status: bool) -> dict:
    """`segment_count` of a rule that is all rows of other tables (`rule_members`).

    It reads one positive part's rows (a foreign key's, when there is one), keeps those
    whose contact the other parts hold (or, negated, do not hold), and leaves out the few
    contacts in any status but subscribed by an anti-join over the status index. The
    contacts query instead joins every matching row to the million contacts for their
    status: at 1M contacts, 2–4× slower (docs/benchmarks.md). Same contacts either way
    (tests/segments/test_counts.py). A rule of lists only is counted from copies of their
    members kept between counts (`members.count`), except in a transaction that has written
    or reads under REPEATABLE READ, or when the lists keep changing while it looks."""
    if members.countable(parts):
        counted = members.count(parts, sample=sample, every_status=every_status)
        if counted is not None:
            ids = counted.pop("sample_ids")
            return {**counted, "sample": _sample(Contact.objects.filter(pk__in=ids))}
    positive = [part for part in parts if not part.negated]
    drive = next((part for part in positive if part.checked), positive[0])
    rows = drive.rows.filter(contact_id__isnull=False).order_by()
    for part in parts:
        if part is not drive:
            held = Exists(part.rows.filter(contact_id=OuterRef("contact_id")))
            rows = rows.filter(~held if part.negated else held)

    def count(queryset) -> int:
        if drive.distinct:
            return queryset.count()
        return queryset.values("contact_id").distinct().count()

    contact = Contact.objects.filter(pk=OuterRef("contact_id"))
    if drive.checked:
        # The few no campaign reaches, by an anti-join over their own partial index.
        sendable = rows.filter(~Exists(contact.filter(UNREACHABLE_CONTACTS)))
    else:  # the contact may be gone: look each one up
        sendable = rows.filter(Exists(contact.reachable()))
        rows = rows.filter(Exists(contact))
    result: dict = {"sendable": count(sendable)}
    if every_status:
        result["matching"] = count(rows)
    # A few rows, their contacts once each (a contact clicks many times); DISTINCT over all
    # of them only when those few rows hold too few contacts.
    fetched = list(rows.values_list("contact_id", flat=True)[: sample * 20])
    ids = list(dict.fromkeys(fetched))
    if len(ids) < sample and len(fetched) == sample * 20:
        ids = list(rows.values_list("contact_id", flat=True).distinct()[:sample])
    result["sample"] = _sample(Contact.objects.filter(pk__in=ids[:sample]))
    return result


def segment_list() -> QuerySet[Segment]:
    return Segment.objects.all()


def campaign_segments(campaign_id: int, *, exclude: bool) -> list[Segment]:
    uses = CampaignSegment.objects.filter(campaign_id=campaign_id, exclude=exclude)
    return [use.segment for use in uses.select_related("segment").order_by("segment__name")]


def with_segment_ids(campaigns: QuerySet[Campaign]) -> QuerySet[Campaign]:
    """Campaigns with `include_segments_ids` and `exclude_segments_ids` (lists of segment
    ids), in the same query: the API lists a page of campaigns without a query each."""
    uses = CampaignSegment.objects.filter(campaign_id=OuterRef("pk")).order_by("segment_id")
    return campaigns.annotate(
        include_segments_ids=ArraySubquery(uses.filter(exclude=False).values("segment_id")),
        exclude_segments_ids=ArraySubquery(uses.filter(exclude=True).values("segment_id")),
    )


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


def builder_catalogue(*, exclude_segment: Segment | None = None) -> list[dict]:
    """The catalogue with what the builder lists by name: attributes (and their operators),
    lists, sent campaigns and the other segments."""
    from django.utils.translation import gettext

    from engagex.contacts.models import AttributeType, ContactGroup
    from engagex.segments.conditions.attributes import OPERATORS

    catalogue = condition_catalogue()
    for entry in catalogue:  # the builder groups its field list by these
        entry["family_label"] = str(FAMILY_LABELS.get(entry["family"], entry["family"]))
    others = Segment.objects.all()
    if exclude_segment is not None and exclude_segment.pk:
        others = others.exclude(pk=exclude_segment.pk)
    ids = {
        "list": list(ContactGroup.objects.values_list("pk", "name")),
        "campaign": list(
            Campaign.objects.exclude(status=Campaign.Status.DRAFT)
            .order_by("-created_at")
            .values_list("pk", "name")[:200]
        ),
        "segment": list(others.values_list("pk", "name")),
    }
    from engagex.contacts.services.attributes import attribute_types

    for entry in catalogue:
        if entry["field"] in ids:
            entry["ids"] = ids[entry["field"]]
        if "include_machine_opens" in entry["options"]:
            entry["machine_label"] = gettext("include machine opens")
        if entry["field"] == "list":  # the member's status on the list, "subscribed" unless set
            entry["status_label"] = gettext("with the status")
            entry["choices"].sort(key=lambda choice: choice[0] != "subscribed")
        if entry["field"] == "attribute":
            entry["attributes"] = [
                {
                    "name": name,
                    "type": kind,
                    "type_label": str(AttributeType(kind).label),
                    "operators": [
                        {"name": op.name, "label": str(op.label), "value": op.value}
                        for op in OPERATORS[AttributeType(kind)]
                    ],
                }
                for name, kind in sorted(attribute_types().items())
            ]
    return catalogue
