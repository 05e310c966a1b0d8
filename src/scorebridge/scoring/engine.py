"""The scoring engine: events + contact facts + compiled rules + as_of -> scores and ledger.

Owns: :func:`score`, a pure and deterministic function (no I/O, no clock, no randomness). The
order of the events and duplicates (same ``key``) never change its result: events are
de-duplicated by key, capped rules pick the earliest events by ``(occurred_at, key)`` and group
sums use ``math.fsum`` (exactly rounded, so independent of summation order).
Must not: touch the store, the network or pydantic models.

Semantics beyond DESIGN §5, decided here:
- events after ``as_of`` are ignored (they have not happened yet at ``as_of``);
- ``max_per_day`` counts per UTC calendar day, ``max_total`` over all time; capped events stay in
  the ledger with factor 0 and a note. Caps are applied before decay, so an expired event still
  uses its place under the cap;
- ``points = "delta"`` takes ``attributes["delta"]`` (number or numeric string); rows without a
  usable delta count 0 with a note;
- ``manual`` events need no rule: ``attributes["delta"]`` points in the topic group
  ``attributes["group"]`` (missing or unknown: straight into the total, an unknown one noted),
  never decayed or capped, note = the reason;
- activity (for inactivity) is the latest of ``facts.last_activity_at`` and the page hits, clicks,
  form submissions, downloads and non-suspect opens at or before ``as_of``; without any known
  activity no inactivity penalty applies. The penalty is ``points`` per started ``every_days``
  period once ``after_days`` have passed (idle >= after_days + k * every_days -> k + 1 periods);
- a topic group's score = clamp(fsum(its contributions), 0, group max); contributions without
  a group (fit rules, negative signals, ungrouped behaviour, inactivity, manual adjustments
  without a group) go straight into the total: total = clamp(fsum(weight * group score) +
  fsum(ungrouped), scale.min, scale.max). Reported integers round half up; bands, stages and
  triggers compare them;
- ``score`` (the total) is lifetime and never resets. ``stage_score`` is the same total counted
  with the behaviour window of a ``reset_score`` stage (events from the stage entry on; fit
  rules, inactivity and manual adjustments always count), else equal to the score;
- stages: see :mod:`scoring.stages` (one step per run, entry time = ``as_of``). Stage conditions
  naming ``stage_score`` see the stage score of the stage the contact was in; triggers see the
  values after the step.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import urlsplit

from scorebridge.scoring.conditions import STAGE_SCORE, Values
from scorebridge.scoring.decay import SECONDS_PER_DAY, decay_factor
from scorebridge.scoring.matchers import CompiledRule, CompiledRules
from scorebridge.scoring.model import (
    FROM_MAUTIC,
    ContactFacts,
    Contribution,
    PriorState,
    ScoreResult,
    ScoringEvent,
)
from scorebridge.scoring.opens import suspect_open_reason
from scorebridge.scoring.stages import CompiledStage, next_stage, stage_index
from scorebridge.scoring.triggers import evaluate_triggers

ACTIVITY_KINDS = frozenset(
    {"page.hit", "email.click", "form.submit", "asset.download", "email.open"}
)
_EPSILON = 1e-9


def round_half_up(value: float) -> int:
    """The reported integer of an exact score (2.5 -> 3, -2.5 -> -2; float noise tolerated)."""
    return math.floor(value + 0.5 + _EPSILON)


def _clamp(value: float, low: float, high: float) -> float:
    return low if value < low else high if value > high else value


def _delta(attributes: Any) -> float | None:
    raw = attributes.get("delta")
    if raw is None or isinstance(raw, bool):
        return None
    try:
        value = float(raw)
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def describe_event(kind: str, attributes: Mapping[str, Any]) -> str:
    """A short human description of what an event was about ("form 3", "/pricing")."""
    for key, word in (("form_id", "form"), ("asset_id", "asset"), ("email_id", "email")):
        if attributes.get(key) not in (None, ""):
            detail = f"{word} {attributes[key]}"
            url = attributes.get("url")
            return f"{detail}: {urlsplit(url).path or url}" if isinstance(url, str) else detail
    url = attributes.get("url")
    if isinstance(url, str) and url:
        return urlsplit(url).path or url
    if kind == "mautic.points":
        action = attributes.get("action") or attributes.get("type") or "points"
        group = attributes.get("group")
        return f"Mautic {action}" + (f" in {group}" if group else "")
    return kind


def _order(event: ScoringEvent) -> tuple[datetime, str]:
    return (event.occurred_at, event.key)


def _conflict_order(event: ScoringEvent) -> tuple[datetime, str, str]:
    return (event.occurred_at, event.kind, repr(sorted(event.attributes.items(), key=str)))


def _dedupe(events: Iterable[ScoringEvent], as_of: datetime) -> list[ScoringEvent]:
    seen: dict[str, ScoringEvent] = {}
    for event in events:
        if event.occurred_at > as_of:
            continue
        known = seen.get(event.key)
        if known is None or (known != event and _conflict_order(event) < _conflict_order(known)):
            seen[event.key] = event
    return list(seen.values())


class _Tally:
    """Per-run working state: matched events, suspect opens and the latest activity."""

    def __init__(
        self, events: list[ScoringEvent], rules: CompiledRules, facts: ContactFacts, as_of: datetime
    ) -> None:
        self.per_rule: list[list[ScoringEvent]] = [[] for _ in rules.rules]
        self.manual: list[ScoringEvent] = []
        self.suspect: dict[str, str | None] = {}
        last = facts.last_activity_at
        self.last_activity = last if last is not None and last <= as_of else None
        for event in events:
            kind = event.kind
            if kind == "manual":
                self.manual.append(event)
                continue
            for index in rules.match(kind, event.attributes):
                self.per_rule[index].append(event)
            if kind in ACTIVITY_KINDS:
                if kind == "email.open" and self.suspect_reason(event) is not None:
                    continue
                if self.last_activity is None or event.occurred_at > self.last_activity:
                    self.last_activity = event.occurred_at

    def suspect_reason(self, event: ScoringEvent) -> str | None:
        if event.key not in self.suspect:
            self.suspect[event.key] = suspect_open_reason(event.occurred_at, event.attributes)
        return self.suspect[event.key]


def _add_plain(
    parts: dict[str | None, list[float]],
    rules: CompiledRules,
    rule: CompiledRule,
    events: list[ScoringEvent],
    as_of: datetime,
) -> None:
    """The hot path for uncapped rules without a ledger: only points, in any order."""
    half_life, linear, expires = (
        rule.half_life_days,
        rule.linear_decay_days,
        rule.expires_after_days,
    )
    routed = rule.group == FROM_MAUTIC
    target = parts[rule.group] if not routed else None
    for event in events:
        base = rule.points if rule.points is not None else _delta(event.attributes)
        if base is None:
            continue
        age = (as_of - event.occurred_at).total_seconds() / SECONDS_PER_DAY
        points = base * decay_factor(age, half_life, linear, expires)
        if target is None:
            parts[rules.route_mautic_group(event.attributes.get("group"))].append(points)
        else:
            target.append(points)


@dataclass(frozen=True, slots=True)
class _Sums:
    """Topic group scores (clamped) and the points that go straight into the total."""

    groups: dict[str, float]
    ungrouped: float

    def total(self, rules: CompiledRules) -> float:
        weighted = [rules.group_weight[g] * v for g, v in self.groups.items()]
        return _clamp(math.fsum([*weighted, self.ungrouped]), rules.scale_min, rules.scale_max)


def _sum(
    tally: _Tally,
    facts: ContactFacts,
    rules: CompiledRules,
    as_of: datetime,
    cutoff: datetime | None,
    ledger: list[Contribution] | None,
) -> _Sums:
    """The sums of every contribution at ``as_of``, behaviour from ``cutoff`` on (None: all)."""
    parts: dict[str | None, list[float]] = {g: [] for g in rules.groups}
    parts[None] = []

    def add(
        rule_id: str,
        group: str | None,
        event: ScoringEvent | None,
        base: float,
        factor: float,
        note: str,
    ) -> None:
        points = base * factor
        parts[group].append(points)
        if ledger is not None:
            if event is not None and event.kind != "manual":
                detail = describe_event(event.kind, event.attributes)
                note = f"{detail}; {note}" if note else detail
            ledger.append(
                Contribution(
                    rule_id,
                    group,
                    None if event is None else event.key,
                    None if event is None else event.occurred_at,
                    base,
                    factor,
                    points,
                    note,
                )
            )

    for rule in rules.rules:
        events = tally.per_rule[rule.index]
        if cutoff is not None:
            events = [e for e in events if e.occurred_at >= cutoff]
        if not events:
            continue
        if ledger is None and not rule.capped and rule.suspect_open_factor is None:
            _add_plain(parts, rules, rule, events, as_of)
            continue
        events = sorted(events, key=_order)
        per_day: dict[float, int] = {}
        counted = 0
        for event in events:
            base = rule.points if rule.points is not None else _delta(event.attributes)
            group = rules.group_of(rule, event.attributes)
            if base is None:
                add(rule.id, group, event, 0.0, 0.0, "no usable delta")
                continue
            if rule.max_per_day is not None:
                day = event.occurred_at.timestamp() // SECONDS_PER_DAY  # the UTC day
                if per_day.get(day, 0) >= rule.max_per_day:
                    add(rule.id, group, event, base, 0.0, f"over max_per_day={rule.max_per_day}")
                    continue
                per_day[day] = per_day.get(day, 0) + 1
            if rule.max_total is not None:
                if counted >= rule.max_total:
                    add(rule.id, group, event, base, 0.0, f"over max_total={rule.max_total}")
                    continue
                counted += 1
            age = (as_of - event.occurred_at).total_seconds() / SECONDS_PER_DAY
            factor = decay_factor(
                age, rule.half_life_days, rule.linear_decay_days, rule.expires_after_days
            )
            note = "expired" if factor == 0.0 and rule.expires_after_days is not None else ""
            if rule.suspect_open_factor is not None:
                reason = tally.suspect_reason(event)
                if reason is not None:
                    factor *= rule.suspect_open_factor
                    note = f"suspect open: {reason}"
            add(rule.id, group, event, base, factor, note)

    for fit in rules.fit:
        if fit.holds(facts.fields):
            add(fit.id, fit.group, None, fit.points, 1.0, fit.description)

    inactivity = rules.inactivity
    if inactivity is not None and tally.last_activity is not None:
        idle = (as_of - tally.last_activity).total_seconds() / SECONDS_PER_DAY
        if idle >= inactivity.after_days:
            periods = 1 + math.floor((idle - inactivity.after_days) / inactivity.every_days)
            add(
                "inactivity",
                inactivity.group,
                None,
                inactivity.points,
                float(periods),
                f"no activity for {math.floor(idle)} days ({periods} period(s))",
            )

    for event in sorted(tally.manual, key=_order):
        attrs = event.attributes
        wanted = attrs.get("group")
        group = wanted if isinstance(wanted, str) and wanted in rules.group_max else None
        reason = str(attrs.get("reason") or "manual adjustment")
        if wanted not in (None, "", group):
            reason = f"{reason} (unknown group {wanted!r}: counted in the total)"
        delta = _delta(attrs)
        add("manual", group, event, delta or 0.0, 1.0 if delta is not None else 0.0, reason)

    return _Sums(
        {g: _clamp(math.fsum(parts[g]), 0.0, rules.group_max[g]) for g in rules.groups},
        math.fsum(parts[None]),
    )


def reset_cutoff(
    stages: tuple[CompiledStage, ...], current: int, entered_at: datetime | None, as_of: datetime
) -> datetime | None:
    """From when behaviour counts in stage ``current``: its entry time if it resets the score."""
    if current < 0 or entered_at is None or not stages[current].reset_score:
        return None
    return entered_at if as_of >= entered_at else None


def score(
    events: Iterable[ScoringEvent],
    facts: ContactFacts,
    rules: CompiledRules,
    as_of: datetime,
    prior: PriorState,
    *,
    with_ledger: bool = True,
) -> ScoreResult:
    """Score one contact at ``as_of`` from all its events (any order, duplicates allowed).

    ``with_ledger=False`` skips building the contribution lists (bulk rescoring); every other
    field of the result is identical.
    """
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware (UTC)")
    tally = _Tally(_dedupe(events, as_of), rules, facts, as_of)
    stages = rules.stages
    current = stage_index(stages, prior.stage)
    entered_at = prior.stage_entered_at if current >= 0 else None

    ledger: list[Contribution] | None = [] if with_ledger else None
    lifetime = _sum(tally, facts, rules, as_of, None, ledger)
    values = {g: round_half_up(v) for g, v in lifetime.groups.items()}
    total = lifetime.total(rules)
    total_value = round_half_up(total)

    def stage_total(window: datetime | None, keep: list[Contribution] | None) -> float:
        if window is None:
            return total
        return _sum(tally, facts, rules, as_of, window, keep).total(rules)

    window = reset_cutoff(stages, current, entered_at, as_of)
    before = total_value
    if window is not None and any(s.when.subject == STAGE_SCORE for s in stages):
        before = round_half_up(stage_total(window, None))
    target = next_stage(stages, current, Values(total_value, before, values))
    if target != current:
        current, entered_at = target, (as_of if target >= 0 else None)
    window = reset_cutoff(stages, current, entered_at, as_of)
    stage_ledger: list[Contribution] | None = [] if with_ledger and window is not None else None
    staged = stage_total(window, stage_ledger)
    staged_value = round_half_up(staged)
    states, fired = evaluate_triggers(
        rules.triggers, prior.triggers, facts.contact_id, Values(total_value, staged_value, values),
        current,
    )  # fmt: skip
    return ScoreResult(
        contact_id=facts.contact_id,
        as_of=as_of,
        version=rules.version,
        groups=lifetime.groups,
        group_values=values,
        total=total,
        total_value=total_value,
        band=rules.band_of(total_value),
        stage=stages[current].key if current >= 0 else None,
        stage_entered_at=entered_at,
        triggers=states,
        fired=fired,
        ledger=ledger if ledger is not None else [],
        stage_score=staged,
        stage_score_value=staged_value,
        reset_at=window,
        stage_ledger=stage_ledger,
    )
