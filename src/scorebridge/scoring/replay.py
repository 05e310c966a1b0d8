"""Replaying stored history through the production scorer, snapshot by snapshot (DESIGN §5.1).

Owns: :func:`replay_chunk`, which scores one chunk of contacts with :func:`scoring.batch.
score_batch` (the pure engine for the rows the batch hands back, as a rescore does) at each
snapshot instant, carrying the stage and trigger state of one snapshot into the next, and
:func:`chunk_history` / :func:`outcomes`, the rule-independent facts a backtest needs: when each
contact was first active and when it won a deal, hence who counts at a snapshot and who won
within the window after it. Must not: read the store or the clock, enqueue or write anything.

Replay semantics, decided here:
- a snapshot scores every event at or before its instant (decay, expiry, caps, inactivity as of
  that instant); fit rules see the contact fields as stored now (the store keeps no history of
  fields);
- the first snapshot starts from no stage and armed triggers, and what fires there is the state
  the contact already had (as ``notify_existing = false`` treats a first sync): it is recorded,
  never counted; later snapshots count every firing;
- the daemon steps a contact one stage per cycle, minutes apart; a snapshot repeats the step at
  the same instant until no stage changes, so weekly snapshots see the stages a running daemon
  would have reached (each extra step is another cycle: its triggers fire too);
- episodes between two snapshots are not seen (a score crossing up and down within one step
  fires at most once): counts of tasks and deals are a lower bound that tightens with ``every``.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, replace
from typing import Protocol

import numpy as np
import numpy.typing as npt

from scorebridge.scoring.batch import (
    NO_TIME,
    BatchInput,
    BatchResult,
    fresh_triggers,
    from_us,
    score_batch,
)
from scorebridge.scoring.batch_state import batch_rows
from scorebridge.scoring.engine import ACTIVITY_KINDS, score
from scorebridge.scoring.matchers import CompiledRules
from scorebridge.scoring.model import ContactFacts, PriorState, ScoringEvent, TriggerState

I64 = npt.NDArray[np.int64]
I32 = npt.NDArray[np.int32]
I8 = npt.NDArray[np.int8]
Bools = npt.NDArray[np.bool_]
WON = "crm.deal.won"


class EngineInput(Protocol):
    """What the pure engine needs for one contact (``sync.score_load.EngineInput`` has it)."""

    @property
    def events(self) -> list[ScoringEvent]:
        """Every stored event of the contact, with its key."""

    @property
    def facts(self) -> ContactFacts:
        """The contact's fields and last activity."""


#: Full engine inputs for a few contact ids (the rows bulk scoring hands back).
EngineInputs = Callable[[Sequence[int]], Mapping[int, EngineInput]]


@dataclass
class ChunkHistory:
    """Rule-independent facts of a chunk's contacts: first activity, won deals (close times)."""

    contact_ids: I64
    first_touch_us: I64
    won_row: I64
    won_us: I64


def chunk_history(batch: BatchInput) -> ChunkHistory:
    """First activity (the engine's activity kinds) and won deals of each contact of ``batch``."""
    kinds = np.array([s.kind for s in batch.shapes] + [""], dtype=object)
    kind = kinds[batch.event_shape]
    active = np.isin(kind, list(ACTIVITY_KINDS))
    first = np.full(len(batch.contact_ids), np.iinfo(np.int64).max, np.int64)
    np.minimum.at(first, batch.event_row[active], batch.event_us[active])
    first[first == np.iinfo(np.int64).max] = NO_TIME
    won = kind == WON
    return ChunkHistory(batch.contact_ids, first, batch.event_row[won], batch.event_us[won])


def outcomes(history: ChunkHistory, instants: I64, window_us: int) -> tuple[Bools, Bools]:
    """``(eligible, won)``, each ``(snapshots, contacts)``.

    Eligible at ``t``: active at or before ``t`` and no deal won at or before ``t`` (a customer is
    no longer a lead). Won: a deal won in ``(t, t + window]``.
    """
    n, s = len(history.contact_ids), len(instants)
    first_won = np.full(n, np.iinfo(np.int64).max, np.int64)
    np.minimum.at(first_won, history.won_row, history.won_us)
    touched = (history.first_touch_us != NO_TIME)[None, :] & (
        history.first_touch_us[None, :] <= instants[:, None]
    )
    eligible = touched & (first_won[None, :] > instants[:, None])
    # a deal closing at w labels the snapshots t with w - window <= t < w
    lo = np.searchsorted(instants, history.won_us - window_us, side="left")
    hi = np.searchsorted(instants, history.won_us, side="left")
    marks = np.zeros((s + 1, n), np.int32)
    np.add.at(marks, (lo, history.won_row), 1)
    np.add.at(marks, (hi, history.won_row), -1)
    won = np.cumsum(marks, axis=0)[:s] > 0
    return eligible, won & eligible


@dataclass
class ChunkReplay:
    """What the rules decided for a chunk at each snapshot (rows: snapshots, columns: contacts).

    ``band`` indexes ``[base_band, *bands]``; ``stage`` indexes ``rules.stages`` (-1: none).
    ``fired_*`` list every counted firing: snapshot index, contact column, trigger index.
    ``pure_engine`` counts the rows scored by the pure engine.
    """

    contact_ids: I64
    total: I32
    band: I8
    stage: I8
    fired_snapshot: I64
    fired_contact: I64
    fired_trigger: I64
    pure_engine: int


@dataclass
class _State:
    """The carried stage and trigger state of a chunk's contacts."""

    stage: I64
    entered: I64
    armed: Bools
    episode: I64
    primed: Bools

    def into(self, batch: BatchInput) -> BatchInput:
        return replace(
            batch,
            prior_stage=self.stage,
            prior_entered_us=self.entered,
            prior_armed=self.armed,
            prior_episode=self.episode,
            prior_primed=self.primed,
        )

    def take(self, rows: I64, result: BatchResult) -> None:
        self.stage[rows], self.entered[rows] = result.stage, result.stage_entered_us
        self.armed[rows], self.episode[rows] = result.armed, result.episode
        self.primed[rows] = result.primed


def _time_sorted(batch: BatchInput) -> BatchInput:
    order = np.argsort(batch.event_us, kind="stable")
    return replace(
        batch,
        event_row=batch.event_row[order],
        event_us=batch.event_us[order],
        event_shape=batch.event_shape[order],
    )


def _prior(batch: BatchInput, row: int, rules: CompiledRules) -> PriorState:
    stage = int(batch.prior_stage[row])
    triggers = {
        t.id: TriggerState(
            bool(batch.prior_armed[row, j]),
            int(batch.prior_episode[row, j]),
            bool(batch.prior_primed[row, j]),
        )
        for j, t in enumerate(rules.triggers)
    }
    return PriorState(
        rules.stages[stage].key if stage >= 0 else None,
        from_us(int(batch.prior_entered_us[row])),
        triggers,
    )


class _Scorer:
    """``score_batch`` plus the pure engine for the rows it hands back (inputs read once)."""

    def __init__(self, rules: CompiledRules, inputs: EngineInputs) -> None:
        self.rules = rules
        self.inputs = inputs
        self.known: dict[int, EngineInput] = {}
        self.pure = 0

    def __call__(self, batch: BatchInput, as_us: int) -> BatchResult:
        rules = self.rules
        as_of = from_us(as_us)
        assert as_of is not None
        result = score_batch(batch, rules, as_of)
        pending = np.flatnonzero(result.fallback).tolist()
        missing = [int(batch.contact_ids[r]) for r in pending]
        missing = [c for c in missing if c not in self.known]
        if missing:
            self.known.update(self.inputs(missing))
        for row in pending:
            one = self.known[int(batch.contact_ids[row])]
            prior = _prior(batch, row, rules)
            pure = score(one.events, one.facts, rules, as_of, prior, with_ledger=False)
            result.put(row, pure, rules)
        self.pure += len(pending)
        return result


def replay_chunk(
    batch: BatchInput, rules: CompiledRules, instants: I64, inputs: EngineInputs
) -> ChunkReplay:
    """Score ``batch``'s contacts at each instant (ascending, microseconds), state carried.

    ``batch`` may carry any prior state: the replay starts every contact fresh.
    """
    n, s = len(batch.contact_ids), len(instants)
    batch = _time_sorted(batch)
    armed, episode, primed = fresh_triggers(n, rules)
    state = _State(np.full(n, -1, np.int64), np.full(n, NO_TIME, np.int64), armed, episode, primed)
    lowers = np.array([lower for _, lower in rules.bands], np.float64)
    total = np.zeros((s, n), np.int32)
    band = np.zeros((s, n), np.int8)
    stage = np.zeros((s, n), np.int8)
    fired: list[tuple[int, int, int]] = []
    trigger_index = {t.id: j for j, t in enumerate(rules.triggers)}
    scorer = _Scorer(rules, inputs)
    everyone = np.arange(n)
    for k, as_us in enumerate(instants.tolist()):
        seen = int(np.searchsorted(batch.event_us, as_us, side="right"))
        now = replace(
            batch,
            event_row=batch.event_row[:seen],
            event_us=batch.event_us[:seen],
            event_shape=batch.event_shape[:seen],
        )
        rows = everyone
        current = state.into(now)
        for _ in range(len(rules.stages) + 1):
            result = scorer(current, as_us)
            if rows is everyone:
                total[k] = result.total_value
                band[k] = np.searchsorted(lowers, result.total_value, side="right")
            if k > 0:
                fired += [(k, int(rows[r]), trigger_index[f.trigger_id]) for r, f in result.fired]
            moved = result.stage != current.prior_stage
            state.take(rows, result)
            rows = rows[moved]
            if not len(rows):
                break
            current = batch_rows(state.into(now), rows)
        stage[k] = state.stage
    found = np.array(fired, np.int64).reshape(-1, 3)
    return ChunkReplay(
        batch.contact_ids, total, band, stage, found[:, 0], found[:, 1], found[:, 2], scorer.pure
    )
