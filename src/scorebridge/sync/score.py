"""Rescoring over the store (DESIGN §1 "score", §5): which contacts, in chunks, saved in bulk.

Owns: :func:`rescore` (the contacts flagged ``rescore_needed`` by the pull; everyone for the
daily decay/inactivity sweep, and whenever the rule-set version differs from the one recorded in
the cursor ``("scoring", "rule_version")`` after the last complete rescore), one write
transaction per chunk of contacts that reads their event digests (``store.digests``; checked
against the event rows, and rebuilt where stale, for flagged contacts always and for everyone
when the digests do not add up to the event rows) and state, scores them with
:mod:`scoring.batch` (the pure engine for the few contacts the batch hands back), saves
``score`` rows (one per group plus ``group_key = "total"`` with the band; only for contacts
whose reported values, band or rule version changed), the stage, changed ``trigger_state``
rows, clears the flag, and enqueues every fired trigger action into the outbox with the
idempotency key ``"{trigger}:{contact}:{episode}"`` (``":{n}"`` appended, the action's index,
when a trigger has several actions; the payload carries the total and band the trigger saw,
the qualifying pre-reset values in the run that enters a ``reset_score`` stage). With
``notify_existing=False`` a contact scored for the first time (no score and no trigger_state
rows) records the triggers that hold as fired but enqueues none of their actions, so the first
sync of an existing Mautic does not flood sales. And :func:`adjust`, the manual adjustment (an
``event`` of kind ``manual``, appended to the contact's digest).
Must not: read the clock (``as_of``/``now`` come in), talk to remote systems, or plan writes.
"""

from __future__ import annotations

import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import datetime
from itertools import repeat
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from scorebridge.crashpoints import crash_point
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
from scorebridge.store import cursors, digests, outbox
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
    silenced: int = 0
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
            "silenced": self.silenced,
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
    notify_existing: bool = False,
) -> RescoreReport:
    """Rescore flagged contacts (or ``all``) at ``as_of``; one transaction per chunk.

    ``notify_existing`` (``[scoring] notify_existing``): whether triggers that already hold when
    a contact is scored for the first time enqueue their actions (else they only count as fired).
    """
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware (UTC)")
    with store.read() as conn:
        applied = cursors.get(conn, *RULES_CURSOR)
        new_rules = applied != rules.version
        ids = contacts_to_rescore(conn, everyone=all or new_rules)
        verify = not (all or new_rules) or not digests.all_fresh(conn)
    mode = "all" if all else "new-rules" if new_rules else "changed"
    report = RescoreReport(mode, rules.version, as_of)
    shapes = ShapeCache()
    for start in range(0, len(ids), chunk_size):
        with store.write() as conn:
            chunk = ids[start : start + chunk_size]
            _rescore_chunk(
                conn, chunk, rules, as_of, shapes, report, verify=verify, notify=notify_existing
            )
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
    *,
    verify: bool,
    notify: bool,
) -> None:
    batch, flagged = load_batch(conn, ids, rules, shapes, verify=verify)
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
    if not notify and result.fired:
        report.silenced += _silence_first_scores(conn, batch, result)
    _save_scores(conn, batch, result, rules, as_of)
    crash_point("rescore.inside_transaction")
    report.stage_changes += _save_contacts(conn, batch, result, flagged, rules, as_of)
    _save_triggers(conn, batch, result, rules, as_of)
    report.fired += len(result.fired)
    report.enqueued += outbox.enqueue(conn, _operations(batch, result, rules), now=as_of)
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
    """Upsert every score row, rewriting only rows whose value, band or rule version changed;
    then the total row of every contact with a rewritten row gets ``computed_at = as_of``.

    A contact whose stored rows already say the same keeps them (``computed_at`` and ``exact``
    stay those of the row's last real change), so the planner, which compares the total row's
    ``computed_at`` with its last plan, sees only real changes.
    """
    keys = [*rules.groups, TOTAL]
    values = np.column_stack([result.group_values, result.total_value])
    exact = np.column_stack([result.groups, result.total])
    computed = _driver_value(conn, _score.c.computed_at, as_of)
    n = len(batch.contact_ids)
    sqlite = conn.dialect.name == "sqlite"
    differs = "IS NOT" if sqlite else "IS DISTINCT FROM"
    upsert = (
        " ON CONFLICT (contact_id, group_key) DO UPDATE SET"
        " value = excluded.value, exact = excluded.exact, band = excluded.band,"
        " rule_version = excluded.rule_version, computed_at = excluded.computed_at"
        f" WHERE score.value {differs} excluded.value OR score.band {differs} excluded.band"
        f" OR score.rule_version {differs} excluded.rule_version"
    )
    columns = (
        "INSERT INTO score (contact_id, group_key, value, exact, band, rule_version, computed_at)"
    )
    cur = digests.dbapi_cursor(conn)
    if sqlite:
        # One statement per contact inserting all its rows: a fifth of the steps and bindings.
        cur.executemany(
            f"{columns}{_contact_rows_sql(keys)}{upsert}",
            _contact_rows(batch, values, exact, result.band, rules.version, computed),
        )
    else:
        nones = [None] * len(rules.groups)
        cur.executemany(
            f"{columns} VALUES (%s, %s, %s, %s, %s, %s, %s){upsert}",
            list(
                zip(
                    np.repeat(batch.contact_ids, len(keys)).tolist(),
                    keys * n,
                    values.ravel().tolist(),
                    exact.ravel().tolist(),
                    [b for band in result.band for b in (*nones, band)],
                    repeat(rules.version),
                    repeat(computed),
                )
            ),
        )
    mark = "?" if sqlite else "%s"
    if 0 < cur.rowcount < n * len(keys) or cur.rowcount < 0:
        # Some of a contact's rows may have changed while its total did not: the planner
        # looks at the total row's computed_at, so bump it for every contact with a change.
        where, params = digests.where_ids(conn, "contact_id", batch.contact_ids)
        cur.execute(
            f"SELECT DISTINCT contact_id FROM score WHERE {where} AND computed_at = {mark}",
            (*params, computed),
        )
        _executemany(
            conn,
            f"UPDATE score SET computed_at = ? WHERE contact_id = ? AND group_key = '{TOTAL}'"
            f" AND computed_at {differs} ?",
            [(computed, cid, computed) for (cid,) in cur.fetchall()],
        )
    ids = batch.contact_ids.tolist()
    lo, hi = ids[0], ids[-1]
    dense = hi - lo + 1 <= 2 * len(ids)
    scope = _score.c.contact_id.between(lo, hi) if dense else _score.c.contact_id.in_(ids)
    conn.execute(sa.delete(_score).where(scope, _score.c.group_key.not_in(keys)))


def _contact_rows_sql(keys: list[str]) -> str:
    """``SELECT`` of one contact's score rows from numbered parameters (see _contact_rows)."""
    last = 2 * len(keys) + 2
    quoted = ["'" + key.replace("'", "''") + "'" for key in keys]
    parts = [
        f"SELECT {q} AS k, ?{2 * i + 2} AS v, ?{2 * i + 3} AS e,"
        f" {f'?{last}' if key == TOTAL else 'NULL'} AS b"
        for i, (key, q) in enumerate(zip(keys, quoted, strict=True))
    ]
    return (
        f" SELECT ?1, k, v, e, b, ?{last + 1}, ?{last + 2} FROM ({' UNION ALL '.join(parts)})"
        " WHERE true"
    )


def _contact_rows(
    batch: BatchInput, values: Any, exact: Any, bands: list[str], version: str, computed: Any
) -> Iterator[tuple[Any, ...]]:
    """Per contact: id, (value, exact) per key, band, rule version, computed_at."""
    pairs = [column for i in range(values.shape[1]) for column in (values[:, i], exact[:, i])]
    return zip(
        batch.contact_ids.tolist(),
        *[column.tolist() for column in pairs],
        bands,
        repeat(version),
        repeat(computed),
    )


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
    changed = np.flatnonzero(moved)
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
    ids = batch.contact_ids
    if len(ids) and int(ids[-1]) - int(ids[0]) + 1 == len(ids):
        # Every contact of the id range is in this batch (a full rescore): one statement.
        _executemany(
            conn,
            f"UPDATE contact SET rescore_needed = {false}"
            f" WHERE id BETWEEN ? AND ? AND rescore_needed <> {false}",
            [(int(ids[0]), int(ids[-1]))],
        )
    else:
        cleared = ids[flagged & ~moved].tolist()
        _executemany(
            conn,
            f"UPDATE contact SET rescore_needed = {false} WHERE id = ?",
            [(c,) for c in cleared],
        )
    return int(moved.sum())


def _save_triggers(
    conn: Connection, batch: BatchInput, result: BatchResult, rules: CompiledRules, as_of: datetime
) -> None:
    if not rules.triggers:
        return
    # A trigger without ``only_after`` is primed whatever its stored flag says: a row that would
    # differ from the prior state only in that flag is not worth writing (millions, first run).
    always_primed = np.array([t.only_after is None for t in rules.triggers], bool)
    changed = (
        (result.armed != batch.prior_armed)
        | (result.episode != batch.prior_episode)
        | ((result.primed != batch.prior_primed) & ~always_primed)
    )
    fired_at = _driver_value(conn, _state.c.fired_at, as_of)
    rows_at, cols = np.nonzero(changed)
    ids = [t.id for t in rules.triggers]
    fired = result.episode[rows_at, cols] > batch.prior_episode[rows_at, cols]
    rows = list(
        zip(
            batch.contact_ids[rows_at].tolist(),
            [ids[j] for j in cols.tolist()],
            result.armed[rows_at, cols].tolist(),
            result.episode[rows_at, cols].tolist(),
            result.primed[rows_at, cols].tolist(),
            [fired_at if f else None for f in fired.tolist()],
            strict=True,
        )
    )
    _executemany(
        conn,
        "INSERT INTO trigger_state (contact_id, trigger_id, armed, episode, primed, fired_at)"
        " VALUES (?, ?, ?, ?, ?, ?) ON CONFLICT (contact_id, trigger_id) DO UPDATE SET"
        " armed = excluded.armed, episode = excluded.episode, primed = excluded.primed,"
        " fired_at = COALESCE(excluded.fired_at, trigger_state.fired_at)",
        rows,
    )


def _silence_first_scores(conn: Connection, batch: BatchInput, result: BatchResult) -> int:
    """Drop the fired triggers of contacts scored for the first time; returns how many.

    Their trigger states still record the firing (episode 1, disarmed), so they re-arm and fire
    normally on the next real crossing. Must run before this chunk saves scores or states.
    """
    rows = sorted({row for row, _ in result.fired})
    ids = [int(batch.contact_ids[r]) for r in rows]
    known: set[int] = set()
    for table in (_score, _state):
        for start in range(0, len(ids), 10_000):
            part = ids[start : start + 10_000]
            query = sa.select(table.c.contact_id).where(table.c.contact_id.in_(part)).distinct()
            known.update(conn.execute(query).scalars())
    kept = [(row, f) for row, f in result.fired if int(batch.contact_ids[row]) in known]
    silenced = len(result.fired) - len(kept)
    result.fired = kept
    return silenced


def _operations(
    batch: BatchInput, result: BatchResult, rules: CompiledRules
) -> list[outbox.NewOperation]:
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
                        "total": fired.total,
                        "band": rules.band_of(fired.total),
                        "before_reset": fired.total != int(result.total_value[row]),
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
        attributes = {"delta": points, "reason": reason, "group": group}
        conn.execute(
            insert(conn, _event).values(
                source="manual",
                stream="adjust",
                external_id=uuid.uuid4().hex,
                contact_id=contact_id,
                kind="manual",
                occurred_at=now,
                attributes=attributes,
            )
        )
        digests.append(conn, [digests.NewEvent(contact_id, now, "manual", attributes)])
        conn.execute(
            sa.update(_contact).where(_contact.c.id == contact_id).values(rescore_needed=True)
        )
    return contact_id
