"""Ids that arrive as text (query strings, form posts, Stripe metadata)."""

import re

# Only ASCII digits: "²".isdigit() is True, yet int("²") fails. 18 digits fit a bigint.
_ID = re.compile(r"[0-9]{1,18}")


def id_from_text(value) -> int | None:
    """`value` as a database id, or None when it is not one."""
    if isinstance(value, str) and _ID.fullmatch(value):
        return int(value)
    return None
