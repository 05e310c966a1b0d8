"""Edge-triggered actions with episodes, hysteresis and priming.

Owns: compiling ``[[triggers]]`` and :func:`evaluate_triggers`, the pure state step per contact.

Semantics (per trigger, on the reported integer its ``when`` looks at):
- missing prior state means armed, episode 0, not primed;
- priming: a trigger with ``only_after`` is primed once that condition holds (checked first in
  each run); firing consumes the priming, so each episode needs ``only_after`` to hold again.
  Triggers without ``only_after`` are always primed;
- re-arming: a fired (disarmed) trigger re-arms when the value falls below ``rearm_below`` (an
  upward condition), rises above ``rearm_above`` (a downward one), or else when ``when`` no
  longer holds;
- firing: armed, primed and ``when`` holds -> episode + 1, disarmed, and one
  :class:`FiredTrigger` with idempotency key ``"{trigger_id}:{contact_id}:{episode}"``;
- ``before_stage``: no firing once the contact is in that stage or a later one (re-arming and
  priming still happen);
- values: a trigger looks at the lifetime ``score`` (``total``), a topic group, or, when its
  condition names it, the ``stage_score`` after this run's stage step (entering a
  ``reset_score`` stage drops the stage score, which re-arms a fired stage-score trigger).
Must not: render action templates or enqueue anything; the write-back does that.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from scorebridge.scoring.conditions import CompiledCondition, Values, compile_condition
from scorebridge.scoring.model import FiredTrigger, TriggerState

if TYPE_CHECKING:
    from scorebridge.scoring.rules import Trigger

_FRESH = TriggerState(armed=True, episode=0, primed=False)


@dataclass(frozen=True, slots=True)
class CompiledTrigger:
    """One trigger ready to evaluate."""

    id: str
    label: str
    when: CompiledCondition
    rearm_below: float | None
    rearm_above: float | None
    only_after: CompiledCondition | None
    before_stage: int | None
    actions: tuple[Mapping[str, Any], ...]

    def rearms(self, value: int) -> bool:
        """Whether a fired trigger re-arms at this value (hysteresis)."""
        if self.rearm_below is not None:
            return value < self.rearm_below
        if self.rearm_above is not None:
            return value > self.rearm_above
        return not self.when.holds_for(value)


def compile_triggers(
    triggers: Sequence[Trigger], bands: Mapping[str, float], stage_keys: Sequence[str]
) -> tuple[CompiledTrigger, ...]:
    """Compile validated triggers; ``stage_keys`` in funnel order resolves ``before_stage``."""
    return tuple(
        CompiledTrigger(
            id=t.id,
            label=t.label or t.id,
            when=compile_condition(t.when, bands),
            rearm_below=t.rearm_below,
            rearm_above=t.rearm_above,
            only_after=None if t.only_after is None else compile_condition(t.only_after, bands),
            before_stage=None if t.before_stage is None else list(stage_keys).index(t.before_stage),
            actions=tuple(a.model_dump() for a in t.actions),
        )
        for t in triggers
    )


def evaluate_triggers(
    triggers: Sequence[CompiledTrigger],
    prior: Mapping[str, TriggerState],
    contact_id: int,
    values: Values,
    stage: int,
) -> tuple[dict[str, TriggerState], list[FiredTrigger]]:
    """Step every trigger once; returns the new states and the triggers that fired."""
    states: dict[str, TriggerState] = {}
    fired: list[FiredTrigger] = []
    for trig in triggers:
        before = prior.get(trig.id, _FRESH)
        value = trig.when.value(values)
        primed = trig.only_after is None or before.primed
        if trig.only_after is not None and trig.only_after.holds(values):
            primed = True
        armed = before.armed or trig.rearms(value)
        episode = before.episode
        blocked = trig.before_stage is not None and stage >= trig.before_stage
        if armed and primed and not blocked and trig.when.holds_for(value):
            episode += 1
            armed = False
            primed = trig.only_after is None
            fired.append(
                FiredTrigger(
                    trigger_id=trig.id,
                    episode=episode,
                    actions=trig.actions,
                    idempotency_key=f"{trig.id}:{contact_id}:{episode}",
                    value=value,
                    total=values.total,
                )
            )
        states[trig.id] = TriggerState(armed=armed, episode=episode, primed=primed)
    return states, fired
