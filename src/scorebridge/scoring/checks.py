"""Whole-file checks of a rule set: references, duplicates, hysteresis and trigger actions.

Owns: the validation that needs more than one section of the rule file (a rule's group must be
configured, a band or stage named in a condition must exist, ids are unique, ``rearm_below`` lies
below an upward threshold, every trigger action is a known ``do`` with valid parameters). Each
problem is a :class:`~scorebridge.scoring.rule_errors.RuleProblem` naming the section, the
position and the field, which :mod:`scoring.rule_errors` turns into a located message.
Must not: compile or score.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from scorebridge.scoring.actions import check_action
from scorebridge.scoring.conditions import STAGE_SCORE, TOTAL
from scorebridge.scoring.model import FROM_MAUTIC
from scorebridge.scoring.rule_errors import RuleProblem

if TYPE_CHECKING:
    from scorebridge.scoring.rules import Condition, FitRule, Rule, RuleSet, Threshold

_RESERVED_IDS = frozenset({"inactivity", "manual"})
_RESERVED_GROUPS = frozenset({FROM_MAUTIC, TOTAL, STAGE_SCORE})
_NO_TOPIC = (
    "a rule without 'group' counts straight into the total; a topic must be configured under "
    "[[groups]]"
)


def check_references(rs: RuleSet) -> None:
    """Raise :class:`RuleProblem` for the first cross-reference problem."""
    groups = {g.key for g in rs.groups}
    _unique("groups", [g.key for g in rs.groups], "key")
    for index, g in enumerate(rs.groups):
        if g.key in _RESERVED_GROUPS:
            raise RuleProblem("groups", index, "key", f"{g.key!r} is a reserved name")
    _unique(
        "groups",
        [g.mautic_group or g.key for g in rs.groups if g.mautic_group != ""],
        "mautic_group",
    )
    _unique("rules", [r.id for r in rs.rules], "id")
    _unique("fit", [f.id for f in rs.fit], "id", taken={r.id for r in rs.rules})
    _unique("stages", [s.key for s in rs.stages], "key")
    _unique("triggers", [t.id for t in rs.triggers], "id")

    items: list[tuple[str, int, Rule | FitRule]] = [
        *(("rules", i, r) for i, r in enumerate(rs.rules)),
        *(("fit", i, f) for i, f in enumerate(rs.fit)),
    ]
    for section, i, item in items:
        if item.id in _RESERVED_IDS:
            raise RuleProblem(section, i, "id", f"{item.id!r} is reserved")
        allowed = groups | ({FROM_MAUTIC} if section == "rules" else set())
        if item.group is not None and item.group not in allowed:
            raise RuleProblem(
                section, i, "group", f"unknown group {item.group!r}{_known(groups)}; {_NO_TOPIC}"
            )
    inactivity = rs.inactivity
    if inactivity is not None and inactivity.group is not None and inactivity.group not in groups:
        raise RuleProblem(
            "inactivity", None, "group", f"unknown group {inactivity.group!r}{_known(groups)}"
        )

    for name, bound in rs.bands.items():
        if name == rs.base_band:
            raise RuleProblem("bands", None, name, "the same name as base_band")
        if not rs.scale.min < bound <= rs.scale.max:
            raise RuleProblem("bands", None, name, f"{bound} is outside the scale")

    stage_keys = {s.key for s in rs.stages}
    for i, stage in enumerate(rs.stages):
        _check_condition(rs, groups, ("stages", i), "when", stage.when)
        if stage.reset_score and stage.allow_back and stage.when.stage_score is not None:
            raise RuleProblem(
                "stages",
                i,
                "allow_back",
                "not with reset_score on a stage_score condition (the reset would move the "
                "contact straight back)",
            )
    for i, trig in enumerate(rs.triggers):
        _check_condition(rs, groups, ("triggers", i), "when", trig.when)
        if trig.only_after is not None:
            _check_condition(rs, groups, ("triggers", i), "only_after", trig.only_after)
        if trig.before_stage is not None and trig.before_stage not in stage_keys:
            raise RuleProblem("triggers", i, "before_stage", f"unknown stage {trig.before_stage!r}")
        _check_hysteresis(rs, i, trig.when, trig.rearm_below, trig.rearm_above)
        for n, action in enumerate(trig.actions):
            problem = check_action(action.model_dump())
            if problem is not None:
                raise RuleProblem("triggers", i, None, f"action #{n + 1}: {problem}")


def _unique(section: str, values: list[str], field: str, taken: Iterable[str] = ()) -> None:
    seen: set[str] = set(taken)
    for index, value in enumerate(values):
        if value in seen:
            raise RuleProblem(section, index, field, f"duplicate {value!r}")
        seen.add(value)


def _check_condition(
    rs: RuleSet, groups: set[str], at: tuple[str, int], field: str, cond: Condition
) -> None:
    if cond.group is not None and cond.group not in groups:
        raise RuleProblem(*at, f"{field}.group", f"unknown group {cond.group!r}{_known(groups)}")
    if cond.band is not None and cond.band not in rs.bands:
        known = ", ".join(sorted(rs.bands)) or "none configured"
        raise RuleProblem(*at, f"{field}.band", f"unknown band {cond.band!r} ({known})")


def _check_hysteresis(
    rs: RuleSet, index: int, cond: Condition, below: float | None, above: float | None
) -> None:
    explicit = [t for t in (cond.total, cond.stage_score) if t is not None]
    bounds: Threshold | Condition = explicit[0] if explicit else cond
    lower = bounds.gte if bounds.gte is not None else bounds.gt
    upper = bounds.lte if bounds.lte is not None else bounds.lt
    if cond.band is not None:
        lower, upper = rs.bands[cond.band], None
    if below is not None and (lower is None or upper is not None or below > lower):
        raise RuleProblem(
            "triggers",
            index,
            "rearm_below",
            "needs an upward condition (gte/gt) and a value at or below its threshold",
        )
    if above is not None and (upper is None or lower is not None or above < upper):
        raise RuleProblem(
            "triggers",
            index,
            "rearm_above",
            "needs a downward condition (lte/lt) and a value at or above its threshold",
        )


def _known(groups: set[str]) -> str:
    if not groups:
        return " (no [[groups]] configured)"
    return f" (configured: {', '.join(sorted(groups))})"
