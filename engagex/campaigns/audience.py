"""Audience sources that live above campaigns in the stack (segments) register here.

`campaign_audience` asks each source which contacts a campaign adds and which it leaves
out, as `Q`s over contacts, so the send still snapshots its audience in one statement.

A source may also add draft fields of its own (segments: `include_segments`,
`exclude_segments`): `campaign_create` and `campaign_update` take them as keyword arguments
beside the groups, ask the source to check them with everything else (every error at once,
each on its field) and to store them once the campaign is saved. So the console and the API
write them through the same services, which are the only validators.
"""

from collections.abc import Callable, Iterable
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
    # The draft fields it adds to the campaign services (values: ids or rows of the source).
    fields: tuple[str, ...] = ()
    # (*, campaign, given) -> {field: [messages]}, empty when fine; `given` holds only the
    # fields passed (an update leaves the others as stored). On create the campaign has no
    # pk yet.
    validate: Callable[..., dict[str, list]] | None = None
    # (*, campaign, given): store the fields passed, once the campaign is saved.
    save: Callable[..., None] | None = None
    # (*, original, copy): carry the source's audience over to a duplicate.
    copy: Callable[..., None] | None = None


_SOURCES: list[AudienceSource] = []


def register_audience_source(source: AudienceSource) -> None:
    if source not in _SOURCES:
        _SOURCES.append(source)


def audience_sources() -> list[AudienceSource]:
    return list(_SOURCES)


def audience_fields() -> list[str]:
    """Every draft field the registered sources add (the admin and the API pass them on)."""
    return [name for source in _SOURCES for name in source.fields]


def audience_given(fields: dict[str, Iterable]) -> list[tuple[AudienceSource, dict]]:
    """Each source with the fields of `fields` that are its own (sources given none left out)."""
    given = []
    for source in _SOURCES:
        mine = {name: fields[name] for name in source.fields if name in fields}
        if mine:
            given.append((source, mine))
    return given
