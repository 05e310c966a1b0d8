"""Event digests: each contact's events packed into one row, so rescoring reads bytes, not rows.

Owns: the ``event_shape`` ids of distinct ``(kind, attributes)`` pairs (attributes as canonical
JSON text), keeping ``event_digest`` in step with ``event`` inside the writer's transaction
(:func:`append` for new rows, :func:`rebuild` for rows updated or moved in place), telling stale
digests from fresh ones by their event count (:func:`stale`, :func:`all_fresh`), and reading the
digests of a chunk of contacts as columns (:func:`read`). A digest lists a contact's events in
event id order: ``occurred_us`` little-endian int64 microseconds, ``shape_ids`` little-endian
int32. The ``event`` table stays the source of truth; a digest can always be rebuilt from it.
Must not: score, read the clock, or change ``event`` rows.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from scorebridge.clock import utc
from scorebridge.scoring.batch_shapes import NO_TIME, to_us
from scorebridge.store.engine import insert
from scorebridge.store.tables import Digest, Shape

I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
_shape = Shape.__table__  # type: ignore[attr-defined]
_digest = Digest.__table__  # type: ignore[attr-defined]
_DENSE = 2  # a chunk whose id span is at most this many times its size is read by range
_CHUNK = 500  # bound parameters per IN list


@dataclass(frozen=True)
class NewEvent:
    """An event row just inserted, as its digest needs it."""

    contact_id: int
    occurred_at: datetime
    kind: str
    attributes: Mapping[str, Any]


@dataclass(frozen=True)
class Packed:
    """The digests of a chunk of contacts, as columns (events grouped by contact, ascending)."""

    contact_ids: I64
    counts: I64
    occurred_us: I64
    shape_ids: I64


def canonical(attributes: Mapping[str, Any] | None) -> str:
    """The canonical JSON text of event attributes (equal attributes give equal text)."""
    return json.dumps(attributes or {}, sort_keys=True, separators=(",", ":"), ensure_ascii=False)


def dbapi_cursor(conn: Connection) -> Any:
    """The DB-API cursor of ``conn``'s connection (same transaction, no row processing)."""
    return conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]


def where_ids(conn: Connection, column: str, ids: I64) -> tuple[str, list[int]]:
    """A ``WHERE`` for ``column`` in ``ids`` (ascending): a range when dense, else an ``IN``."""
    lo, hi = int(ids[0]), int(ids[-1])
    mark = "?" if conn.dialect.name == "sqlite" else "%s"
    if hi - lo + 1 <= _DENSE * len(ids):
        return f"{column} BETWEEN {mark} AND {mark}", [lo, hi]
    return f"{column} IN ({', '.join([mark] * len(ids))})", ids.tolist()


def stored_us(values: Sequence[Any]) -> I64:
    """Stored datetimes (SQLite text, or driver datetimes) to microseconds; None -> NO_TIME."""
    if not values:
        return np.zeros(0, np.int64)
    if isinstance(values[0], str) and None not in values:
        parsed: I64 = np.array(values, dtype="datetime64[us]").astype(np.int64)
        return parsed
    return np.array(
        [int(NO_TIME) if v is None else to_us(utc(_as_datetime(v))) for v in values],
        np.int64,
    )


def _as_datetime(value: Any) -> datetime:
    return value if isinstance(value, datetime) else datetime.fromisoformat(str(value))


def shape_ids(conn: Connection, pairs: Sequence[tuple[str, str]]) -> list[int]:
    """The ``event_shape`` id of each ``(kind, canonical attributes)`` pair, adding new ones."""
    wanted = sorted(set(pairs))
    known = _known_shapes(conn, wanted)
    missing = [p for p in wanted if p not in known]
    if missing:
        conn.execute(
            insert(conn, _shape).on_conflict_do_nothing(index_elements=["kind", "attributes"]),
            [{"kind": k, "attributes": a} for k, a in missing],
        )
        known |= _known_shapes(conn, missing)
    return [known[p] for p in pairs]


def _known_shapes(conn: Connection, pairs: Sequence[tuple[str, str]]) -> dict[tuple[str, str], int]:
    found: dict[tuple[str, str], int] = {}
    for chunk in _chunks(pairs, _CHUNK // 2):
        query = sa.select(_shape.c.id, _shape.c.kind, _shape.c.attributes).where(
            sa.tuple_(_shape.c.kind, _shape.c.attributes).in_(chunk)
        )
        found.update(((kind, attrs), sid) for sid, kind, attrs in conn.execute(query))
    return found


def append(conn: Connection, events: Sequence[NewEvent]) -> None:
    """Add just-inserted events (given in insertion order) to their contacts' digests.

    A contact without a digest yet (new, or from a store older than digests) gets one rebuilt
    from all its event rows, which already include these.
    """
    if not events:
        return
    sids = shape_ids(conn, [(e.kind, canonical(e.attributes)) for e in events])
    times: dict[int, list[int]] = {}
    shapes: dict[int, list[int]] = {}
    for e, sid in zip(events, sids, strict=True):
        times.setdefault(e.contact_id, []).append(to_us(e.occurred_at))
        shapes.setdefault(e.contact_id, []).append(sid)
    contacts = sorted(times)
    current = {
        row.contact_id: row
        for chunk in _chunks(contacts, _CHUNK)
        for row in conn.execute(sa.select(_digest).where(_digest.c.contact_id.in_(chunk)))
    }
    rows = [
        {
            "contact_id": cid,
            "event_count": current[cid].event_count + len(times[cid]),
            "occurred_us": bytes(current[cid].occurred_us) + _pack_us(times[cid]),
            "shape_ids": bytes(current[cid].shape_ids) + _pack_ids(shapes[cid]),
        }
        for cid in contacts
        if cid in current
    ]
    _upsert(conn, rows)
    rebuild(conn, [cid for cid in contacts if cid not in current])


def rebuild(conn: Connection, contact_ids: Iterable[int]) -> None:
    """Rebuild the digests of ``contact_ids`` from their ``event`` rows (none: no digest)."""
    ids = np.array(sorted(set(contact_ids)), np.int64)
    if not len(ids):
        return
    where, params = where_ids(conn, "contact_id", ids)
    cur = dbapi_cursor(conn)
    cur.execute(
        f"SELECT contact_id, occurred_at, kind, attributes FROM event WHERE {where}"
        " ORDER BY contact_id, id",
        params,
    )
    events = cur.fetchall()
    wanted = set(ids.tolist())
    events = [e for e in events if e[0] in wanted]
    texts: dict[Any, str] = {}
    pairs = [(kind, _canonical_stored(raw, texts)) for _, _, kind, raw in events]
    sids = np.array(shape_ids(conn, pairs), np.int64)
    owners = np.array([e[0] for e in events], np.int64)
    times = stored_us([e[1] for e in events])
    present, starts, counts = np.unique(owners, return_index=True, return_counts=True)
    rows = [
        {
            "contact_id": cid,
            "event_count": n,
            "occurred_us": times[s : s + n].astype("<i8").tobytes(),
            "shape_ids": sids[s : s + n].astype("<i4").tobytes(),
        }
        for cid, s, n in zip(present.tolist(), starts.tolist(), counts.tolist(), strict=True)
    ]
    _upsert(conn, rows)
    empty = sorted(wanted - set(present.tolist()))
    for chunk in _chunks(empty, _CHUNK):
        conn.execute(sa.delete(_digest).where(_digest.c.contact_id.in_(chunk)))


def _canonical_stored(raw: Any, memo: dict[Any, str]) -> str:
    """The canonical text of stored attributes (JSON text on SQLite, parsed values elsewhere)."""
    if isinstance(raw, str):
        known = memo.get(raw)
        if known is None:
            known = memo[raw] = canonical(json.loads(raw))
        return known
    return canonical(raw if isinstance(raw, Mapping) else {})


def _upsert(conn: Connection, rows: list[dict[str, Any]]) -> None:
    if not rows:
        return
    stmt = insert(conn, _digest)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=["contact_id"],
            set_={
                "event_count": stmt.excluded.event_count,
                "occurred_us": stmt.excluded.occurred_us,
                "shape_ids": stmt.excluded.shape_ids,
            },
        ),
        rows,
    )


def _pack_us(values: list[int]) -> bytes:
    return np.array(values, "<i8").tobytes()


def _pack_ids(values: list[int]) -> bytes:
    return np.array(values, "<i4").tobytes()


def stale(conn: Connection, contact_ids: I64) -> list[int]:
    """Those of ``contact_ids`` (ascending) whose digest does not count their event rows."""
    if not len(contact_ids):
        return []
    cur = dbapi_cursor(conn)
    where, params = where_ids(conn, "contact_id", contact_ids)
    cur.execute(f"SELECT contact_id, count(*) FROM event WHERE {where} GROUP BY contact_id", params)
    actual = dict(cur.fetchall())
    cur.execute(f"SELECT contact_id, event_count FROM event_digest WHERE {where}", params)
    counted = dict(cur.fetchall())
    return [c for c in contact_ids.tolist() if actual.get(c, 0) != counted.get(c, 0)]


def all_fresh(conn: Connection) -> bool:
    """Whether the digests together count every event row (cheap: two aggregates)."""
    events = conn.exec_driver_sql("SELECT count(*) FROM event").scalar_one()
    counted = conn.exec_driver_sql("SELECT coalesce(sum(event_count), 0) FROM event_digest")
    return int(events) == int(counted.scalar_one())


def read(conn: Connection, contact_ids: I64) -> Packed:
    """The digests of ``contact_ids`` (ascending); contacts without events are left out."""
    empty = np.zeros(0, np.int64)
    if not len(contact_ids):
        return Packed(empty, empty, empty, empty)
    cur = dbapi_cursor(conn)
    where, params = where_ids(conn, "contact_id", contact_ids)
    cur.execute(
        "SELECT contact_id, occurred_us, shape_ids FROM event_digest"
        f" WHERE {where} ORDER BY contact_id",
        params,
    )
    rows = cur.fetchall()
    if int(contact_ids[-1]) - int(contact_ids[0]) + 1 > len(contact_ids):  # a range: drop extras
        wanted = set(contact_ids.tolist())
        rows = [r for r in rows if r[0] in wanted]
    if not rows:
        return Packed(empty, empty, empty, empty)
    owners, times, shapes = zip(*rows, strict=True)
    times_all = np.frombuffer(b"".join(times), "<i8").astype(np.int64)
    shapes_all = np.frombuffer(b"".join(shapes), "<i4").astype(np.int64)
    counts = np.fromiter((len(t) // 8 for t in times), np.int64, count=len(times))
    return Packed(np.array(owners, np.int64), counts, times_all, shapes_all)


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
