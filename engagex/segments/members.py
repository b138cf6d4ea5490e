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

Copies are used only by a transaction that sees nothing but committed rows, each statement
as of its start (READ COMMITTED, nothing written yet): one that has written would see its
own rows, which a copy must not keep and which a rollback takes back unrecorded, and an
older REPEATABLE READ snapshot could meet copies newer than itself. Those count by rows.
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
UNPACKED_IDS = 1 << 26  # below this highest id, a copy is read through a byte per id
ROUNDS = 4  # checks (copies brought up to date in between) before counting by rows instead

_lock = threading.Lock()
_copies: "OrderedDict[tuple, _Copy]" = OrderedDict()


@dataclass(frozen=True)
class _Copy:
    bits: np.ndarray  # packed bits (np.packbits order), bit i = contact id i
    snapshot: str  # pg_current_snapshot() of the statement it is as of
    schema: int  # the oid of the schema it was read in
    scope: int | None  # the list whose changes make it stale (None: whom no campaign reaches)
    made: float  # time.monotonic() of its first reading


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


def _set(bits: np.ndarray, ids: np.ndarray, value: bool) -> np.ndarray:
    """`bits` (packed) with these contact ids set or cleared, longer if it must be."""
    if ids.size:
        size = int(ids.max()) // 8 + 1
        if size > bits.size:
            bits = np.pad(bits, (0, size - bits.size))
        masks = (0x80 >> (ids & 7)).astype(np.uint8)
        if value:
            np.bitwise_or.at(bits, ids >> 3, masks)
        else:
            np.bitwise_and.at(bits, ids >> 3, ~masks)
    return bits


def _read(source: _Source) -> tuple[np.ndarray, str, int]:
    """The contacts' ids `source` reads, as bits, as of one statement (its snapshot), and
    the oid of the schema it read them in."""
    # `sql` is the ORM's, for a rule's checked condition; its values stay parameters.
    with connection.cursor() as cursor:
        packing = f"SELECT string_agg(int8send(r.id), ''::bytea) FROM ({source.sql}) AS r(id)"  # noqa: S608
        cursor.execute(
            f"SELECT pg_current_snapshot()::text, current_schema()::regnamespace::oid, ({packing})",
            source.params,
        )
        snapshot, schema, packed = cursor.fetchone()
    ids = np.frombuffer(bytes(packed or b""), dtype=">i8").astype(np.int64)
    if ids.size and ids.max() < UNPACKED_IDS:  # a byte per id for a moment: 10× faster
        flags = np.zeros(int(ids.max()) + 1, dtype=np.bool_)
        flags[ids] = True
        return np.packbits(flags), snapshot, int(schema)
    return _set(np.zeros(0, dtype=np.uint8), ids, True), snapshot, int(schema)


def _copy(key: tuple, source: _Source) -> _Copy:
    bits, snapshot, schema = _read(source)
    copy = _Copy(bits, snapshot, schema, source.scope, time.monotonic())
    _keep(key, copy)
    return copy


def _patched(key: tuple, source: _Source, copy: _Copy, ids: set, snapshot: str) -> _Copy:
    """`copy` with these contacts read again (those a few statements changed since it was
    made), as of `snapshot`: the check that found them. Whatever changed after that check,
    the next one finds."""
    # `sql` is the ORM's, for a rule's checked condition; its values stay parameters.
    with connection.cursor() as cursor:
        again = f"SELECT r.id FROM ({source.sql}) AS r(id) WHERE r.id = ANY(%s)"  # noqa: S608
        cursor.execute(again, [*source.params, sorted(ids)])
        held = np.fromiter((row[0] for row in cursor.fetchall()), dtype=np.int64)
    changed = np.fromiter(ids, dtype=np.int64, count=len(ids))
    bits = _set(copy.bits.copy(), changed, False)
    patched = _Copy(_set(bits, held, True), snapshot, copy.schema, copy.scope, copy.made)
    _keep(key, patched)
    return patched


def _keep(key: tuple, copy: _Copy) -> None:
    with _lock:
        _copies[key] = copy
        _copies.move_to_end(key)
        # Least recently used first; never the one just kept.
        while len(_copies) > 1 and sum(kept.bits.nbytes for kept in _copies.values()) > MAX_BYTES:
            _copies.popitem(last=False)


def countable(parts: list[Members]) -> bool:
    """Whether a rule of these parts can be counted from copies: lists only, one held."""
    return all(part.changes is not None for part in parts) and any(
        not part.negated for part in parts
    )


def _pad(bits: np.ndarray, size: int) -> np.ndarray:
    return bits if bits.size == size else np.pad(bits, (0, size - bits.size))


def _newest(bits: np.ndarray, how_many: int) -> list[int]:
    """The highest `how_many` contact ids set in `bits`, without unpacking all of it."""
    if not how_many:
        return []
    filled = np.flatnonzero(bits)[-how_many:]  # bytes with a bit set: enough of them
    ids = (filled[:, None] * 8 + np.arange(8)).ravel()[np.unpackbits(bits[filled]).astype(bool)]
    return [int(i) for i in ids[-how_many:]]


def count(parts: list[Members], *, sample: int, every_status: bool) -> dict | None:
    """`segment_count` of a rule of list parts (`countable`), with the ids of up to `sample`
    of its newest contacts in any status (`sample_ids`); None when copies cannot be used
    here (see the module) or the lists kept changing while they were brought up to date
    (count by rows instead)."""
    sources = [_Source.of(part.rows, "contact_id", part.changes) for part in parts]
    unreachable = _unreachable()
    wanted = {source.key(): source for source in [*sources, unreachable]}
    lists = sorted({part.changes for part in parts if part.changes is not None})
    now = time.monotonic()
    with _lock:
        copies = {key: _copies[key] for key in wanted if key in _copies}
        for key in copies:
            _copies.move_to_end(key)
    for _round in range(ROUNDS):
        keys = list(copies)
        check = member_changes_since([copies[key].snapshot for key in keys], lists)
        if not check.committed_only:
            return None
        current = True
        for key, seen in zip(keys, check.changed, strict=True):
            copy = copies[key]
            if copy.schema != check.schema or now - copy.made > MAX_AGE:
                copies[key] = _copy(key, wanted[key])  # another schema of that name, or old
            elif MemberChange.EVERY_LIST in seen or seen.get(copy.scope, ()) is None:
                copies[key] = _copy(key, wanted[key])  # too much changed: read it again
            elif copy.scope in seen:
                changed = seen[copy.scope] or set()
                copies[key] = _patched(key, wanted[key], copy, changed, check.snapshot)
            else:
                continue
            current = False
        for key in wanted.keys() - copies.keys():
            copies[key] = _copy(key, wanted[key])
            current = False
        if current:
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
    result["sample_ids"] = _newest(matching, sample)
    return result


def forget() -> None:
    """Drop every copy this process holds (tests; a bench's cold count)."""
    with _lock:
        _copies.clear()
