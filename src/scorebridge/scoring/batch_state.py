"""The stage step and the trigger step of :mod:`scoring.batch`, over arrays of contacts.

Owns: the ``reset_score`` windows (:func:`reset_windows`), sub-batches of the contacts whose
window changed (:func:`batch_rows`), the array forms of :func:`scoring.stages.next_stage`
(the engine takes one step per run)
and :func:`scoring.triggers.evaluate_triggers`.
Must not: compute scores or read the store.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import TYPE_CHECKING

import numpy as np
import numpy.typing as npt

from scorebridge.scoring.conditions import STAGE_SCORE, TOTAL, CompiledCondition
from scorebridge.scoring.matchers import CompiledRules
from scorebridge.scoring.model import FiredTrigger
from scorebridge.scoring.triggers import CompiledTrigger

if TYPE_CHECKING:
    from scorebridge.scoring.batch import BatchInput

I64 = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
_NO_TIME = np.iinfo(np.int64).min


@dataclass(frozen=True)
class ValueArrays:
    """Per contact row, the reported integers conditions look at (:class:`conditions.Values`)."""

    total: I64
    stage_score: I64
    groups: I64


def _subject(cond: CompiledCondition, rules: CompiledRules, values: ValueArrays) -> I64:
    if cond.subject == TOTAL:
        return values.total
    if cond.subject == STAGE_SCORE:
        return values.stage_score
    if cond.subject in rules.groups:
        column: I64 = values.groups[:, rules.groups.index(cond.subject)]
        return column
    return np.zeros_like(values.total)


def _holds_for(cond: CompiledCondition, values: I64) -> Bools:
    ok = np.ones(len(values), bool)
    if cond.lo is not None:
        ok &= (values >= cond.lo) if cond.lo_inclusive else (values > cond.lo)
    if cond.hi is not None:
        ok &= (values <= cond.hi) if cond.hi_inclusive else (values < cond.hi)
    return ok


def holds(cond: CompiledCondition, rules: CompiledRules, values: ValueArrays) -> Bools:
    """``cond.holds`` for every contact row."""
    return _holds_for(cond, _subject(cond, rules, values))


def reset_windows(stage_reset: Bools, stage: I64, entered: I64, as_us: int) -> I64:
    """Per row, from when behaviour counts (``scoring.engine.reset_cutoff``; NO_TIME: always).

    ``stage_reset`` has one flag per stage plus a trailing False for "no stage" (index -1).
    """
    resetting = (stage >= 0) & stage_reset[stage] & (entered != _NO_TIME) & (as_us >= entered)
    result: I64 = np.where(resetting, entered, _NO_TIME)
    return result


def batch_rows(batch: BatchInput, rows: I64) -> BatchInput:
    """The contacts ``rows`` of ``batch`` (and their events) as a batch of their own."""
    position = np.full(len(batch.contact_ids), -1, np.int64)
    position[rows] = np.arange(len(rows))
    keep = position[batch.event_row] >= 0
    return replace(
        batch,
        contact_ids=batch.contact_ids[rows],
        fields=batch.fields.take(rows),
        last_activity_us=batch.last_activity_us[rows],
        prior_stage=batch.prior_stage[rows],
        prior_entered_us=batch.prior_entered_us[rows],
        prior_armed=batch.prior_armed[rows],
        prior_episode=batch.prior_episode[rows],
        prior_primed=batch.prior_primed[rows],
        event_row=position[batch.event_row[keep]],
        event_us=batch.event_us[keep],
        event_shape=batch.event_shape[keep],
    )


def step_stages(
    rules: CompiledRules,
    prior: I64,
    prior_entered: I64,
    values: ValueArrays,
    as_us: int,
) -> tuple[I64, I64]:
    """(stage index, entry time in us) after the engine's one stage step per run."""
    stages = rules.stages
    n = len(values.total)
    if not stages:
        return np.full(n, -1, np.int64), np.full(n, _NO_TIME, np.int64)
    index = np.arange(len(stages))
    held = np.stack([holds(s.when, rules, values) for s in stages], axis=1)
    # a stage-score stage is never reached by skipping a reset stage (scoring.stages)
    resets_before = np.cumsum([0] + [int(s.reset_score) for s in stages])
    on_stage_score = np.array([s.when.subject == STAGE_SCORE for s in stages], bool)
    skipped = resets_before[index][None, :] - resets_before[prior + 1][:, None] > 0
    reachable = held & ~(on_stage_score[None, :] & skipped)
    forward = np.where(reachable & (index > prior[:, None]), index, -1).max(axis=1)
    allow_back = np.array([s.allow_back for s in stages] + [False], bool)
    here = np.where(prior >= 0, held[np.arange(n), np.maximum(prior, 0)], True)
    going_back = (forward < 0) & (prior >= 0) & allow_back[prior] & ~here
    backward = np.where(held & (index < prior[:, None]), index, -1).max(axis=1)
    target = np.where(forward >= 0, forward, np.where(going_back, backward, prior))
    moved = target != prior
    kept = np.where(prior >= 0, prior_entered, _NO_TIME)
    entered = np.where(moved, np.where(target >= 0, as_us, _NO_TIME), kept)
    result: I64 = target.astype(np.int64)
    return result, entered


def _rearms(trig: CompiledTrigger, value: I64) -> Bools:
    if trig.rearm_below is not None:
        below: Bools = value < trig.rearm_below
        return below
    if trig.rearm_above is not None:
        above: Bools = value > trig.rearm_above
        return above
    return ~_holds_for(trig.when, value)


def step_triggers(
    rules: CompiledRules,
    batch: BatchInput,
    values: ValueArrays,
    stage: I64,
    emit: Bools,
) -> tuple[Bools, I64, Bools, list[tuple[int, FiredTrigger]]]:
    """New (armed, episode, primed) arrays and the fired triggers of the rows in ``emit``."""
    armed_out = batch.prior_armed.copy()
    episode_out = batch.prior_episode.copy()
    primed_out = batch.prior_primed.copy()
    fired: list[tuple[int, FiredTrigger]] = []
    ids = batch.contact_ids
    for j, trig in enumerate(rules.triggers):
        value = _subject(trig.when, rules, values)
        primed = batch.prior_primed[:, j] | (trig.only_after is None)
        if trig.only_after is not None:
            primed |= holds(trig.only_after, rules, values)
        armed = batch.prior_armed[:, j] | _rearms(trig, value)
        blocked = (stage >= trig.before_stage) if trig.before_stage is not None else False
        fire = armed & primed & ~blocked & _holds_for(trig.when, value)
        episode = batch.prior_episode[:, j] + fire
        armed_out[:, j] = armed & ~fire
        episode_out[:, j] = episode
        primed_out[:, j] = np.where(fire, trig.only_after is None, primed)
        for row in np.flatnonzero(fire & emit).tolist():
            ep = int(episode[row])
            fired.append(
                (
                    row,
                    FiredTrigger(
                        trigger_id=trig.id,
                        episode=ep,
                        actions=trig.actions,
                        idempotency_key=f"{trig.id}:{int(ids[row])}:{ep}",
                        value=int(value[row]),
                        total=int(values.total[row]),
                    ),
                )
            )
    fired.sort(key=lambda item: item[0])
    return armed_out, episode_out, primed_out, fired
