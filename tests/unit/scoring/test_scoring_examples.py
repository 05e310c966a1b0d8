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
    assert result.band == "cold"
    assert result.total_value == 18  # visit 3 + newsletter 10 + target region 5 (barely decayed)
    assert result.stage is None
    assert not result.fired


def test_downloading_the_price_list_after_that_makes_the_lead_hot(rules: CompiledRules) -> None:
    events = [
        *visit_and_newsletter(),
        ev("mautic:asset_downloads:1", "asset.download", T0 - days(1), asset_id="1"),
    ]
    result = scored(rules, events, ENGINEER_IN_NORWAY)
    # 82 points make the lead hot: it enters SQL (reset_score) and the triggers fire on the 82
    assert {f.trigger_id for f in result.fired} == {"warm-notify-sales", "turned-hot"}
    deal = next(f for f in result.fired if f.trigger_id == "turned-hot")
    assert (deal.idempotency_key, deal.total) == ("turned-hot:11:1", 82)
    assert deal.actions == ({"do": "crm.deal", "pipeline": "default"},)
    # ... and the same run reports the SQL stage's own score: only the target region counts
    assert (result.stage, result.stage_entered_at, result.reset_at) == ("sql", T0, T0)
    assert (result.total_value, result.band) == (5, "cold")
    assert "entered sql at 2026-11-20" in explain_text(result, rules)
    qualifying = score(
        events, ContactFacts(11, ENGINEER_IN_NORWAY), rules, T0, PriorState(), reset=False
    )
    assert (qualifying.total_value, qualifying.band) == (82, "hot")
    reasons = top_reasons(qualifying, 2, rules)
    assert reasons[0] == "Downloaded the price list (asset 1) on 2026-11-19: +64"
    assert reasons[1].startswith("Subscribed to the newsletter (form 1) on 2026-11-18: +10")


def test_demo_request_and_pricing_visit_from_outside_the_region(rules: CompiledRules) -> None:
    events = [
        ev("mautic:form_submissions:7", "form.submit", T0 - timedelta(hours=2), form_id=3),
        ev("mautic:page_hits:9", "page.hit", T0 - timedelta(hours=3), url=f"{SITE}/pricing"),
    ]
    fields = {"position": "Plant manager", "country": "Austria", "email": "x@werk.at"}
    result = scored(rules, events, fields)
    # demo 50 + pricing 10 + site visit 3 - outside the target region 20 = 43 (decay < 0.1)
    assert result.group_values == {"general": 40, "engagement": 3, "product_a": 0, "product_b": 0}
    assert (result.total_value, result.band, result.stage) == (43, "warm", "mql")
    assert not result.fired  # the warm notification waits for 50
    assert top_reasons(result, 3, rules) == [
        "Requested a demo (form 3) on 2026-11-20: +50",
        "Outside the target region: -20",
        "Visited the pricing page (/pricing) on 2026-11-20: +10",
    ]


def test_competitors_and_students_are_pushed_down(rules: CompiledRules) -> None:
    events = [ev("q", "form.submit", T0 - days(1), form_id=4)]
    competitor = scored(rules, events, {"country": "Norway", "email": "spy@predicto.example"})
    student = scored(rules, events, {"country": "Norway", "position": "Student"})
    assert competitor.total_value == 0
    assert competitor.band == "cold"
    assert student.total_value == 25  # quote 60 + region 5 - student 40


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
    assert data["groups"]["product_a"] == {"value": 5, "exact": 5.0}
    assert data["triggers"]["turned-hot"] == {"armed": True, "episode": 0, "primed": True}
    text = explain_text(result, rules)
    assert "Manual adjustment [product_a]" in text
    assert "Met at trade fair" in text
    assert f"total {result.total_value} (cold)" in text


def test_top_reasons_aggregate_repeated_events(rules: CompiledRules) -> None:
    visits = [ev(f"p{i}", "page.hit", T0 - days(i), url=f"{SITE}/pricing") for i in (1, 2, 3)]
    result = scored(rules, visits, ENGINEER_IN_NORWAY)
    assert "Visited the pricing page 3x, last on 2026-11-19: +29" in top_reasons(result, 5, rules)
