"""Saving one rescored chunk (DESIGN §3, §5) inside its write transaction, in bulk.

Owns: the ``score`` rows (one per topic group, ``group_key = "stage_score"`` and
``group_key = "total"`` with the band; rewritten
only where the value, band or rule version changed, and the total row's ``computed_at`` bumped
for every contact with a rewritten row, which is what the planner looks at), the contacts' stage
and cleared ``rescore_needed`` flag, changed ``trigger_state`` rows, the outbox operations of
fired triggers (idempotency key ``"{trigger}:{contact}:{episode}"``, ``":{n}"`` appended when a
trigger has several actions), and silencing the triggers of contacts scored for the first time.
Must not: score, read the clock, or talk to remote systems.
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime
from itertools import repeat
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from scorebridge.scoring.batch import NO_TIME, BatchInput, BatchResult, from_us, to_us
from scorebridge.scoring.matchers import CompiledRules
from scorebridge.store import digests, outbox
from scorebridge.store.tables import (
    STAGE_SCORE_KEY,
    TOTAL_KEY,
    Contact,
    Score,
    StageEntry,
    TriggerState,
)
from scorebridge.sync.score_load import Bools

_score = Score.__table__  # type: ignore[attr-defined]
_state = TriggerState.__table__  # type: ignore[attr-defined]
_contact = Contact.__table__  # type: ignore[attr-defined]
_entry = StageEntry.__table__  # type: ignore[attr-defined]


def _driver_value(conn: Connection, column: sa.Column[Any], value: Any) -> Any:
    """``value`` as the driver receives it for ``column`` (bind processing done once)."""
    processor = column.type.dialect_impl(conn.dialect).bind_processor(conn.dialect)
    return processor(value) if processor else value


def _executemany(conn: Connection, sql: str, rows: list[tuple[Any, ...]]) -> None:
    if rows:
        mark = "?" if conn.dialect.name == "sqlite" else "%s"
        conn.exec_driver_sql(sql.replace("?", mark), rows)


def save_scores(
    conn: Connection, batch: BatchInput, result: BatchResult, rules: CompiledRules, as_of: datetime
) -> None:
    """Upsert every score row, rewriting only rows whose value, band or rule version changed;
    then the total row of every contact with a rewritten row gets ``computed_at = as_of``.

    A contact whose stored rows already say the same keeps them (``computed_at`` and ``exact``
    stay those of the row's last real change), so the planner, which compares the total row's
    ``computed_at`` with its last plan, sees only real changes.
    """
    keys = [*rules.groups, STAGE_SCORE_KEY, TOTAL_KEY]
    values = np.column_stack([result.group_values, result.stage_score_value, result.total_value])
    exact = np.column_stack([result.groups, result.stage_score, result.total])
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
        nones = [None] * (len(keys) - 1)
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
            f"UPDATE score SET computed_at = ? WHERE contact_id = ? AND group_key = '{TOTAL_KEY}'"
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
        f" {f'?{last}' if key == TOTAL_KEY else 'NULL'} AS b"
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


def save_contacts(
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


def save_triggers(
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


def silence_first_scores(
    conn: Connection, batch: BatchInput, result: BatchResult, first_sync: datetime | None
) -> list[tuple[int, str]]:
    """Drop the fired triggers that are no news: every one while the store's first complete
    Mautic pull has not been scored yet (``first_sync`` None: scores still stand on part of the
    history), then those of contacts scored for the first time that existed before it.
    Returns the ``(contact id, trigger id)`` pairs silenced.

    Their trigger states still record the firing (episode 1, disarmed, ``silenced``), so they
    re-arm and fire normally on the next real crossing. A contact that appeared after the first
    completed sync is a new lead: its first crossings fire. Must run before this chunk saves
    scores or states.
    """
    if first_sync is None:  # the store does not hold all of Mautic yet: nothing is news
        silenced = [(int(batch.contact_ids[row]), f.trigger_id) for row, f in result.fired]
        result.fired = []
        return silenced
    rows = sorted({row for row, _ in result.fired})
    ids = [int(batch.contact_ids[r]) for r in rows]
    known: set[int] = set()
    for table in (_score, _state):
        for start in range(0, len(ids), 10_000):
            part = ids[start : start + 10_000]
            query = sa.select(table.c.contact_id).where(table.c.contact_id.in_(part)).distinct()
            known.update(conn.execute(query).scalars())
    new_leads: set[int] = set()
    for start in range(0, len(ids), 10_000):
        part = ids[start : start + 10_000]
        query = sa.select(_contact.c.id).where(
            _contact.c.id.in_(part), _contact.c.created_at > first_sync
        )
        new_leads.update(conn.execute(query).scalars())
    kept, silenced = [], []
    for row, fired in result.fired:
        contact_id = int(batch.contact_ids[row])
        if contact_id in known or contact_id in new_leads:
            kept.append((row, fired))
        else:
            silenced.append((contact_id, fired.trigger_id))
    result.fired = kept
    return silenced


def mark_silenced(conn: Connection, silenced: list[tuple[int, str]]) -> None:
    """Record that these triggers' first episodes fired without actions (after save_triggers)."""
    true = "1" if conn.dialect.name == "sqlite" else "true"
    _executemany(
        conn,
        f"UPDATE trigger_state SET silenced = {true} WHERE contact_id = ? AND trigger_id = ?",
        silenced,
    )


def save_stage_entries(
    conn: Connection, batch: BatchInput, result: BatchResult, rules: CompiledRules, as_of: datetime
) -> None:
    """One ``stage_entry`` row per contact that entered a stage in this run, with its score."""
    as_us = to_us(as_of)
    entered = np.flatnonzero((result.stage >= 0) & (result.stage_entered_us == as_us)
                             & (result.stage != batch.prior_stage))  # fmt: skip
    keys = [s.key for s in rules.stages]
    at = _driver_value(conn, _entry.c.entered_at, as_of)
    _executemany(
        conn,
        "INSERT INTO stage_entry (contact_id, stage, entered_at, score) VALUES (?, ?, ?, ?)"
        " ON CONFLICT (contact_id, stage, entered_at) DO NOTHING",
        [
            (int(batch.contact_ids[r]), keys[int(result.stage[r])], at, int(result.total_value[r]))
            for r in entered.tolist()
        ],  # fmt: skip
    )


def operations(
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
                        "params": params,
                    },
                    contact_id=contact_id,
                )
            )
    return ops
