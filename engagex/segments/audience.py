"""Segments as campaign audiences: the source the segments app registers with campaigns."""

from django.core.exceptions import ValidationError
from django.db.models import Q
from django.utils.translation import gettext_lazy

from engagex.campaigns.audience import AudienceSource
from engagex.contacts.models import Contact
from engagex.segments.selectors import campaign_segments, reachable, rule_q
from engagex.segments.services import (
    SEGMENT_FIELDS,
    campaign_segments_check,
    campaign_segments_copy,
    campaign_segments_store,
    rule_errors,
)

SEGMENT_EMPTY = gettext_lazy(
    "This campaign has no recipients: its segment(s) {names} match no subscribed contacts "
    "(and its lists add none)."
)
EVERYONE_OPENED = gettext_lazy(
    "This resend has no recipients: everyone the original reached has opened it (or can no "
    "longer be emailed)."
)
SEGMENT_BROKEN = gettext_lazy("The segment “{name}” cannot be used as it stands: {reason}")


def _union(campaign, *, exclude: bool) -> Q | None:
    segments = campaign_segments(campaign.pk, exclude=exclude)
    if not segments:
        return None
    joined = None
    for segment in segments:
        try:
            match = rule_q(segment.rule, segment=segment)
        except ValidationError:
            # Counted as nobody included / everybody left out; the send is refused by check.
            match = Q(pk__in=[]) if not exclude else Q()
        joined = match if joined is None else joined | match
    return joined


def _include(campaign) -> Q | None:
    from engagex.segments.resend import non_openers, resend_original

    included = _union(campaign, exclude=False)
    original = resend_original(campaign.pk)
    if original is not None:
        # A resend reaches the original's non-openers (and whatever else it includes).
        included = non_openers(original) if included is None else included | non_openers(original)
    return included


def _exclude(campaign) -> Q | None:
    return _union(campaign, exclude=True)


def _check(campaign) -> None:
    for exclude in (False, True):
        for segment in campaign_segments(campaign.pk, exclude=exclude):
            try:
                rule_q(segment.rule, segment=segment)
            except ValidationError as error:
                reason = " ".join(rule_errors(error))
                raise ValidationError(
                    SEGMENT_BROKEN.format(name=segment.name, reason=reason)
                ) from error


def _empty_reason(campaign) -> str | None:
    from engagex.segments.resend import resend_original

    if resend_original(campaign.pk) is not None:
        return str(EVERYONE_OPENED)
    segments = campaign_segments(campaign.pk, exclude=False)
    if not segments:
        return None
    for segment in segments:
        if reachable(Contact.objects.filter(rule_q(segment.rule, segment=segment))).exists():
            return None
    names = ", ".join(f"“{s.name}”" for s in segments)
    return str(SEGMENT_EMPTY.format(names=names))


SEGMENT_AUDIENCE = AudienceSource(
    include=_include,
    exclude=_exclude,
    empty_reason=_empty_reason,
    check=_check,
    fields=SEGMENT_FIELDS,
    validate=campaign_segments_check,
    save=campaign_segments_store,
    copy=campaign_segments_copy,
)
