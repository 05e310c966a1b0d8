"""Funnel stages: ordered, entered when their condition holds, forward only unless allowed.

Owns: compiling ``[[stages]]`` and the pure step :func:`next_stage` that, given the current stage
and the reported values, says which stage the contact is in now. Must not: compute scores; the
engine recomputes the score when the new stage resets it.

Decisions:
- forward: the contact moves to the *highest* later stage whose ``when`` holds (it may skip
  stages in one run, as Mautic's weights allow), except that a stage whose condition names
  ``stage_score`` is never reached by skipping over a ``reset_score`` stage: its stage score
  would count from that stage's entry, which has not happened yet;
- backward: only when the current stage has ``allow_back = true`` and its ``when`` no longer
  holds; the contact then drops to the highest earlier stage whose ``when`` holds, or to no
  stage, and does not move forward again in the same run;
- a stage key the rule file no longer has counts as "no stage";
- ``stage_entered_at`` is the ``as_of`` of the run that moved the contact (the moment the bridge
  observed the condition). In a stage with ``reset_score = true`` the contact's ``stage_score``
  counts only event contributions with ``occurred_at >= stage_entered_at`` (caps apply within
  that window); fit rules, inactivity and manual adjustments are state or operator decisions and
  always count. The lifetime ``score`` never resets; stage conditions look at it unless they
  name ``stage_score`` (then at the stage score of the stage the contact is in before the step);
- moving to no stage (``allow_back`` from the first stage) clears ``stage_entered_at``;
- ``allow_back`` together with ``reset_score`` is rejected at load when the stage's own
  condition names ``stage_score``: the reset would send the contact straight back.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from scorebridge.scoring.conditions import STAGE_SCORE, CompiledCondition, Values, compile_condition

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


def next_stage(stages: Sequence[CompiledStage], current: int, values: Values) -> int:
    """The stage index after one step from ``current`` (-1 = no stage); may equal ``current``."""
    for stage in reversed(stages[current + 1 :]):
        if stage.when.holds(values) and not _skips_a_reset(stages, current, stage):
            return stage.index
    if current >= 0:
        here = stages[current]
        if here.allow_back and not here.when.holds(values):
            for stage in reversed(stages[:current]):
                if stage.when.holds(values):
                    return stage.index
            return -1
    return current


def _skips_a_reset(stages: Sequence[CompiledStage], current: int, target: CompiledStage) -> bool:
    """Whether moving to ``target`` on its stage score would jump over a ``reset_score`` stage."""
    if target.when.subject != STAGE_SCORE:
        return False
    return any(s.reset_score for s in stages[current + 1 : target.index])
