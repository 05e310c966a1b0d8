"""Funnel stages: ordered, entered when their condition holds, forward only unless allowed.

Owns: compiling ``[[stages]]`` and the pure step :func:`next_stage` that, given the current stage
and the reported values, says which stage the contact is in now. Must not: compute scores; the
engine recomputes the score when the new stage resets it.

Decisions:
- forward: the contact moves to the *highest* later stage whose ``when`` holds (it may skip
  stages in one run, as Mautic's weights allow);
- backward: only when the current stage has ``allow_back = true`` and its ``when`` no longer
  holds; the contact then drops to the highest earlier stage whose ``when`` holds, or to no
  stage, and does not move forward again in the same run;
- a stage key the rule file no longer has counts as "no stage";
- ``stage_entered_at`` is the ``as_of`` of the run that moved the contact (the moment the bridge
  observed the condition). For ``as_of >= stage_entered_at``, ``reset_score = true`` counts only
  event contributions with ``occurred_at >= stage_entered_at`` (caps apply within that window);
  fit rules, inactivity and manual adjustments are state or operator decisions and always count.
  The run that enters the stage decides the stage and fires the triggers on the qualifying
  (pre-reset) values, then reports and saves the reset score (see :mod:`scoring.engine`), so a
  rerun at the same ``as_of`` and later runs without new events report the same values. This
  needs only the stored entry time, never a replay of history;
- moving to no stage (``allow_back`` from the first stage) clears ``stage_entered_at``;
- ``allow_back`` together with ``reset_score`` is rejected at load: the reset would take the
  score below the stage's own condition and send the contact straight back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scorebridge.scoring.conditions import CompiledCondition, compile_condition

if TYPE_CHECKING:
    from scorebridge.scoring.rules import Stage


@dataclass(frozen=True, slots=True)
class CompiledStage:
    """One stage, in funnel order (``index`` 0 is the first)."""

    key: str
    index: int
    label: str
    when: CompiledCondition
    reset_score: bool
    allow_back: bool
    mautic_stage: str | None
    crm_lifecycle: str | None


def compile_stages(
    stages: Sequence[Stage], bands: Mapping[str, float]
) -> tuple[CompiledStage, ...]:
    """Compile validated stages, keeping their order."""
    return tuple(
        CompiledStage(
            key=s.key,
            index=i,
            label=s.label or s.key,
            when=compile_condition(s.when, bands),
            reset_score=s.reset_score,
            allow_back=s.allow_back,
            mautic_stage=s.mautic_stage,
            crm_lifecycle=s.crm_lifecycle,
        )
        for i, s in enumerate(stages)
    )


def stage_index(stages: Sequence[CompiledStage], key: str | None) -> int:
    """Index of the stage ``key`` (-1 for no stage or a stage no longer configured)."""
    for stage in stages:
        if stage.key == key:
            return stage.index
    return -1


def next_stage(
    stages: Sequence[CompiledStage],
    current: int,
    total_value: int,
    group_values: Mapping[str, int],
) -> int:
    """The stage index after one step from ``current`` (-1 = no stage); may equal ``current``."""
    for stage in reversed(stages[current + 1 :]):
        if stage.when.holds(total_value, group_values):
            return stage.index
    if current >= 0:
        here = stages[current]
        if here.allow_back and not here.when.holds(total_value, group_values):
            for stage in reversed(stages[:current]):
                if stage.when.holds(total_value, group_values):
                    return stage.index
            return -1
    return current
