"""The seed material's examples hold with config/scoring.example.toml; explain shows why."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
from scoring_support import EXAMPLE, SITE, T0, days, ev

from scorebridge.scoring import (
    CompiledRules,
    ContactFacts,
    PriorState,
    ScoreResult,
    ScoringEvent,
    compile_rules,
    explain_json,
    explain_text,
    load_rules,
    score,
    top_reasons,
)

ENGINEER_IN_NORWAY = {
    "position": "Maintenance engineer",
    "country": "Norway",
    "email": "a@fjord.no",
}


@pytest.fixture(scope="module")
def rules() -> CompiledRules:
    return compile_rules(load_rules(EXAMPLE))


def scored(rules: CompiledRules, events: list[ScoringEvent], fields: dict, as_of=T0) -> ScoreResult:
    return score(events, ContactFacts(11, fields), rules, as_of, PriorState())


def visit_and_newsletter() -> list[ScoringEvent]:
    return [
        ev("mautic:page_hits:1", "page.hit", T0 - days(2), url=f"{SITE}/"),
        ev(
            "mautic:form_submissions:1",
            "form.submit",
            T0 - days(2) + timedelta(minutes=3),
            form_id="1",
        ),
    ]


def test_a_visit_plus_a_newsletter_subscription_is_cold(rules: CompiledRules) -> None:
    result = scored(rules, visit_and_newsletter(), ENGINEER_IN_NORWAY)
    # visit 1 x 0.5^(2/30) + newsletter (3 minutes later) 3 x 0.5^((2 - 3/1440)/90)
    assert result.total == pytest.approx(0.5 ** (2 / 30) + 3 * 0.5 ** ((2 - 3 / 1440) / 90))
    assert (result.total_value, result.band, result.stage, result.fired) == (4, "cold", None, [])
    assert result.group_values == {"engagement": 4, "product_a": 0, "product_b": 0}


def buying_day() -> list[ScoringEvent]:
    day = T0 - days(1)
    return [
        ev("mautic:page_hits:9", "page.hit", day, url=f"{SITE}/pricing?plan=pro"),
        ev("mautic:form_submissions:7", "form.submit", day + timedelta(minutes=5), form_id=3),
        ev("mautic:asset_downloads:1", "asset.download", day + timedelta(minutes=9), asset_id="1"),
    ]


def test_pricing_a_demo_and_the_price_list_make_a_hot_sql_with_one_task_and_one_deal(
    rules: CompiledRules,
) -> None:
    result = scored(rules, buying_day(), ENGINEER_IN_NORWAY)
    # pricing 8 + visit 1 (half-life 30), demo 40 (90), price list 30 (60): one day old each
    minutes = 1 / 1440
    expected = (
        9 * 0.5 ** (1 / 30) + 40 * 0.5 ** ((1 - 5 * minutes) / 90)
        + 30 * 0.5 ** ((1 - 9 * minutes) / 60)
    )  # fmt: skip
    assert result.total == pytest.approx(expected)
    assert (result.total_value, result.band, result.stage) == (78, "hot", "sql")
    assert result.stage_score_value == 0  # counted from the SQL entry, now
    fired = {f.trigger_id: [a["do"] for a in f.actions] for f in result.fired}
    assert fired == {
        "warm-notify-sales": ["crm.task", "mautic.segment.add"],
        "turned-hot": ["crm.deal"],
    }
    assert top_reasons(result, 3, rules) == [
        "Requested a demo (form 3) on 2026-11-19: +40",
        "Downloaded the price list (asset 1) on 2026-11-19: +30",
        "Visited the pricing page (/pricing) on 2026-11-19: +8",
    ]


def test_the_same_day_from_outside_the_region_is_warm_by_exactly_the_penalty(
    rules: CompiledRules,
) -> None:
    inside = scored(rules, buying_day(), ENGINEER_IN_NORWAY)
    outside = scored(rules, buying_day(), {**ENGINEER_IN_NORWAY, "country": "Austria"})
    assert inside.total - outside.total == pytest.approx(20)
    assert (outside.total_value, outside.band, outside.stage) == (58, "warm", "mql")


def test_competitors_and_students_are_pushed_down(rules: CompiledRules) -> None:
    events = [*buying_day(), ev("q", "form.submit", T0 - days(1), form_id=4)]
    competitor = scored(rules, events, {"country": "Norway", "email": "spy@predicto.example"})
    student = scored(rules, events, {"country": "Norway", "position": "Student"})
    assert (competitor.total_value, competitor.band, competitor.fired) == (0, "cold", [])
    # 78 + quote 45 = 123 before the student's -40: still clamped at 100 -> 83
    assert student.total_value == 83
    lone_quote = scored(rules, events[-1:], {"country": "Norway", "position": "Student"})
    assert lone_quote.total_value == 5  # quote 45 x 0.5^(1/90) - 40 = 4.65


def test_explain_lists_every_contribution_by_impact(rules: CompiledRules) -> None:
    events = [
        *visit_and_newsletter(),
        ev("o1", "email.open", T0 - days(1), email_id=2, user_agent="GoogleImageProxy"),
        ev("m1", "manual", T0 - days(1), delta=5, group="product_a", reason="Met at trade fair"),
    ]
    result = scored(rules, events, ENGINEER_IN_NORWAY)
    data = explain_json(result, rules)
    json.dumps(data)  # JSON-ready
    points = [abs(c["points"]) for c in data["contributions"]]
    assert points == sorted(points, reverse=True)
    by_rule = {c["rule"]: c for c in data["contributions"]}
    assert by_rule["email-open"]["factor"] == 0.0
    assert "suspect open: proxy/scanner user agent" in by_rule["email-open"]["note"]
    assert by_rule["manual"]["note"] == "Met at trade fair"
    assert data["groups"]["product_a"] == {"value": 5, "exact": 5.0, "max": 40.0}
    assert data["triggers"]["turned-hot"]["armed"] is True
    lines = {(r["group"], r["rule"]): r for r in data["rules"]}
    assert lines[("engagement", "newsletter")]["events"] == 1
    text = explain_text(result, rules)
    assert "product_a: 5 of max 40" in text
    assert "Manual adjustment" in text
    assert max(len(line) for line in text.splitlines()) <= 80
    assert f"Score {result.total_value} (cold)" in text


def test_top_reasons_aggregate_repeated_events(rules: CompiledRules) -> None:
    visits = [ev(f"p{i}", "page.hit", T0 - days(i), url=f"{SITE}/pricing") for i in (1, 2, 3)]
    result = scored(rules, visits, ENGINEER_IN_NORWAY)
    assert "Visited the pricing page 3x, last on 2026-11-19: +23" in top_reasons(result, 5, rules)
