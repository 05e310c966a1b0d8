"""Bulk scoring with NumPy: what :func:`scoring.engine.score` decides, for many contacts at once.

Owns: :class:`BatchInput` (columnar events of many contacts, each event pointing at a distinct
``(kind, attributes)`` :class:`EventShape`, plus each contact's fields and prior state as arrays)
and :func:`score_batch`. Every rule is matched once per distinct shape (the compiled rule set's
signature cache), then decay, expiry, suspect opens, per-day and total caps, group sums, fit rules
(per distinct field value), inactivity, manual adjustments, clamps, weights, bands, one stage
step and the trigger step run as array operations (per-shape facts: :mod:`scoring.batch_shapes`;
stage and trigger steps: :mod:`scoring.batch_state`). The stage score of contacts in a
``reset_score`` stage is counted again (as a sub-batch) with the stage's window, as the engine
does. Must not: read the store or the clock.

Agreement with the pure engine: the reported integers, bands, stages and trigger states are the
engine's. Exact (float) scores agree to float rounding: the engine sums with ``math.fsum``, this
module with float64 and an error bound. A contact is marked ``fallback`` (its caller must score it
with the pure engine and :meth:`BatchResult.put` the result) when that bound could change a
reported integer, or when two different events of a capped rule share a microsecond (the engine
breaks that tie by event key, which bulk input does not carry).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import numpy.typing as npt

from scorebridge.scoring.batch_fields import FieldColumns
from scorebridge.scoring.batch_shapes import (
    EPOCH,
    NO_TIME,
    EventShape,
    ShapeFacts,
    shape_facts,
    to_us,
)
from scorebridge.scoring.batch_state import (
    ValueArrays,
    batch_rows,
    reset_windows,
    step_stages,
    step_triggers,
)
from scorebridge.scoring.conditions import STAGE_SCORE
from scorebridge.scoring.decay import SECONDS_PER_DAY, decay_factors
from scorebridge.scoring.matchers import CompiledRules
from scorebridge.scoring.model import FROM_MAUTIC, FiredTrigger, ScoreResult
from scorebridge.scoring.opens import SUSPECT_WINDOW_SECONDS

__all__ = [
    "NO_TIME",
    "BatchInput",
    "BatchResult",
    "EventShape",
    "FieldColumns",
    "fresh_triggers",
    "from_us",
    "score_batch",
    "to_us",
]
I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
_EPS = float(np.finfo(np.float64).eps)
_ROUND_EPSILON = 1e-9  # scoring.engine.round_half_up's tolerance


def from_us(us: int) -> datetime | None:
    """The aware UTC datetime of :func:`to_us` microseconds (None for ``NO_TIME``)."""
    return None if us == NO_TIME else EPOCH + timedelta(microseconds=us)


@dataclass
class BatchInput:
    """Many contacts (rows ``0..n-1``) and their events, columnar.

    Events must be unique (the store guarantees it). Times are microseconds since the epoch,
    ``NO_TIME`` for "none". Prior stage is an index into ``rules.stages`` (-1: none). Prior trigger
    arrays are ``(n, len(rules.triggers))``; :func:`fresh_triggers` gives the "never seen" state.
    """

    contact_ids: I64
    fields: FieldColumns
    last_activity_us: I64
    prior_stage: I64
    prior_entered_us: I64
    prior_armed: Bools
    prior_episode: I64
    prior_primed: Bools
    event_row: I64
    event_us: I64
    event_shape: I64
    shapes: Sequence[EventShape]


def fresh_triggers(n: int, rules: CompiledRules) -> tuple[Bools, I64, Bools]:
    """Prior trigger arrays for contacts without stored state: armed, episode 0, not primed."""
    t = len(rules.triggers)
    return np.ones((n, t), bool), np.zeros((n, t), np.int64), np.zeros((n, t), bool)


@dataclass
class BatchResult:
    """The outcome per contact row; ``fired`` lists ``(row, trigger)`` in row order."""

    groups: F64
    group_values: I64
    total: F64
    total_value: I64
    stage_score: F64
    stage_score_value: I64
    band: list[str]
    stage: I64
    stage_entered_us: I64
    armed: Bools
    episode: I64
    primed: Bools
    fired: list[tuple[int, FiredTrigger]]
    fallback: Bools

    def put(self, row: int, result: ScoreResult, rules: CompiledRules) -> None:
        """Replace ``row`` with the pure engine's result (for ``fallback`` rows)."""
        self.groups[row] = [result.groups[g] for g in rules.groups]
        self.group_values[row] = [result.group_values[g] for g in rules.groups]
        self.total[row], self.total_value[row] = result.total, result.total_value
        self.stage_score[row] = result.stage_score
        self.stage_score_value[row] = result.stage_score_value
        self.band[row] = result.band
        keys = [s.key for s in rules.stages]
        self.stage[row] = keys.index(result.stage) if result.stage is not None else -1
        self.stage_entered_us[row] = to_us(result.stage_entered_at)
        for j, trig in enumerate(rules.triggers):
            state = result.triggers[trig.id]
            self.armed[row, j], self.episode[row, j] = state.armed, state.episode
            self.primed[row, j] = state.primed
        self.fired = [f for f in self.fired if f[0] != row] + [(row, f) for f in result.fired]
        self.fallback[row] = False


def _age_days(as_us: int, times: I64) -> F64:
    """``(as_of - t).total_seconds() / 86400`` exactly as the engine computes it."""
    seconds: F64 = (as_us - times).astype(np.float64) / 1e6
    return seconds / SECONDS_PER_DAY


def _group_rank(keys: Sequence[npt.NDArray[Any]], active: Bools | None = None) -> I64:
    """Per element of sorted data: how many ``active`` elements precede it in its key group."""
    n = len(keys[0])
    counts = np.ones(n, np.int64) if active is None else active.astype(np.int64)
    if n == 0:
        return counts
    new = np.zeros(n, bool)
    new[0] = True
    for k in keys:
        new[1:] |= k[1:] != k[:-1]
    before = np.cumsum(counts) - counts
    start = np.maximum.accumulate(np.where(new, np.arange(n), 0))
    rank: I64 = before - before[start]
    return rank


class _Sums:
    """Group sums per contact with |x| sums and counts for the fsum error bound."""

    def __init__(self, n: int, g: int) -> None:
        self.g = g
        self.value = np.zeros(n * g)
        self.magnitude = np.zeros(n * g)
        self.count = np.zeros(n * g)

    def add(self, rows: I64, groups: I64, points: F64) -> None:
        slot = rows * self.g + groups
        size = len(self.value)
        self.value += np.bincount(slot, weights=points, minlength=size)
        self.magnitude += np.bincount(slot, weights=np.abs(points), minlength=size)
        self.count += np.bincount(slot, minlength=size)


def _ambiguous(value: F64, bound: F64) -> Bools:
    """Whether ``round_half_up`` of a value known to within ``bound`` could go either way."""
    shifted = value + 0.5 + _ROUND_EPSILON
    distance = np.abs(shifted - np.round(shifted))
    result: Bools = distance <= 4 * bound + 4 * _EPS * np.abs(shifted)
    return result


@dataclass
class _Values:
    """Scores of a batch's rows counting behaviour from a per-row cutoff."""

    groups: F64
    group_values: I64
    total: F64
    total_value: I64
    fallback: Bools


def score_batch(batch: BatchInput, rules: CompiledRules, as_of: datetime) -> BatchResult:
    """Score every contact of ``batch`` at ``as_of`` (see the module docstring for fallbacks)."""
    as_us = to_us(as_of)
    info = shape_facts(batch.shapes, rules)
    n = len(batch.contact_ids)
    life = _values(batch, rules, info, as_us, np.full(n, NO_TIME, np.int64))
    fallback = life.fallback
    stage_reset = np.array([s.reset_score for s in rules.stages] + [False], bool)

    def stage_values(stage: I64, entered: I64) -> tuple[F64, I64]:
        exact, value = life.total.copy(), life.total_value.copy()
        window = reset_windows(stage_reset, stage, entered, as_us)
        rows = np.flatnonzero(window != NO_TIME)
        if len(rows):
            sub = _values(batch_rows(batch, rows), rules, info, as_us, window[rows])
            exact[rows], value[rows] = sub.total, sub.total_value
            fallback[rows] |= sub.fallback
        return exact, value

    before = life.total_value
    if any(s.when.subject == STAGE_SCORE for s in rules.stages):
        before = stage_values(batch.prior_stage, batch.prior_entered_us)[1]
    stage, entered = step_stages(
        rules,
        batch.prior_stage,
        batch.prior_entered_us,
        ValueArrays(life.total_value, before, life.group_values),
        as_us,
    )
    staged, staged_value = stage_values(stage, entered)
    armed, episode, primed, fired = step_triggers(
        rules,
        batch,
        ValueArrays(life.total_value, staged_value, life.group_values),
        stage,
        ~fallback,
    )
    names = [rules.base_band] + [name for name, _ in rules.bands]
    lowers = np.array([lower for _, lower in rules.bands], np.float64)
    band_index = np.searchsorted(lowers, life.total_value, side="right")
    return BatchResult(
        groups=life.groups,
        group_values=life.group_values,
        total=life.total,
        total_value=life.total_value,
        stage_score=staged,
        stage_score_value=staged_value,
        band=[names[i] for i in band_index.tolist()],
        stage=stage,
        stage_entered_us=entered,
        armed=armed,
        episode=episode,
        primed=primed,
        fired=fired,
        fallback=fallback,
    )


def _values(
    batch: BatchInput, rules: CompiledRules, info: ShapeFacts, as_us: int, cutoff: I64
) -> _Values:
    """The scores of every row counting behaviour at/after ``cutoff`` (``NO_TIME``: all).

    Column ``len(rules.groups)`` of the sums holds the points that go straight into the total.
    """
    n, g_count = len(batch.contact_ids), len(rules.groups)
    fallback = np.zeros(n, bool)
    sums = _Sums(n, g_count + 1)
    happened = batch.event_us <= as_us
    ev_row, ev_us = batch.event_row[happened], batch.event_us[happened]
    ev_shape = batch.event_shape[happened]
    ev_suspect = info.suspect[ev_shape] | _timed_suspect(info.sent_us[ev_shape], ev_us)
    _behaviour(
        batch, rules, info, sums, fallback, as_us, cutoff, ev_row, ev_us, ev_shape, ev_suspect
    )
    _fit(batch, rules, sums)
    _inactivity(batch, rules, info, sums, as_us, ev_row, ev_us, ev_shape, ev_suspect)
    manual = np.array([s.kind == "manual" for s in batch.shapes] + [False], bool)[ev_shape]
    sums.add(
        ev_row[manual], info.manual_group[ev_shape[manual]], info.manual_points[ev_shape[manual]]
    )

    raw = sums.value.reshape(n, g_count + 1)
    bound = (sums.count * _EPS * sums.magnitude).reshape(n, g_count + 1)
    high = np.array([rules.group_max[g] for g in rules.groups])
    groups = np.clip(raw[:, :g_count], 0.0, high)
    group_values = np.floor(groups + 0.5 + _ROUND_EPSILON).astype(np.int64)
    fallback |= _ambiguous(groups, bound[:, :g_count]).any(axis=1)
    weights = np.array([rules.group_weight[g] for g in rules.groups])
    weighted = groups * weights
    ungrouped = raw[:, g_count]
    total = np.clip(weighted.sum(axis=1) + ungrouped, rules.scale_min, rules.scale_max)
    total_bound = (
        (np.abs(weights) * bound[:, :g_count]).sum(axis=1)
        + bound[:, g_count]
        + (g_count + 1) * _EPS * (np.abs(weighted).sum(axis=1) + np.abs(ungrouped))
    )
    total_value = np.floor(total + 0.5 + _ROUND_EPSILON).astype(np.int64)
    fallback |= _ambiguous(total, total_bound)
    return _Values(groups, group_values, total, total_value, fallback)


def _timed_suspect(sent_us: I64, ev_us: I64) -> Bools:
    known = sent_us != NO_TIME
    seconds = (ev_us - np.where(known, sent_us, 0)).astype(np.float64) / 1e6
    result: Bools = known & (seconds >= 0) & (seconds <= SUSPECT_WINDOW_SECONDS)
    return result


def _behaviour(
    batch: BatchInput,
    rules: CompiledRules,
    info: ShapeFacts,
    sums: _Sums,
    fallback: Bools,
    as_us: int,
    cutoff: I64,
    ev_row: I64,
    ev_us: I64,
    ev_shape: I64,
    ev_suspect: Bools,
) -> None:
    per_shape = np.diff(info.rule_ptr)
    count = per_shape[ev_shape]
    pair_event = np.repeat(np.arange(len(ev_shape)), count)
    offset = np.arange(len(pair_event)) - np.repeat(np.cumsum(count) - count, count)
    slot = info.rule_ptr[ev_shape[pair_event]] + offset  # one (shape, rule) match
    # Points and group of each (shape, rule) match, computed once per match, not per event.
    rule_of = info.rule_idx
    fixed = np.array([np.nan if r.points is None else r.points for r in rules.rules] + [0.0])
    shape_of = np.repeat(np.arange(len(per_shape)), per_shape)
    slot_base = np.where(np.isnan(fixed[rule_of]), info.delta[shape_of], fixed[rule_of])
    ungrouped = len(rules.groups)
    group_of = {grp: i for i, grp in enumerate(rules.groups)}
    rule_group = np.array(
        [ungrouped if r.group is None else group_of.get(r.group, ungrouped) for r in rules.rules]
        + [ungrouped],
        np.int64,
    )
    from_mautic = np.array([r.group == FROM_MAUTIC for r in rules.rules] + [False], bool)
    slot_group = np.where(from_mautic[rule_of], info.mautic_group[shape_of], rule_group[rule_of])

    row, at = ev_row[pair_event], ev_us[pair_event]
    keep = ~np.isnan(slot_base[slot]) & (at >= cutoff[row])
    pair_event, slot, row, at = pair_event[keep], slot[keep], row[keep], at[keep]
    rule, base, group = rule_of[slot], slot_base[slot], slot_group[slot]
    suspect = ev_suspect[pair_event]

    per_day = np.array([r.max_per_day or 0 for r in rules.rules] + [0], np.int64)
    per_total = np.array([r.max_total or 0 for r in rules.rules] + [0], np.int64)
    capped = (per_day[rule] > 0) | (per_total[rule] > 0)
    if capped.any():
        c_idx = np.flatnonzero(capped)
        order = c_idx[_by_row_rule_time(row[c_idx], rule[c_idx], at[c_idx], len(rules.rules))]
        r_row, r_rule, r_at = row[order], rule[order], at[order]
        day = np.floor_divide(r_at, 86_400_000_000)
        limit_day = per_day[r_rule]
        ok_day = (limit_day == 0) | (_group_rank([r_row, r_rule, day]) < limit_day)
        limit_total = per_total[r_rule]
        ok_total = (limit_total == 0) | (_group_rank([r_row, r_rule], ok_day) < limit_total)
        kept = ok_day & ok_total
        _flag_ambiguous_ties(
            fallback, r_row, r_rule, r_at, kept, base[order], suspect[order], group[order]
        )
        counted = np.ones(len(rule), bool)
        counted[order] = kept
        row, at, rule, base = row[counted], at[counted], rule[counted], base[counted]
        suspect, group = suspect[counted], group[counted]

    factor = _decay(rules, rule, _age_days(as_us, at))
    sof = np.array(
        [np.nan if r.suspect_open_factor is None else r.suspect_open_factor for r in rules.rules]
        + [np.nan]
    )
    scaled = suspect & ~np.isnan(sof[rule])
    factor[scaled] *= sof[rule[scaled]]
    sums.add(row, group, base * factor)


def _by_row_rule_time(row: I64, rule: I64, at: I64, rules: int) -> I64:
    """The order sorting events by (row, rule, time); events equal in all three in any order.

    One sort of a packed integer key when row, rule and the time span fit in 62 bits (always,
    unless a chunk's events span more than about a century); else two sorts.
    """
    if not len(at):
        return np.zeros(0, np.int64)
    pair = row * (rules + 1) + rule
    since = at - at.min()
    time_bits = int(since.max()).bit_length()
    if time_bits + int(pair.max()).bit_length() <= 62:
        order: I64 = np.argsort((pair << time_bits) | since)
        return order
    by_time = np.argsort(at)
    by_pair: I64 = by_time[np.argsort(pair[by_time], kind="stable")]
    return by_pair


def _decay(rules: CompiledRules, rule: I64, age: F64) -> F64:
    """Each event's decay factor under its rule."""

    def setting(values: list[float | None]) -> F64:
        per_rule: F64 = np.array([np.nan if v is None else v for v in values] + [np.nan])
        return per_rule[rule]

    return decay_factors(
        age,
        setting([r.half_life_days for r in rules.rules]),
        setting([r.linear_decay_days for r in rules.rules]),
        setting([r.expires_after_days for r in rules.rules]),
    )


def _flag_ambiguous_ties(
    fallback: Bools,
    row: I64,
    rule: I64,
    at: I64,
    kept: Bools,
    base: F64,
    suspect: Bools,
    group: I64,
) -> None:
    """Mark contacts whose capped-rule count depends on how same-instant events are ordered.

    Input is sorted by (row, rule, time). The engine orders a run of events of one rule at one
    instant by event key, which bulk input does not carry. The run's order matters only when the
    cap cuts through it (some counted, some not) and its events are not worth the same (points,
    suspect-open status or Mautic group differ): any other order counts as many events of the
    same worth, so the sums and every later event's count are the same.
    """
    n = len(row)
    if n < 2:
        return
    tie = (row[1:] == row[:-1]) & (rule[1:] == rule[:-1]) & (at[1:] == at[:-1])
    if not tie.any():
        return
    start = np.ones(n, bool)
    start[1:] = ~tie
    run = np.cumsum(start) - 1
    first = np.flatnonzero(start)[run]
    same = (base == base[first]) & (suspect == suspect[first]) & (group == group[first])
    size = np.bincount(run)
    counted = np.bincount(run, weights=kept)
    mixed = np.bincount(run, weights=~same)
    ambiguous = (size > 1) & (counted > 0) & (counted < size) & (mixed > 0)
    fallback[row[start][ambiguous]] = True


def _fit(batch: BatchInput, rules: CompiledRules, sums: _Sums) -> None:
    group_of = {grp: i for i, grp in enumerate(rules.groups)}
    for fit in rules.fit:
        codes, distinct = batch.fields.column(fit.field)
        holds = np.array(fit.holds_each(distinct), bool)
        rows = np.flatnonzero(holds[codes])
        group = group_of.get(fit.group, len(rules.groups)) if fit.group else len(rules.groups)
        sums.add(rows, np.full(len(rows), group), np.full(len(rows), fit.points))


def _inactivity(
    batch: BatchInput,
    rules: CompiledRules,
    info: ShapeFacts,
    sums: _Sums,
    as_us: int,
    ev_row: I64,
    ev_us: I64,
    ev_shape: I64,
    ev_suspect: Bools,
) -> None:
    rule = rules.inactivity
    if rule is None:
        return
    last = np.where(batch.last_activity_us <= as_us, batch.last_activity_us, NO_TIME)
    active = info.activity[ev_shape] & ~ev_suspect
    np.maximum.at(last, ev_row[active], ev_us[active])
    known = last != NO_TIME
    idle = _age_days(as_us, np.where(known, last, as_us))
    due = known & (idle >= rule.after_days)
    periods = 1 + np.floor((idle[due] - rule.after_days) / rule.every_days)
    group = rules.groups.index(rule.group) if rule.group else len(rules.groups)
    sums.add(np.flatnonzero(due), np.full(int(due.sum()), group), rule.points * periods)
