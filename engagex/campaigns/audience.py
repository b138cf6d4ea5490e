"""Audience sources that live above campaigns in the stack (segments) register here.

`campaign_audience` asks each source which contacts a campaign adds and which it leaves
out, as `Q`s over contacts, so the send still snapshots its audience in one statement.
"""

from collections.abc import Callable
from dataclasses import dataclass

from django.db.models import Q


@dataclass(frozen=True)
class AudienceSource:
    # Contacts the campaign sends to through this source (None: the source adds nobody).
    include: Callable[..., Q | None]
    # Contacts it leaves out (None: nobody).
    exclude: Callable[..., Q | None]
    # Why nobody is left to send to, when this source is the reason (None: it is not).
    empty_reason: Callable[..., str | None]
    # Raise ValidationError (the reason) when the campaign cannot be sent as it stands.
    check: Callable[..., None]


_SOURCES: list[AudienceSource] = []


def register_audience_source(source: AudienceSource) -> None:
    if source not in _SOURCES:
        _SOURCES.append(source)


def audience_sources() -> list[AudienceSource]:
    return list(_SOURCES)
