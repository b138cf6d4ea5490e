"""The contacts a template is previewed for, and the attributes its merge tags may name.

Contacts sit beside templates in the stack, so neither imports the other: the platform
layer above both registers contacts' reads here from its AppConfig.ready().
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol


class MergeContact(Protocol):
    """What templates read of a contact (`contact.<name>` in merge tags)."""

    email: str
    first_name: str
    last_name: str
    phone: str
    language: str
    attributes: Any


@dataclass(frozen=True)
class Audience:
    # (search text, limit) → contacts whose email or name starts with the text
    search: Callable[[str, int], list[MergeContact]]
    # an id → that contact, or None
    get: Callable[[int], MergeContact | None]
    # sample size → custom attribute names the most recent contacts have
    attribute_names: Callable[[int], set[str]]


_audience: Audience | None = None


def register_audience(audience: Audience) -> None:
    global _audience
    _audience = audience


def audience() -> Audience:
    if _audience is None:
        raise LookupError("No audience is registered for email templates (engagex.platform does)")
    return _audience
