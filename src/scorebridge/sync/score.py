"""Rescoring over the store (DESIGN §1 "score", §5): which contacts, in chunks, saved in bulk.

Owns: :func:`rescore` (the contacts flagged ``rescore_needed`` by the pull; everyone for the
daily decay/inactivity sweep, and whenever the rule-set version differs from the one recorded in
the cursor ``("scoring", "rule_version")`` after the last complete rescore), one write
transaction per chunk of contacts that reads their events and state, scores them with
:mod:`scoring.batch` (the pure engine for the few contacts the batch hands back), saves
``score`` rows (one per group plus ``group_key = "total"`` with the band), the stage, changed
``trigger_state`` rows, clears the flag, and enqueues every fired trigger action into the outbox
with the idempotency key ``"{trigger}:{contact}:{episode}"`` (``":{n}"`` appended, the action's
index, when a trigger has several actions); and :func:`adjust`, the manual adjustment (an
``event`` of kind ``manual``).
Must not: read the clock (``as_of``/``now`` come in), talk to remote systems, or plan writes.
"""

from __future__ import annotations

import uuid
from collections import Counter
from dataclasses import dataclass, field
from datetime import datetime
from itertools import repeat
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from scorebridge.scoring.batch import (
    NO_TIME,
    BatchInput,
    BatchResult,
    from_us,
    score_batch,
    to_us,
)
from scorebridge.scoring.engine import score
from scorebridge.scoring.matchers import CompiledRules
from scorebridge.store import cursors, outbox
from scorebridge.store.engine import Store, insert
from scorebridge.store.tables import Contact, Event, Score, TriggerState
from scorebridge.sync.leads import find_contact
from scorebridge.sync.score_load import (
    I64,
    Bools,
    ShapeCache,
    contacts_to_rescore,
    load_batch,
    load_engine_inputs,
)

TOTAL = "total"
DEFAULT_CHUNK = 20_000
#: The rule-set version every stored score was computed with; a new version rescores everyone.
RULES_CURSOR = ("scoring", "rule_version")
_score = Score.__table__  # type: ignore[attr-defined]
_state = TriggerState.__table__  # type: ignore[attr-defined]
_contact = Contact.__table__  # type: ignore[attr-defined]
_event = Event.__table__  # type: ignore[attr-defined]


@dataclass
class RescoreReport:
    """What one rescore did."""

    mode: str
    rule_version: str
    as_of: datetime
    contacts: int = 0
    chunks: int = 0
    pure_engine: int = 0
    stage_changes: int = 0
    fired: int = 0
    enqueued: int = 0
    bands: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        """The report as plain JSON-ready data."""
        return {
            "mode": self.mode,
            "rule_version": self.rule_version,
            "as_of": self.as_of.isoformat(),
            "contacts": self.contacts,
            "chunks": self.chunks,
            "pure_engine": self.pure_engine,
            "stage_changes": self.stage_changes,
            "fired": self.fired,
            "enqueued": self.enqueued,
            "bands": dict(sorted(self.bands.items())),
        }


def rescore(
    store: Store,
    rules: CompiledRules,
    as_of: datetime,
    *,
    all: bool = False,  # noqa: A002 - the CLI flag's name
    chunk_size: int = DEFAULT_CHUNK,
) -> RescoreReport:
    """Rescore flagged contacts (or ``all``) at ``as_of``; one transaction per chunk."""
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware (UTC)")
    with store.read() as conn:
        applied = cursors.get(conn, *RULES_CURSOR)
        new_rules = applied != rules.version
        ids = contacts_to_rescore(conn, everyone=all or new_rules)
    mode = "all" if all else "new-rules" if new_rules else "changed"
    report = RescoreReport(mode, rules.version, as_of)
    shapes = ShapeCache()
    for start in range(0, len(ids), chunk_size):
        with store.write() as conn:
            _rescore_chunk(conn, ids[start : start + chunk_size], rules, as_of, shapes, report)
        report.chunks += 1
    if new_rules:
        with store.write() as conn:
            cursors.set(conn, *RULES_CURSOR, rules.version, as_of)
    return report


def _rescore_chunk(
    conn: Connection,
    ids: I64,
    rules: CompiledRules,
    as_of: datetime,
    shapes: ShapeCache,
    report: RescoreReport,
) -> None:
    batch, flagged = load_batch(conn, ids, rules, shapes)
    if not len(batch.contact_ids):
        return
    result = score_batch(batch, rules, as_of)
    pending = np.flatnonzero(result.fallback).tolist()
    if pending:
        inputs = load_engine_inputs(conn, [int(batch.contact_ids[r]) for r in pending])
        for row in pending:
            one = inputs[int(batch.contact_ids[row])]
            result.put(
                row, score(one.events, one.facts, rules, as_of, one.prior, with_ledger=False), rules
            )
        report.pure_engine += len(pending)
    _save_scores(conn, batch, result, rules, as_of)
    report.stage_changes += _save_contacts(conn, batch, result, flagged, rules, as_of)
    _save_triggers(conn, batch, result, rules, as_of)
    report.fired += len(result.fired)
    report.enqueued += outbox.enqueue(conn, _operations(batch, result), now=as_of)
    report.contacts += len(batch.contact_ids)
    report.bands.update(result.band)


def _driver_value(conn: Connection, column: sa.Column[Any], value: Any) -> Any:
    """``value`` as the driver receives it for ``column`` (bind processing done once)."""
    processor = column.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    return processor(value) if processor else value


def _executemany(conn: Connection, sql: str, rows: list[tuple[Any, ...]]) -> None:
    if rows:
        mark = "?" if conn.dialect.name == "sqlite" else "%s"
        conn.exec_driver_sql(sql.replace("?", mark), rows)


def _save_scores(
    conn: Connection, batch: BatchInput, result: BatchResult, rules: CompiledRules, as_of: datetime
) -> None:
    computed = _driver_value(conn, _score.c.computed_at, as_of)
    version = rules.version
    ids = batch.contact_ids.tolist()
    rows: list[tuple[Any, ...]] = []
    for g, group in enumerate(rules.groups):
        values, exact = result.group_values[:, g].tolist(), result.groups[:, g].tolist()
        rows.extend(
            zip(ids, repeat(group), values, exact, repeat(None), repeat(version), repeat(computed))
        )
    totals, exact_totals = result.total_value.tolist(), result.total.tolist()
    rows.extend(
        zip(
            ids, repeat(TOTAL), totals, exact_totals, result.band, repeat(version), repeat(computed)
        )
    )
    _executemany(
        conn,
        "INSERT INTO score (contact_id, group_key, value, exact, band, rule_version, computed_at)"
        " VALUES (?, ?, ?, ?, ?, ?, ?) ON CONFLICT (contact_id, group_key) DO UPDATE SET"
        " value = excluded.value, exact = excluded.exact, band = excluded.band,"
        " rule_version = excluded.rule_version, computed_at = excluded.computed_at",
        rows,
    )
    keys = [*rules.groups, TOTAL]
    lo, hi = int(batch.contact_ids[0]), int(batch.contact_ids[-1])
    dense = hi - lo + 1 <= 2 * len(ids)
    chunk = _score.c.contact_id.between(lo, hi) if dense else _score.c.contact_id.in_(ids)
    conn.execute(sa.delete(_score).where(chunk, _score.c.group_key.not_in(keys)))


def _save_contacts(
    conn: Connection,
    batch: BatchInput,
    result: BatchResult,
    flagged: Bools,
    rules: CompiledRules,
    as_of: datetime,
) -> int:
    moved = (result.stage != batch.prior_stage) | (
        result.stage_entered_us != np.where(batch.prior_stage >= 0, batch.prior_entered_us, NO_TIME)
    )
    changed = np.flatnonzero(moved | flagged)
    keys = [s.key for s in rules.stages]
    entered_col = _contact.c.stage_entered_at
    as_of_value = _driver_value(conn, entered_col, as_of)
    as_us = to_us(as_of)
    rows: list[tuple[Any, ...]] = []
    for row in changed.tolist():
        stage = int(result.stage[row])
        entered_us = int(result.stage_entered_us[row])
        if entered_us == as_us:
            entered = as_of_value
        elif entered_us == NO_TIME:
            entered = None
        else:
            entered = _driver_value(conn, entered_col, from_us(entered_us))
        rows.append((keys[stage] if stage >= 0 else None, entered, int(batch.contact_ids[row])))
    false = "0" if conn.dialect.name == "sqlite" else "false"
    _executemany(
        conn,
        f"UPDATE contact SET stage = ?, stage_entered_at = ?, rescore_needed = {false}"
        " WHERE id = ?",
        rows,
    )
    return int(moved.sum())


def _save_triggers(
    conn: Connection, batch: BatchInput, result: BatchResult, rules: CompiledRules, as_of: datetime
) -> None:
    if not rules.triggers:
        return
    changed = (
        (result.armed != batch.prior_armed)
        | (result.episode != batch.prior_episode)
        | (result.primed != batch.prior_primed)
    )
    fired_at = _driver_value(conn, _state.c.fired_at, as_of)
    rows = [
        (
            int(batch.contact_ids[r]),
            rules.triggers[j].id,
            bool(result.armed[r, j]),
            int(result.episode[r, j]),
            bool(result.primed[r, j]),
            fired_at if result.episode[r, j] > batch.prior_episode[r, j] else None,
        )
        for r, j in zip(*np.nonzero(changed), strict=True)
    ]
    _executemany(
        conn,
        "INSERT INTO trigger_state (contact_id, trigger_id, armed, episode, primed, fired_at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (contact_id, trigger_id) DO UPDATE SET"
        " armed = excluded.armed, episode = excluded.episode, primed = excluded.primed,"
        " fired_at = COALESCE(excluded.fired_at, trigger_state.fired_at)",
        rows,
    )


def _operations(batch: BatchInput, result: BatchResult) -> list[outbox.NewOperation]:
    ops: list[outbox.NewOperation] = []
    for row, fired in result.fired:
        contact_id = int(batch.contact_ids[row])
        several = len(fired.actions) > 1
        for n, action in enumerate(fired.actions):
            params = dict(action)
            do = str(params.pop("do"))
            ops.append(
                outbox.NewOperation(
                    idempotency_key=f"{fired.idempotency_key}:{n}"
                    if several
                    else fired.idempotency_key,
                    system=do.split(".", 1)[0],
                    op=do,
                    payload={
                        "trigger_id": fired.trigger_id,
                        "episode": fired.episode,
                        "value": fired.value,
                        "total": int(result.total_value[row]),
                        "band": result.band[row],
                        "params": params,
                    },
                    contact_id=contact_id,
                )
            )
    return ops


def adjust(
    store: Store,
    contact: str,
    points: float,
    reason: str,
    group: str | None,
    *,
    now: datetime,
) -> int:
    """Record a manual adjustment of ``contact`` (Mautic id or e-mail); returns the contact id.

    The adjustment is an ``event`` (source ``manual``, stream ``adjust``, kind ``manual``) with
    ``delta``, ``reason`` and ``group`` in its attributes; the contact is flagged for rescoring.
    """
    if not reason.strip():
        raise ValueError("a manual adjustment needs a reason")
    with store.write() as conn:
        contact_id = find_contact(conn, contact).id
        conn.execute(
            insert(conn, _event).values(
                source="manual",
                stream="adjust",
                external_id=uuid.uuid4().hex,
                contact_id=contact_id,
                kind="manual",
                occurred_at=now,
                attributes={"delta": points, "reason": reason, "group": group},
            )
        )
        conn.execute(
            sa.update(_contact).where(_contact.c.id == contact_id).values(rescore_needed=True)
        )
    return contact_id
