"""Lists' members kept in memory between counts, as bit vectors, and always exact.

A rule of lists ("on Newsletter, not on Events") counted from rows is an anti-join over every
membership of both lists: about 220 ms at a million contacts, however it is planned. Here
each list's members (in a status) are a vector of bits indexed by contact id, built by
one query, and a rule of them is a few vector operations: a millisecond or two.

A copy is used only while it is still right. Each is made by one statement, so it holds
exactly what that statement's snapshot saw; the triggers of contacts 0016 record every
statement that changes a list's members, or whom no campaign reaches, with its transaction.
Before a count, one query asks which copies' snapshots miss such a change. A copy that
missed a few statements (sign-ups, an unsubscribe) reads again only the contacts they
touched, as the trigger listed them; after a bigger one (an import) it reads the whole
list. The count is what all of them held at that query: what the contacts query of a send
would have found then (tests/segments/test_members.py).

A copy made inside a transaction that has written anything is used once and not kept: it
holds that transaction's own rows, which another one must not see, and which a rollback
would take back without any change being recorded.
"""

import threading
import time
from collections import OrderedDict
from dataclasses import dataclass

import numpy as np
from django.conf import settings
from django.db import connection
from django.db.models import QuerySet

from engagex.contacts.models import UNREACHABLE_CONTACTS, Contact, MemberChange
from engagex.contacts.selectors import member_changes_since
from engagex.core.tenancy import current_schema
from engagex.segments.registry import Members

MAX_BYTES = 64 * 1024 * 1024  # per process: a copy takes a bit per contact id (125 kB per 1M)
MAX_AGE = 600.0  # seconds: a copy nobody changed is still made again now and then
ROUNDS = 3  # copies made again before counting by the contacts' rows instead

_lock = threading.Lock()
_copies: "OrderedDict[tuple, _Copy]" = OrderedDict()


@dataclass
class _Copy:
    bits: np.ndarray  # packed bits (np.packbits), bit i = contact id i
    snapshot: str  # pg_current_snapshot() of the statement that read it
    scope: int | None  # the list whose changes make it stale (None: whom no campaign reaches)
    made: float


@dataclass(frozen=True)
class _Source:
    """What a copy is made from: a query of contact ids and the changes that stale it."""

    sql: str
    params: tuple
    scope: int | None

    @classmethod
    def of(cls, rows: QuerySet, column: str, scope: int | None) -> "_Source":
        sql, params = rows.order_by().values(column).query.sql_with_params()
        return cls(sql, tuple(params), scope)

    def key(self) -> tuple:
        database = settings.DATABASES["default"]
        where = (database.get("HOST"), database.get("PORT"), database["NAME"], current_schema())
        return (*where, self.sql, self.params)


def _unreachable() -> _Source:
    """The contacts no campaign reaches (a partial index of their own, about a tenth)."""
    return _Source.of(Contact.objects.filter(UNREACHABLE_CONTACTS), "id", None)


def _read(source: _Source) -> tuple[np.ndarray, str, bool]:
    """The contacts' ids `source` reads as bits, the statement's snapshot, and whether it
    may be kept (this transaction had written nothing)."""
    # `sql` is the ORM's, for a rule's checked condition; its values stay parameters.
    with connection.cursor() as cursor:
        packing = f"SELECT string_agg(int8send(r.id), ''::bytea) FROM ({source.sql}) AS r(id)"  # noqa: S608
        cursor.execute(
            "SELECT pg_current_snapshot()::text, pg_current_xact_id_if_assigned() IS NULL, "
            f"({packing})",
            source.params,
        )
        snapshot, keep, packed = cursor.fetchone()
    ids = np.frombuffer(bytes(packed or b""), dtype=">i8")
    bits = np.zeros(int(ids.max()) + 1 if ids.size else 0, dtype=np.bool_)
    bits[ids] = True
    return np.packbits(bits), snapshot, keep


def _copy(key: tuple, source: _Source) -> _Copy:
    bits, snapshot, keep = _read(source)
    copy = _Copy(bits, snapshot, source.scope, time.monotonic())
    if keep:  # otherwise the copy kept before stays: it is still right for anyone else
        _keep(key, copy)
    return copy


def _keep(key: tuple, copy: _Copy) -> None:
    with _lock:
        _copies[key] = copy
        _copies.move_to_end(key)
        while sum(kept.bits.nbytes for kept in _copies.values()) > MAX_BYTES:
            _copies.popitem(last=False)


def _patched(key: tuple, source: _Source, copy: _Copy, ids: set, snapshot: str) -> _Copy:
    """`copy` with these contacts read again (those a few statements changed since it was
    made), as of `snapshot`: the check that found them. Whatever else changed after that
    check, the next one finds."""
    # `sql` is the ORM's, for a rule's checked condition; its values stay parameters.
    with connection.cursor() as cursor:
        again = f"SELECT array_agg(r.id) FROM ({source.sql}) AS r(id) WHERE r.id = ANY(%s)"  # noqa: S608
        cursor.execute(
            f"SELECT pg_current_xact_id_if_assigned() IS NULL, ({again})",
            [*source.params, sorted(ids)],
        )
        keep, held = cursor.fetchone()
    changed = np.fromiter(ids, dtype=np.int64, count=len(ids))
    bits = np.unpackbits(copy.bits)
    size = max(bits.size, int(changed.max()) + 1)
    bits = np.pad(bits, (0, size - bits.size)) if size > bits.size else bits.copy()
    bits[changed] = False
    bits[np.asarray(held or [], dtype=np.int64)] = True
    patched = _Copy(np.packbits(bits), snapshot, copy.scope, copy.made)
    if keep:
        _keep(key, patched)
    return patched


def countable(parts: list[Members]) -> bool:
    """Whether a rule of these parts can be counted from copies: lists only, one held."""
    return all(part.changes is not None for part in parts) and any(
        not part.negated for part in parts
    )


def _pad(bits: np.ndarray, size: int) -> np.ndarray:
    return bits if bits.size == size else np.pad(bits, (0, size - bits.size))


def count(parts: list[Members], *, sample: int, every_status: bool) -> dict | None:
    """`segment_count` of a rule of list parts (`countable`), with the ids of up to `sample`
    of its newest contacts in any status (`sample_ids`); None if the lists kept changing
    while their copies were made (count by rows instead)."""
    sources = [_Source.of(part.rows, "contact_id", part.changes) for part in parts]
    unreachable = _unreachable()
    wanted = {source.key(): source for source in [*sources, unreachable]}
    now = time.monotonic()
    with _lock:
        kept = {key: _copies.get(key) for key in wanted}
    copies: dict[tuple, _Copy] = {}
    for key, copy in kept.items():
        fresh = copy is not None and now - copy.made <= MAX_AGE
        copies[key] = copy if copy is not None and fresh else _copy(key, wanted[key])
    for _round in range(ROUNDS):
        keys = list(copies)
        checked, changes = member_changes_since([copies[key].snapshot for key in keys])
        stale = False
        for key, seen in zip(keys, changes, strict=True):
            copy = copies[key]
            if copy.scope not in seen and MemberChange.EVERY_LIST not in seen:
                continue
            ids = seen.get(copy.scope)
            if ids is None or MemberChange.EVERY_LIST in seen:
                copies[key] = _copy(key, wanted[key])  # too much changed: read it again
            else:
                copies[key] = _patched(key, wanted[key], copy, ids, checked)
            stale = True
        if not stale:
            break
    else:
        return None
    size = max(copy.bits.size for copy in copies.values())
    bits = {key: _pad(copy.bits, size) for key, copy in copies.items()}
    # A positive part clears every bit past its last contact: past the others, too.
    matching = np.full(size, 0xFF, dtype=np.uint8)
    for part, source in zip(parts, sources, strict=True):
        held = bits[source.key()]
        matching &= ~held if part.negated else held
    sendable = matching & ~bits[unreachable.key()]
    result: dict = {"sendable": int(np.bitwise_count(sendable).sum())}
    if every_status:
        result["matching"] = int(np.bitwise_count(matching).sum())
    newest = np.flatnonzero(np.unpackbits(matching))[-sample:] if sample else ()
    result["sample_ids"] = [int(i) for i in newest]
    return result


def forget() -> None:
    """Drop every copy this process holds (tests; a bench's cold count)."""
    with _lock:
        _copies.clear()
