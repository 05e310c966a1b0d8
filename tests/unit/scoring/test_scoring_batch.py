"""Bulk scoring (scoring.batch) decides exactly what the pure engine decides, contact by contact."""

from __future__ import annotations

import json
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from scoring_support import T0, days, ruleset

from scorebridge.scoring import CompiledRules, ContactFacts, PriorState, ScoringEvent, score
from scorebridge.scoring.batch import (
    BatchInput,
    BatchResult,
    EventShape,
    FieldColumns,
    fresh_triggers,
    score_batch,
    to_us,
)
from scorebridge.scoring.model import TriggerState

URLS = ["https://x.example/pricing", "https://x.example/blog/1", "https://x.example/"]
Contact = tuple[list[ScoringEvent], dict[str, Any], datetime | None, PriorState]


def build(contacts: list[Contact], rules: CompiledRules) -> BatchInput:
    """Columnar input for these contacts (the way the store loader builds it)."""
    shapes: dict[str, int] = {}
    shape_list: list[EventShape] = []
    rows, times, shape_ids = [], [], []
    for row, (events, _, _, _) in enumerate(contacts):
        for e in events:
            text = e.kind + json.dumps(dict(e.attributes), sort_keys=True)
            if text not in shapes:
                shapes[text] = len(shape_list)
                shape_list.append(EventShape(e.kind, dict(e.attributes)))
            rows.append(row)
            times.append(to_us(e.occurred_at))
            shape_ids.append(shapes[text])
    n = len(contacts)
    armed, episode, primed = fresh_triggers(n, rules)
    stage_keys = [s.key for s in rules.stages]
    for row, (_, _, _, prior) in enumerate(contacts):
        for j, trig in enumerate(rules.triggers):
            state = prior.triggers.get(trig.id)
            if state is not None:
                armed[row, j], episode[row, j], primed[row, j] = (
                    state.armed,
                    state.episode,
                    state.primed,
                )
    return BatchInput(
        contact_ids=np.arange(1, n + 1, dtype=np.int64),
        fields=FieldColumns.from_rows([c[1] for c in contacts]),
        last_activity_us=np.array([to_us(c[2]) for c in contacts], np.int64),
        prior_stage=np.array(
            [stage_keys.index(c[3].stage) if c[3].stage in stage_keys else -1 for c in contacts],
            np.int64,
        ),
        prior_entered_us=np.array([to_us(c[3].stage_entered_at) for c in contacts], np.int64),
        prior_armed=armed,
        prior_episode=episode,
        prior_primed=primed,
        event_row=np.array(rows, np.int64),
        event_us=np.array(times, np.int64),
        event_shape=np.array(shape_ids, np.int64),
        shapes=shape_list,
    )


def assert_same(batch: BatchResult, row: int, contact: Contact, rules: CompiledRules) -> None:
    events, fields, last, prior = contact
    facts = ContactFacts(contact_id=row + 1, fields=fields, last_activity_at=last)
    pure = score(events, facts, rules, T0, prior, with_ledger=False)
    assert batch.group_values[row].tolist() == [pure.group_values[g] for g in rules.groups]
    assert batch.groups[row].tolist() == pytest.approx([pure.groups[g] for g in rules.groups])
    assert (batch.total_value[row], batch.band[row]) == (pure.total_value, pure.band)
    assert batch.total[row] == pytest.approx(pure.total)
    assert batch.stage_score_value[row] == pure.stage_score_value
    assert batch.stage_score[row] == pytest.approx(pure.stage_score)
    stage = rules.stages[batch.stage[row]].key if batch.stage[row] >= 0 else None
    assert stage == pure.stage
    assert batch.stage_entered_us[row] == to_us(pure.stage_entered_at)
    for j, trig in enumerate(rules.triggers):
        state = TriggerState(
            bool(batch.armed[row, j]), int(batch.episode[row, j]), bool(batch.primed[row, j])
        )
        assert state == pure.triggers[trig.id]
    assert [f for r, f in batch.fired if r == row] == pure.fired


RULES = {
    "scale": {"min": 0, "max": 100},
    "bands": {"warm": 25, "hot": 75},
    "inactivity": {"after_days": 30, "points": -10, "every_days": 30},
    "groups": [{"key": "product_a", "max": 60, "weight": 1.5}, {"key": "product_b"}],
    "fit": [
        {"id": "boss", "field": "position", "matches": "(?i)ceo|owner", "points": 15},
        {"id": "region", "field": "country", "not_in": ["Hungary"], "points": -20},
    ],
    "stages": [
        {"key": "mql", "when": {"total": {"gte": 25}}, "allow_back": True},
        {"key": "sql", "when": {"total": {"gte": 75}}, "reset_score": True},
    ],
    "triggers": [
        {
            "id": "warm",
            "when": {"total": {"gte": 50}},
            "rearm_below": 40,
            "actions": [{"do": "crm.task"}],
        },
        {"id": "pa", "when": {"group": "product_a", "gte": 30}, "actions": [{"do": "crm.task"}]},
        {"id": "hot", "when": {"band": "hot"}, "actions": [{"do": "crm.deal"}]},
        {
            "id": "cooling",
            "when": {"total": {"lt": 20}},
            "only_after": {"total": {"gte": 40}},
            "actions": [{"do": "mautic.segment.add", "segment": "Re-activation"}],
        },
    ],
}


@st.composite
def behaviour_rules(draw: st.DrawFn) -> list[dict[str, Any]]:
    out: list[dict[str, Any]] = []
    for i in range(draw(st.integers(1, 6))):
        kind = draw(st.sampled_from(["page.hit", "email.open", "form.submit", "mautic.points"]))
        rule: dict[str, Any] = {"id": f"r{i}", "event": kind}
        rule["points"] = draw(st.sampled_from([1, 2.5, 5, 10, -3, 0.3]))
        rule["group"] = draw(st.sampled_from([None, "product_a", "product_b"]))
        if kind == "page.hit":
            rule["url"] = draw(st.sampled_from(["*/pricing*", "*x.example*", "*/blog/*"]))
        if kind == "form.submit":
            rule["form_id"] = draw(st.sampled_from([[1], [1, 2]]))
        if kind == "email.open":
            rule["suspect_open_factor"] = draw(st.sampled_from([None, 0.0, 0.5]))
        if kind == "mautic.points":
            rule["points"] = draw(st.sampled_from(["delta", 2]))
            rule["group"] = draw(st.sampled_from([None, "from_mautic", "product_b"]))
        decay = draw(st.sampled_from(["none", "half", "linear", "expire", "half+expire"]))
        if "half" in decay:
            rule["half_life_days"] = draw(st.sampled_from([7, 30, 12.5]))
        if decay == "linear":
            rule["linear_decay_days"] = 60
        if "expire" in decay:
            rule["expires_after_days"] = draw(st.sampled_from([10, 45]))
        if draw(st.booleans()):
            rule["max_per_day"] = draw(st.integers(1, 2))
        if draw(st.booleans()):
            rule["max_total"] = draw(st.integers(1, 4))
        out.append({k: v for k, v in rule.items() if v is not None})
    return out


EVENT_TIMES = [T0 - days(d) for d in (0, 0.5, 1, 2, 9.99, 10, 29, 31, 45, 70, 120)] + [T0 + days(1)]


@st.composite
def contact(draw: st.DrawFn) -> Contact:
    events: list[ScoringEvent] = []
    for i in range(draw(st.integers(0, 10))):
        at = draw(st.sampled_from(EVENT_TIMES)) + timedelta(seconds=draw(st.integers(0, 3)))
        kind = draw(
            st.sampled_from(["page.hit", "email.open", "form.submit", "mautic.points", "manual"])
        )
        attrs: dict[str, Any] = {}
        if kind == "page.hit":
            attrs["url"] = draw(st.sampled_from(URLS))
        elif kind == "form.submit":
            attrs["form_id"] = draw(st.sampled_from([1, "2", 3]))
        elif kind == "email.open":
            attrs["email_id"] = 4
            flavour = draw(st.sampled_from(["human", "proxy", "fast", "slow"]))
            if flavour == "proxy":
                attrs["user_agent"] = "Mozilla/5.0 (via ggpht.com GoogleImageProxy)"
            elif flavour in ("fast", "slow"):
                sent = at - timedelta(seconds=5 if flavour == "fast" else 3600)
                attrs["date_sent"] = sent.replace(tzinfo=None).isoformat()
        elif kind == "mautic.points":
            attrs["delta"] = draw(st.sampled_from([5, "3", -2, "x", None]))
            attrs["group"] = draw(st.sampled_from([None, "product_a", "Product_B", "other"]))
        else:
            attrs["delta"] = draw(st.sampled_from([10, -5, 7.5]))
            attrs["group"] = draw(st.sampled_from(["product_a", "nope", None]))
            attrs["reason"] = "call"
        events.append(ScoringEvent(f"k{i}", kind, at, attrs))
    fields = {
        "position": draw(st.sampled_from(["CEO", "student", "", None])),
        "country": draw(st.sampled_from(["Hungary", "Norway", None])),
    }
    last = draw(st.sampled_from([None, T0 - days(40), T0 - days(100)]))
    stage = draw(st.sampled_from([None, "mql", "sql", "gone"]))
    entered = T0 - days(draw(st.sampled_from([0.5, 5, 50]))) if stage else None
    states = {
        t: TriggerState(draw(st.booleans()), draw(st.integers(0, 2)), draw(st.booleans()))
        for t in draw(st.lists(st.sampled_from(["warm", "pa", "hot", "cooling"]), unique=True))
    }
    return events, fields, last, PriorState(stage, entered, states)


@settings(max_examples=150, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(rules=behaviour_rules(), contacts=st.lists(contact(), min_size=1, max_size=6))
def test_batch_agrees_with_the_pure_engine(
    rules: list[dict[str, Any]], contacts: list[Contact]
) -> None:
    compiled = ruleset(rules=rules, **RULES)
    result = score_batch(build(contacts, compiled), compiled, T0)
    for row, c in enumerate(contacts):
        if result.fallback[row]:
            events, fields, last, prior = c
            facts = ContactFacts(contact_id=row + 1, fields=fields, last_activity_at=last)
            result.put(row, score(events, facts, compiled, T0, prior, with_ledger=False), compiled)
        assert_same(result, row, c, compiled)


def test_fallback_is_rare_on_ordinary_contacts() -> None:
    compiled = ruleset(
        rules=[
            {"id": "p", "event": "page.hit", "url": "*", "points": 3, "half_life_days": 30},
            {"id": "f", "event": "form.submit", "points": 20, "max_total": 1},
        ],
        **RULES,
    )
    contacts: list[Contact] = [
        (
            [
                ScoringEvent(
                    f"{i}:{j}", "page.hit", T0 - days(j * 1.7 + i % 5), {"url": URLS[j % 3]}
                )
                for j in range(i % 9)
            ]
            + [ScoringEvent(f"{i}:f", "form.submit", T0 - days(i % 20), {"form_id": 1})],
            {"position": "CEO"},
            None,
            PriorState(),
        )
        for i in range(200)
    ]
    result = score_batch(build(contacts, compiled), compiled, T0)
    assert result.fallback.sum() == 0
    for row in (0, 57, 199):
        assert_same(result, row, contacts[row], compiled)


def test_contacts_entering_a_reset_stage_agree_with_the_pure_engine() -> None:
    compiled = ruleset(
        rules=[{"id": "dl", "event": "asset.download", "group": "product_b", "points": 45}],
        **RULES,
    )
    downloads = [
        ScoringEvent(f"d{i}", "asset.download", T0 - days(3 - i), {"asset_id": 1}) for i in range(2)
    ]
    cooling = {"cooling": TriggerState(True, 0, True), "hot": TriggerState(True, 1, False)}
    contacts: list[Contact] = [
        (downloads, {"country": "Hungary"}, None, PriorState()),
        (downloads, {"position": "CEO"}, None, PriorState("mql", T0 - days(5), cooling)),
        (downloads, {}, None, PriorState("sql", T0, cooling)),
        (downloads[:1], {"country": "Hungary"}, None, PriorState()),
    ]
    result = score_batch(build(contacts, compiled), compiled, T0)
    assert not result.fallback.any()
    assert result.band[:2] == ["hot", "hot"]  # in SQL: the lifetime score stays
    assert result.stage_score_value[:3].tolist() == [0, 15, 0]  # from the SQL entry (+ fit)
    assert [(r, f.trigger_id, f.total) for r, f in result.fired if f.trigger_id == "hot"] == [
        (0, "hot", 90),
        (1, "hot", 100),
        (2, "hot", 90),  # armed on entering SQL earlier: the lifetime score crosses hot now
    ]
    for row, c in enumerate(contacts):
        assert_same(result, row, c, compiled)


def test_same_second_events_fall_back_only_when_their_order_changes_the_score() -> None:
    """Mautic stamps in whole seconds: ties are common and must not send heavy contacts to the
    slow pure engine unless the cap cuts between events of different worth."""
    compiled = ruleset(
        rules=[
            {"id": "p", "event": "page.hit", "url": "*", "points": 3, "max_per_day": 1},
            {"id": "m", "event": "mautic.points", "points": "delta", "max_total": 1},
        ],
        **RULES,
    )
    at = T0 - days(2)
    pages = [ScoringEvent(f"p{i}", "page.hit", at, {"url": URLS[i]}) for i in range(3)]
    points = [
        ScoringEvent("m1", "mautic.points", at, {"delta": 5}),
        ScoringEvent("m2", "mautic.points", at, {"delta": 2}),
    ]
    contacts: list[Contact] = [
        (pages, {}, None, PriorState()),  # three page hits worth 3 each: any one counts the same
        (points, {}, None, PriorState()),  # 5 or 2 points: the engine's key order decides
    ]
    result = score_batch(build(contacts, compiled), compiled, T0)
    assert result.fallback.tolist() == [False, True]
    events, fields, last, prior = contacts[1]
    facts = ContactFacts(contact_id=2, fields=fields, last_activity_at=last)
    result.put(1, score(events, facts, compiled, T0, prior, with_ledger=False), compiled)
    for row, c in enumerate(contacts):
        assert_same(result, row, c, compiled)
