"""Reading what rescoring needs from the store, in bulk, for one chunk of contacts at a time.

Owns: selecting the contacts to rescore, and turning a chunk of contact ids into a
:class:`~scorebridge.scoring.batch.BatchInput` (each contact's events from its packed digest,
``store.digests``, pointing at distinct ``(kind, attributes)`` shapes; fit fields; prior stage
and trigger state) with a few set-based reads on the DB-API cursor (no per-row ORM objects, no
per-event rows: 20 million events must load in seconds, not minutes). Also the full per-contact
inputs of the pure engine (events with their keys, from ``event`` rows) for the contacts bulk
scoring hands back and for ``explain``.
Must not: score, write anything but stale digests (rebuilt from ``event`` rows), or read the
clock.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import timedelta
from typing import Any

import numpy as np
import numpy.typing as npt
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from scorebridge.errors import StateError
from scorebridge.scoring.batch import BatchInput, EventShape, FieldColumns, fresh_triggers
from scorebridge.scoring.batch_shapes import EPOCH
from scorebridge.scoring.matchers import CompiledRules
from scorebridge.scoring.model import ContactFacts, PriorState, ScoringEvent, TriggerState
from scorebridge.store import digests
from scorebridge.store.tables import Contact
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
    cur = digests.dbapi_cursor(conn)
    cur.execute(sql + " ORDER BY id")
    return np.fromiter((r[0] for r in cur), np.int64)


def _true(conn: Connection) -> str:
    return "1" if conn.dialect.name == "sqlite" else "true"


def _false(conn: Connection) -> str:
    return "0" if conn.dialect.name == "sqlite" else "false"


def _json(value: Any) -> Any:
    return json.loads(value) if isinstance(value, str | bytes) else value


class ShapeCache:
    """The ``event_shape`` rows seen so far in one rescore, each parsed once."""

    def __init__(self) -> None:
        self._local = np.full(1, -1, np.int64)
        self.shapes: list[EventShape] = []

    def local(self, conn: Connection, shape_ids: I64) -> I64:
        """The index into :attr:`shapes` of each stored shape id (reading new ones)."""
        if not len(shape_ids):
            return shape_ids
        top = int(shape_ids.max())
        if top >= len(self._local):
            grown = np.full(max(top + 1, 2 * len(self._local)), -1, np.int64)
            grown[: len(self._local)] = self._local
            self._local = grown
        missing = np.unique(shape_ids[self._local[shape_ids] < 0])
        if len(missing):
            cur = digests.dbapi_cursor(conn)
            where, params = digests.where_ids(conn, "id", missing)
            cur.execute(f"SELECT id, kind, attributes FROM event_shape WHERE {where}", params)
            for sid, kind, text in cur.fetchall():
                if self._local[sid] < 0:
                    attrs = _json(text)
                    self._local[sid] = len(self.shapes)
                    self.shapes.append(EventShape(kind, attrs if isinstance(attrs, dict) else {}))
            if (self._local[missing] < 0).any():
                raise StateError("event digests name unknown event shapes; run rescore --all")
        found: I64 = self._local[shape_ids]
        return found


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
    conn: Connection, ids: I64, rules: CompiledRules, shapes: ShapeCache, *, verify: bool = False
) -> tuple[BatchInput, Bools]:
    """The batch input for contacts ``ids`` (ascending) and their ``rescore_needed`` flags.

    With ``verify``, digests that do not count their contact's event rows are rebuilt first
    (needs a write transaction).
    """
    if verify:
        digests.rebuild(conn, digests.stale(conn, ids))
    where, params = digests.where_ids(conn, "id", ids)
    names = fit_fields(rules)
    sqlite = conn.dialect.name == "sqlite"
    extra = "".join(f", {_field_sql(conn, n)}" for n in names) if sqlite else ", fields, crm_fields"
    cur = digests.dbapi_cursor(conn)
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
        texts = {name: [r[5 + j] for r in rows] for j, name in enumerate(names)}
        fields = FieldColumns.from_json(n, texts)
    else:
        fields = FieldColumns.from_rows([merged_fields(_json(r[5]), _json(r[6])) for r in rows])
    stage_keys = {s.key: s.index for s in rules.stages}
    armed, episode, primed = fresh_triggers(n, rules)
    position = {int(c): i for i, c in enumerate(contact_ids.tolist())}
    trigger_col = {t.id: j for j, t in enumerate(rules.triggers)}
    where_t, params_t = digests.where_ids(conn, "contact_id", ids)
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

    packed = digests.read(conn, contact_ids)
    e_row = np.repeat(np.searchsorted(contact_ids, packed.contact_ids), packed.counts)
    shape_ids = shapes.local(conn, packed.shape_ids)
    used, local = np.unique(shape_ids, return_inverse=True)
    batch = BatchInput(
        contact_ids=contact_ids,
        fields=fields,
        last_activity_us=digests.stored_us([r[1] for r in rows]),
        prior_stage=np.array([stage_keys.get(r[2], -1) for r in rows], np.int64),
        prior_entered_us=digests.stored_us([r[3] for r in rows]),
        prior_armed=armed,
        prior_episode=episode,
        prior_primed=primed,
        event_row=e_row.astype(np.int64),
        event_us=packed.occurred_us,
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
    c, t = Contact.__table__, StateRow.__table__  # type: ignore[attr-defined]
    events: dict[int, list[ScoringEvent]] = {i: [] for i in ids}
    cur = digests.dbapi_cursor(conn)
    where, params = digests.where_ids(conn, "contact_id", np.array(sorted(set(ids)), np.int64))
    cur.execute(
        "SELECT contact_id, source, stream, external_id, kind, occurred_at, attributes"
        f" FROM event WHERE {where} ORDER BY id",
        params,
    )
    rows = [r for r in cur.fetchall() if r[0] in events]
    parsed: dict[Any, Any] = {}
    for row, us in zip(rows, digests.stored_us([r[5] for r in rows]).tolist(), strict=True):
        raw = row[6]
        if isinstance(raw, str):
            attrs = parsed.get(raw)
            if attrs is None:
                attrs = parsed[raw] = json.loads(raw)
        else:
            attrs = raw
        events[row[0]].append(
            ScoringEvent(
                key=f"{row[1]}:{row[2]}:{row[3]}",
                kind=row[4],
                occurred_at=EPOCH + timedelta(microseconds=us),
                attributes=attrs or {},
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
