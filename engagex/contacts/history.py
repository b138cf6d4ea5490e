"""What a contact's page shows of the campaigns sent to them.

Campaigns sit above contacts in the stack, so contacts never import them: campaigns
registers the reader from its AppConfig.ready().
"""

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from django_stubs_ext import StrOrPromise


@dataclass(frozen=True)
class CampaignHistoryRow:
    campaign: str
    outcome: "StrOrPromise"  # translated when shown
    sent_at: datetime | None


HistoryReader = Callable[..., list[CampaignHistoryRow]]
_reader: HistoryReader | None = None


def register_campaign_history(reader: HistoryReader) -> None:
    """`reader(contact=..., limit=...)` returns the contact's most recent campaigns (all of
    them when `limit` is None: a person's copy of their data), newest first."""
    global _reader
    _reader = reader


def contact_campaign_history(*, contact, limit: int | None = 20) -> list[CampaignHistoryRow]:
    return _reader(contact=contact, limit=limit) if _reader is not None else []
