"""Explanations of a score: JSON for tools, text for people, top reasons for sales tasks.

Owns: turning a :class:`ScoreResult` (with the compiled rules for labels, and optionally the
stored :class:`History` of the contact: its stage entries and trigger episodes with the status
of their actions) into ``explain_json``, ``explain_text`` (readable at 80 columns: the score and
stage score, the contributions grouped by topic group and rule with counts and decay, the stage
history, the trigger episodes) and ``top_reasons`` ("Requested a demo (form 3) on 2026-11-20:
+50", the body of a sales task). Must not: score, read the store or print; the CLI decides where
the text goes.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from scorebridge.scoring.engine import round_half_up
from scorebridge.scoring.matchers import CompiledRules
from scorebridge.scoring.model import Contribution, ScoreResult

_BUILTIN_LABELS = {"inactivity": "No recent activity", "manual": "Manual adjustment"}
UNGROUPED = "Straight into the total"
WIDTH = 80


@dataclass(frozen=True)
class ActionStatus:
    """One action of a trigger episode: ``status`` is sent, pending, dead-lettered, skipped or
    silenced; ``detail`` says more (the task id, the error, the switched-off setting)."""

    do: str
    status: str
    detail: str = ""


@dataclass(frozen=True)
class Episode:
    """One firing of a trigger (or its silenced first episode)."""

    trigger_id: str
    episode: int
    fired_at: datetime | None
    silenced: bool
    actions: tuple[ActionStatus, ...] = ()


@dataclass(frozen=True)
class StageVisit:
    """An entry into a funnel stage, the score it entered with, and what made that score."""

    stage: str
    entered_at: datetime
    score: int
    reasons: tuple[str, ...] = ()


@dataclass(frozen=True)
class History:
    """What the store remembers about a contact beyond its events."""

    mautic_id: int | None = None
    email: str | None = None
    name: str = ""
    stages: tuple[StageVisit, ...] = ()
    episodes: tuple[Episode, ...] = ()


@dataclass
class RuleLine:
    """The contributions of one rule to one group: how many events, their points then and now."""

    group: str | None
    rule_id: str
    label: str
    events: int = 0
    capped: int = 0
    base: float = 0.0
    points: float = 0.0
    notes: list[str] = field(default_factory=list)

    @property
    def decayed(self) -> bool:
        return abs(self.base - self.points) > 1e-9 and self.events > self.capped


def rule_labels(rules: CompiledRules | None) -> dict[str, str]:
    """rule id -> human label (behaviour rules, fit rules and the built-in lines)."""
    labels = dict(_BUILTIN_LABELS)
    if rules is not None:
        labels.update({r.id: r.label for r in rules.rules})
        labels.update({f.id: f.label for f in rules.fit})
    return labels


def by_impact(ledger: Sequence[Contribution]) -> list[Contribution]:
    """Contributions by absolute points (largest first), then time and event, deterministically."""
    return sorted(
        ledger,
        key=lambda c: (
            -abs(c.points),
            c.occurred_at.isoformat() if c.occurred_at else "",
            c.rule_id,
            c.event_key or "",
        ),
    )


def rule_lines(
    ledger: Sequence[Contribution], rules: CompiledRules | None = None
) -> list[RuleLine]:
    """The ledger grouped by (group, rule), largest impact first within each group."""
    labels = rule_labels(rules)
    lines: dict[tuple[str | None, str], RuleLine] = {}
    for c in ledger:
        key = (c.group, c.rule_id)
        line = lines.get(key)
        if line is None:
            line = lines[key] = RuleLine(c.group, c.rule_id, labels.get(c.rule_id, c.rule_id))
        line.events += 1
        if c.factor == 0.0 and c.base_points != 0.0:
            line.capped += 1
        else:
            line.base += c.base_points
        line.points += c.points
    order = {g: i for i, g in enumerate(rules.groups)} if rules is not None else {}
    return sorted(
        lines.values(),
        key=lambda ln: (
            ln.group is None,
            order.get(ln.group or "", len(order)),
            ln.group or "",
            -abs(ln.points),
            ln.rule_id,
        ),
    )


def _signed(points: float) -> str:
    value = round_half_up(points)
    return f"+{value}" if value >= 0 else str(value)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def _day(moment: datetime | None) -> str:
    return moment.strftime("%Y-%m-%d") if moment is not None else "-"


def explain_json(
    result: ScoreResult, rules: CompiledRules | None = None, history: History | None = None
) -> dict[str, Any]:
    """A JSON-ready explanation of ``result``."""
    labels = rule_labels(rules)
    history = history or History()
    ungrouped = sum(c.points for c in result.ledger if c.group is None)
    return {
        "contact_id": history.mautic_id,
        "email": history.email,
        "as_of": result.as_of.isoformat(),
        "rule_version": result.version,
        "score": result.total_value,
        "total": result.total_value,
        "total_exact": result.total,
        "stage_score": result.stage_score_value,
        "stage_score_exact": result.stage_score,
        "band": result.band,
        "stage": result.stage,
        "stage_entered_at": _iso(result.stage_entered_at),
        "stage_score_since": _iso(result.reset_at),
        "groups": {
            g: {
                "value": result.group_values[g],
                "exact": result.groups[g],
                "max": rules.group_max[g] if rules is not None else None,
            }
            for g in result.groups
        },
        "ungrouped": ungrouped,
        "rules": [
            {
                "group": ln.group,
                "rule": ln.rule_id,
                "label": ln.label,
                "events": ln.events,
                "not_counted": ln.capped,
                "base_points": ln.base,
                "points": ln.points,
            }
            for ln in rule_lines(result.ledger, rules)
        ],
        "contributions": [
            {
                "rule": c.rule_id,
                "label": labels.get(c.rule_id, c.rule_id),
                "group": c.group,
                "event": c.event_key,
                "occurred_at": _iso(c.occurred_at),
                "base_points": c.base_points,
                "factor": c.factor,
                "points": c.points,
                "note": c.note,
                "in_stage_score": _in_stage(c, result),
            }
            for c in by_impact(result.ledger)
        ],
        "stage_history": [
            {
                "stage": v.stage,
                "entered_at": v.entered_at.isoformat(),
                "score": v.score,
                "reasons": list(v.reasons),
            }
            for v in history.stages
        ],
        "triggers": {
            t: {
                "armed": s.armed,
                "episode": s.episode,
                "primed": s.primed,
                "episodes": [
                    {
                        "episode": e.episode,
                        "fired_at": _iso(e.fired_at),
                        "silenced": e.silenced,
                        "actions": [
                            {"do": a.do, "status": a.status, "detail": a.detail} for a in e.actions
                        ],
                    }
                    for e in history.episodes
                    if e.trigger_id == t
                ],
            }
            for t, s in result.triggers.items()
        },
        "fired": [
            {"trigger": f.trigger_id, "episode": f.episode, "idempotency_key": f.idempotency_key}
            for f in result.fired
        ],
    }


def _in_stage(c: Contribution, result: ScoreResult) -> bool:
    if result.reset_at is None or c.occurred_at is None or c.rule_id == "manual":
        return True
    return c.occurred_at >= result.reset_at


def explain_text(
    result: ScoreResult, rules: CompiledRules | None = None, history: History | None = None
) -> str:
    """A plain-text explanation for a terminal (lines of at most 80 characters)."""
    history = history or History()
    who = history.name or history.email or "this contact"
    if history.mautic_id is not None:
        who += f" (Mautic contact {history.mautic_id})"
    lines = [
        _fit(who),
        f"Score {result.total_value} ({result.band}) as of "
        f"{result.as_of:%Y-%m-%d %H:%M} UTC, rules {result.version}",
    ]
    if result.stage is not None:
        stage = f"Stage {result.stage} since {_day(result.stage_entered_at)}"
        if result.reset_at is not None:
            stage += f"; stage score {result.stage_score_value} (counted since the entry)"
        lines.append(_fit(stage))
    lines += ["", "Where the points come from"]
    current: object = object()
    for ln in rule_lines(result.ledger, rules):
        if ln.group != current:
            current = ln.group
            if ln.group is None:
                lines.append(f"  {UNGROUPED}")
            else:
                cap = f" of max {rules.group_max[ln.group]:g}" if rules is not None else ""
                lines.append(
                    f"  {ln.group}: {result.group_values.get(ln.group, 0)}{cap}"
                    + (
                        f" (x{rules.group_weight[ln.group]:g})"
                        if rules is not None and rules.group_weight[ln.group] != 1
                        else ""
                    )  # fmt: skip
                )
        lines.append(_rule_line(ln))
    if not result.ledger:
        lines.append("  (nothing scored yet)")
    if history.stages:
        lines += ["", "Stage history"]
        for visit in history.stages:
            why = "; ".join(visit.reasons[:2])
            lines.append(
                _fit(f"  {visit.stage:<8} {_day(visit.entered_at)}  with {visit.score}: {why}")
            )
    if result.triggers:
        lines += ["", "Triggers"]
        fired_now = {f.trigger_id for f in result.fired}
        for trigger_id, state in result.triggers.items():
            episodes = [e for e in history.episodes if e.trigger_id == trigger_id]
            if not episodes:
                mark = "fires now" if trigger_id in fired_now else "never fired"
                status = "armed" if state.armed else "waiting to re-arm"
                lines.append(_fit(f"  {trigger_id}: {mark}, {status}"))
                continue
            for e in episodes:
                if e.silenced:
                    what = "silenced (the contact existed before the first sync)"
                else:
                    what = ", ".join(f"{a.do} {a.status}" for a in e.actions) or "no actions"
                lines.append(_fit(f"  {trigger_id} #{e.episode} {_day(e.fired_at)}: {what}"))
            if state.armed:
                lines.append("    re-armed: fires again on the next crossing")
    return "\n".join(lines)


def _rule_line(ln: RuleLine) -> str:
    count = f"{ln.events}x" if ln.events > 1 else ""
    detail = ""
    if ln.decayed:
        detail = f" (was {_signed(ln.base)})"
    if ln.capped:
        detail += f" ({ln.capped} over a cap)"
    label = ln.label
    room = WIDTH - 4 - 4 - 6 - len(detail)
    if len(label) > room:
        label = label[: room - 1] + "…"
    return f"    {label:<{room}}{count:>4}{_signed(ln.points):>6}{detail}"


def _fit(text: str) -> str:
    return text if len(text) <= WIDTH else text[: WIDTH - 1] + "…"


def top_reasons(result: ScoreResult, n: int = 5, rules: CompiledRules | None = None) -> list[str]:
    """The ``n`` rules with the largest impact, one line each, for a sales task body."""
    labels = rule_labels(rules)
    per_rule: dict[str, list[Contribution]] = {}
    for c in result.ledger:
        if c.points != 0:
            per_rule.setdefault(c.rule_id, []).append(c)
    ranked = sorted(
        per_rule.items(), key=lambda item: (-abs(sum(c.points for c in item[1])), item[0])
    )
    lines = []
    for rule_id, items in ranked[:n]:
        label = labels.get(rule_id, rule_id)
        points = _signed(sum(c.points for c in items))
        dated = sorted(
            ((c.occurred_at, c) for c in items if c.occurred_at is not None),
            key=lambda pair: (pair[0], pair[1].event_key or ""),
        )
        if not dated:
            lines.append(f"{label}: {points}")
        elif len(dated) == 1:
            moment, c = dated[0]
            detail = c.note.split(";", 1)[0] if rule_id != "manual" else c.note
            lines.append(f"{label} ({detail}) on {moment:%Y-%m-%d}: {points}")
        else:
            last = dated[-1][0]
            lines.append(f"{label} {len(dated)}x, last on {last:%Y-%m-%d}: {points}")
    return lines
