"""Reading what rescoring needs from the store, in bulk, for one chunk of contacts at a time.

Owns: selecting the contacts to rescore, and turning a chunk of contact ids into a
:class:`~scorebridge.scoring.batch.BatchInput` (events as columns pointing at distinct
``(kind, attributes)`` shapes, fit fields, prior stage and trigger state) with a few set-based
reads on the DB-API cursor (no per-row ORM objects, no per-row type processing: 20 million
event rows must stream in seconds, not minutes). Also the full per-contact inputs of the pure
engine (events with their keys) for the contacts bulk scoring hands back and for ``explain``.
Must not: score, write, or read the clock.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from scorebridge.clock import utc
from scorebridge.scoring.batch import NO_TIME, BatchInput, EventShape, fresh_triggers, to_us
from scorebridge.scoring.matchers import CompiledRules
from scorebridge.scoring.model import ContactFacts, PriorState, ScoringEvent, TriggerState
from scorebridge.store.tables import Contact, Event
from scorebridge.store.tables import TriggerState as StateRow

I64 = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
CRM_PREFIX = "crm."
_DENSE = 2  # a chunk whose id span is at most this many times its size is read by range


def contacts_to_rescore(conn: Connection, *, everyone: bool) -> I64:
    """Ids (ascending) of live contacts flagged ``rescore_needed``, or of every live contact."""
    sql = "SELECT id FROM contact WHERE deleted = " + _false(conn)
    if not everyone:
        sql += " AND rescore_needed = " + _true(conn)
    cur = _cursor(conn)
    cur.execute(sql + " ORDER BY id")
    return np.fromiter((r[0] for r in cur), np.int64)


def _true(conn: Connection) -> str:
    return "1" if conn.dialect.name == "sqlite" else "true"


def _false(conn: Connection) -> str:
    return "0" if conn.dialect.name == "sqlite" else "false"


def _cursor(conn: Connection) -> Any:
    """The DB-API cursor of ``conn``'s connection (same transaction, no row processing)."""
    return conn.connection.dbapi_connection.cursor()  # type: ignore[union-attr]


def _mark(conn: Connection) -> str:
    return "?" if conn.dialect.name == "sqlite" else "%s"


def _where_ids(conn: Connection, column: str, ids: I64) -> tuple[str, list[int]]:
    """A ``WHERE`` for ``column`` in ``ids``: a range when dense, else an ``IN`` list."""
    lo, hi = int(ids[0]), int(ids[-1])
    mark = _mark(conn)
    if hi - lo + 1 <= _DENSE * len(ids):
        return f"{column} BETWEEN {mark} AND {mark}", [lo, hi]
    return f"{column} IN ({', '.join([mark] * len(ids))})", ids.tolist()


def _to_us(values: Sequence[Any]) -> I64:
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


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


class ShapeCache:
    """Distinct ``(kind, attributes)`` pairs seen so far; parses each attributes text once."""

    def __init__(self) -> None:
        self._index: dict[tuple[str, Any], int] = {}
        self.shapes: list[EventShape] = []

    def ids(self, kinds: Sequence[str], attributes: Sequence[Any]) -> I64:
        """The shape id of every (kind, attributes) pair."""
        keys = list(zip(kinds, attributes, strict=True))
        found: list[int | None] = [None]
        if isinstance(attributes[0], str):
            found = list(map(self._index.get, keys))
        if len(found) != len(keys) or None in found:
            found = [self._index.get(k) if isinstance(k[1], str) else None for k in keys]
            found = [self._add(k) if f is None else f for k, f in zip(keys, found, strict=True)]
        return np.array(found, np.int64)

    def _add(self, key: tuple[str, Any]) -> int:
        kind, raw = key
        if not isinstance(raw, str):
            key = (kind, json.dumps(raw, sort_keys=True, default=str))
        known = self._index.get(key)
        if known is not None:
            return known
        attrs = _json(key[1])
        self._index[key] = len(self.shapes)
        self.shapes.append(EventShape(kind, attrs if isinstance(attrs, dict) else {}))
        return self._index[key]


def fit_fields(rules: CompiledRules) -> list[str]:
    """The contact fields the fit rules read (``crm.<name>`` means a CRM field)."""
    return sorted({f.field for f in rules.fit})


def _field_sql(conn: Connection, name: str) -> str:
    column, key = (
        ("crm_fields", name[len(CRM_PREFIX) :])
        if name.startswith(CRM_PREFIX)
        else (
            "fields",
            name,
        )
    )
    path = '$."' + key.replace('"', '""').replace("'", "''") + '"'
    return f"{column} -> '{path}'"


def load_batch(
    conn: Connection, ids: I64, rules: CompiledRules, shapes: ShapeCache
) -> tuple[BatchInput, Bools]:
    """The batch input for contacts ``ids`` (ascending) and their ``rescore_needed`` flags."""
    where, params = _where_ids(conn, "id", ids)
    names = fit_fields(rules)
    sqlite = conn.dialect.name == "sqlite"
    extra = "".join(f", {_field_sql(conn, n)}" for n in names) if sqlite else ", fields, crm_fields"
    cur = _cursor(conn)
    cur.execute(
        "SELECT id, last_activity_at, stage, stage_entered_at, rescore_needed"
        f"{extra} FROM contact WHERE {where} ORDER BY id",
        params,
    )
    rows = list(cur.fetchall())
    found = np.array([r[0] for r in rows], np.int64)
    keep = np.isin(found, ids)
    rows = [r for r, k in zip(rows, keep.tolist(), strict=True) if k]
    n = len(rows)
    contact_ids = np.array([r[0] for r in rows], np.int64)
    if sqlite:
        decoded: dict[Any, Any] = {None: None}

        def value(raw: Any) -> Any:
            if raw not in decoded:
                decoded[raw] = _json(raw)
            return decoded[raw]

        fields: list[Mapping[str, Any]] = [
            {name: value(raw) for name, raw in zip(names, r[5:], strict=True)} for r in rows
        ]
    else:
        fields = [merged_fields(_json(r[5]), _json(r[6])) for r in rows]
    stage_keys = {s.key: s.index for s in rules.stages}
    armed, episode, primed = fresh_triggers(n, rules)
    position = {int(c): i for i, c in enumerate(contact_ids.tolist())}
    trigger_col = {t.id: j for j, t in enumerate(rules.triggers)}
    where_t, params_t = _where_ids(conn, "contact_id", ids)
    cur.execute(
        f"SELECT contact_id, trigger_id, armed, episode, primed FROM trigger_state WHERE {where_t}",
        params_t,
    )
    for cid, tid, was_armed, ep, was_primed in cur.fetchall():
        row, col = position.get(cid), trigger_col.get(tid)
        if row is not None and col is not None:
            armed[row, col], episode[row, col], primed[row, col] = (
                bool(was_armed),
                ep,
                bool(was_primed),
            )

    where_e, params_e = _where_ids(conn, "contact_id", ids)
    cur.execute(
        f"SELECT contact_id, occurred_at, kind, attributes FROM event WHERE {where_e}", params_e
    )
    events = cur.fetchall()
    if events:
        e_contact, e_time, e_kind, e_attrs = zip(*events, strict=True)
        e_ids = np.array(e_contact, np.int64)
        e_row = np.searchsorted(contact_ids, e_ids)
        inside = (e_row < n) & (contact_ids[np.minimum(e_row, max(n - 1, 0))] == e_ids)
        event_us, shape_ids = _to_us(e_time), shapes.ids(e_kind, e_attrs)
        if not inside.all():
            e_row, event_us, shape_ids = e_row[inside], event_us[inside], shape_ids[inside]
    else:
        e_row = event_us = shape_ids = np.zeros(0, np.int64)
    used, local = np.unique(shape_ids, return_inverse=True)
    batch = BatchInput(
        contact_ids=contact_ids,
        fields=fields,
        last_activity_us=_to_us([r[1] for r in rows]),
        prior_stage=np.array([stage_keys.get(r[2], -1) for r in rows], np.int64),
        prior_entered_us=_to_us([r[3] for r in rows]),
        prior_armed=armed,
        prior_episode=episode,
        prior_primed=primed,
        event_row=e_row.astype(np.int64),
        event_us=event_us,
        event_shape=local.astype(np.int64).reshape(-1),
        shapes=[shapes.shapes[i] for i in used.tolist()],
    )
    return batch, np.array([bool(r[4]) for r in rows], bool)


def merged_fields(
    fields: Mapping[str, Any] | None, crm: Mapping[str, Any] | None
) -> dict[str, Any]:
    """What fit rules see: Mautic field aliases plus ``crm.<name>`` for each CRM field."""
    merged = dict(fields or {})
    merged.update({f"{CRM_PREFIX}{k}": v for k, v in (crm or {}).items()})
    return merged


@dataclass(frozen=True)
class EngineInput:
    """Everything the pure engine needs for one contact."""

    events: list[ScoringEvent]
    facts: ContactFacts
    prior: PriorState


def load_engine_inputs(conn: Connection, contact_ids: Sequence[int]) -> dict[int, EngineInput]:
    """Full inputs (events with their keys, all fields, prior state) for a few contacts."""
    ids = list(contact_ids)
    if not ids:
        return {}
    c, e, t = Contact.__table__, Event.__table__, StateRow.__table__  # type: ignore[attr-defined]
    events: dict[int, list[ScoringEvent]] = {i: [] for i in ids}
    for row in conn.execute(sa.select(e).where(e.c.contact_id.in_(ids))):
        events[row.contact_id].append(
            ScoringEvent(
                key=f"{row.source}:{row.stream}:{row.external_id}",
                kind=row.kind,
                occurred_at=row.occurred_at,
                attributes=row.attributes or {},
            )
        )
    states: dict[int, dict[str, TriggerState]] = {i: {} for i in ids}
    for row in conn.execute(sa.select(t).where(t.c.contact_id.in_(ids))):
        states[row.contact_id][row.trigger_id] = TriggerState(row.armed, row.episode, row.primed)
    out: dict[int, EngineInput] = {}
    for row in conn.execute(sa.select(c).where(c.c.id.in_(ids))):
        out[row.id] = EngineInput(
            events=events[row.id],
            facts=ContactFacts(
                row.id, merged_fields(row.fields, row.crm_fields), row.last_activity_at
            ),
            prior=PriorState(row.stage, row.stage_entered_at, states[row.id]),
        )
    return out
