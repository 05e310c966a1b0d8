"""Explanations of a score: JSON for tools, text for people, top reasons for sales tasks.

Owns: turning a :class:`ScoreResult` (and optionally the compiled rules, for labels) into
``explain_json`` (every contribution sorted by impact with rule, event, time, factor and points;
group totals; band; stage; trigger states and fired episodes), ``explain_text`` and
``top_reasons`` ("Requested a demo (form 3) on 2026-11-20: +50"). Must not: score, read the store
or print; the CLI decides where the text goes.
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from scorebridge.scoring.engine import round_half_up
from scorebridge.scoring.matchers import CompiledRules
from scorebridge.scoring.model import Contribution, ScoreResult

_BUILTIN_LABELS = {"inactivity": "No recent activity", "manual": "Manual adjustment"}


def reset_note(result: ScoreResult) -> str | None:
    """Why earlier behaviour does not count ("entered sql at T: ..."), or None without a reset."""
    if result.reset_at is None:
        return None
    return (
        f"entered {result.stage} at {result.reset_at.isoformat()}: earlier behaviour no longer "
        "counts (reset_score)"
    )


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


def _signed(points: float) -> str:
    value = round_half_up(points)
    return f"+{value}" if value >= 0 else str(value)


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


def explain_json(result: ScoreResult, rules: CompiledRules | None = None) -> dict[str, Any]:
    """A JSON-ready explanation of ``result``."""
    labels = rule_labels(rules)
    return {
        "contact_id": result.contact_id,
        "as_of": result.as_of.isoformat(),
        "rule_version": result.version,
        "total": result.total_value,
        "total_exact": result.total,
        "band": result.band,
        "stage": result.stage,
        "stage_entered_at": _iso(result.stage_entered_at),
        "reset_at": _iso(result.reset_at),
        "reset_note": reset_note(result),
        "groups": {
            g: {"value": result.group_values[g], "exact": result.groups[g]} for g in result.groups
        },
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
            }
            for c in by_impact(result.ledger)
        ],
        "triggers": {
            t: {"armed": s.armed, "episode": s.episode, "primed": s.primed}
            for t, s in result.triggers.items()
        },
        "fired": [
            {"trigger": f.trigger_id, "episode": f.episode, "idempotency_key": f.idempotency_key}
            for f in result.fired
        ],
    }


def explain_text(result: ScoreResult, rules: CompiledRules | None = None) -> str:
    """A plain-text explanation, one contribution per line, largest impact first."""
    labels = rule_labels(rules)
    stage = result.stage or "-"
    lines = [
        f"contact {result.contact_id} as of {result.as_of.isoformat()} (rules {result.version})",
        f"total {result.total_value} ({result.band}), stage {stage}",
        "groups: " + ", ".join(f"{g} {v}" for g, v in result.group_values.items()),
    ]
    note = reset_note(result)
    if note is not None:
        lines.append(note)
    lines.append("contributions:")
    for c in by_impact(result.ledger):
        when = c.occurred_at.strftime("%Y-%m-%d %H:%M") if c.occurred_at else "now"
        lines.append(
            f"  {c.points:+8.2f}  {labels.get(c.rule_id, c.rule_id)} [{c.group}] {when} "
            f"({c.base_points:+g} x {c.factor:.3f}){' - ' + c.note if c.note else ''}"
        )
    lines.append("triggers:")
    fired = {f.trigger_id for f in result.fired}
    for trigger_id, state in result.triggers.items():
        mark = " FIRED" if trigger_id in fired else ""
        lines.append(
            f"  {trigger_id}: episode {state.episode}, "
            f"{'armed' if state.armed else 'disarmed'}{mark}"
        )
    return "\n".join(lines)


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
