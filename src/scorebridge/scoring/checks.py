"""Whole-file checks of a rule set: references, duplicates and hysteresis.

Owns: the validation that needs more than one section of the rule file (a rule's group must be
configured, a band or stage named in a condition must exist, ids are unique, ``rearm_below`` lies
below an upward threshold). Messages start with the location ("rules[3] id='x': field 'group':
...") so :func:`scoring.rules.load_rules` can prefix the file name. Must not: compile or score.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING

from scorebridge.scoring.model import FROM_MAUTIC, GENERAL

if TYPE_CHECKING:
    from scorebridge.scoring.rules import Condition, FitRule, Rule, RuleSet

_RESERVED_IDS = frozenset({"inactivity", "manual"})


def check_references(rs: RuleSet) -> None:
    """Raise ValueError (located in its message) for the first cross-reference problem."""
    groups = {g.key for g in rs.groups} | {GENERAL}
    _unique("groups", (g.key for g in rs.groups), "key")
    if FROM_MAUTIC in groups or "total" in groups:
        index = next(i for i, g in enumerate(rs.groups) if g.key in (FROM_MAUTIC, "total"))
        raise ValueError(f"groups[{index}]: field 'key': {rs.groups[index].key!r} is reserved")
    mautic_names = [g.mautic_group or g.key for g in rs.groups]
    _unique("groups", mautic_names, "mautic_group")
    _unique("rules/fit", [*(r.id for r in rs.rules), *(f.id for f in rs.fit)], "id")
    _unique("stages", (s.key for s in rs.stages), "key")
    _unique("triggers", (t.id for t in rs.triggers), "id")

    items: list[tuple[str, int, Rule | FitRule]] = [
        *(("rules", i, r) for i, r in enumerate(rs.rules)),
        *(("fit", i, f) for i, f in enumerate(rs.fit)),
    ]
    for section, i, item in items:
        where = f"{section}[{i}] id={item.id!r}"
        if item.id in _RESERVED_IDS:
            raise ValueError(f"{where}: field 'id': {item.id!r} is reserved")
        allowed = groups | ({FROM_MAUTIC} if section == "rules" else set())
        if item.group is not None and item.group not in allowed:
            raise ValueError(f"{where}: field 'group': unknown group {item.group!r}")
    if rs.inactivity is not None and rs.inactivity.group not in groups:
        raise ValueError(f"inactivity: field 'group': unknown group {rs.inactivity.group!r}")

    for name, bound in rs.bands.items():
        if name == rs.base_band:
            raise ValueError(f"bands: field {name!r}: the same name as base_band")
        if not rs.scale.min < bound <= rs.scale.max:
            raise ValueError(f"bands: field {name!r}: {bound} is outside the scale")

    stage_keys = {s.key for s in rs.stages}
    for i, stage in enumerate(rs.stages):
        where = f"stages[{i}] id={stage.key!r}"
        _check_condition(rs, groups, where, "when", stage.when)
        if stage.reset_score and stage.allow_back:
            raise ValueError(
                f"{where}: field 'allow_back': not with reset_score (the reset would move the "
                "contact straight back)"
            )
    for i, trig in enumerate(rs.triggers):
        where = f"triggers[{i}] id={trig.id!r}"
        _check_condition(rs, groups, where, "when", trig.when)
        if trig.only_after is not None:
            _check_condition(rs, groups, where, "only_after", trig.only_after)
        if trig.before_stage is not None and trig.before_stage not in stage_keys:
            raise ValueError(f"{where}: field 'before_stage': unknown stage {trig.before_stage!r}")
        _check_hysteresis(rs, where, trig.when, trig.rearm_below, trig.rearm_above)


def _unique(section: str, values: Iterable[str], field: str) -> None:
    seen: set[str] = set()
    for value in values:
        if value in seen:
            raise ValueError(f"{section}: field {field!r}: duplicate {value!r}")
        seen.add(value)


def _check_condition(
    rs: RuleSet, groups: set[str], where: str, field: str, cond: Condition
) -> None:
    if cond.group is not None and cond.group not in groups:
        raise ValueError(f"{where}: field '{field}.group': unknown group {cond.group!r}")
    if cond.band is not None and cond.band not in rs.bands:
        known = ", ".join(sorted(rs.bands)) or "none configured"
        raise ValueError(f"{where}: field '{field}.band': unknown band {cond.band!r} ({known})")


def _check_hysteresis(
    rs: RuleSet, where: str, cond: Condition, below: float | None, above: float | None
) -> None:
    bounds = cond.total if cond.total is not None else cond
    lower = bounds.gte if bounds.gte is not None else bounds.gt
    upper = bounds.lte if bounds.lte is not None else bounds.lt
    if cond.band is not None:
        lower, upper = rs.bands[cond.band], None
    if below is not None and (lower is None or upper is not None or below > lower):
        raise ValueError(
            f"{where}: field 'rearm_below': needs an upward condition (gte/gt) and a value "
            "at or below its threshold"
        )
    if above is not None and (upper is None or lower is not None or above < upper):
        raise ValueError(
            f"{where}: field 'rearm_above': needs a downward condition (lte/lt) and a value "
            "at or above its threshold"
        )
