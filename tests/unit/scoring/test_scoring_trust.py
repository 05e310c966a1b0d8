"""The numbers a marketer checks by hand agree with the rule file (DESIGN §5; issue 9).

Every expected value here is computed by hand from the rules in the test, not read back from the
engine.
"""

from __future__ import annotations

from typing import Any

import pytest
from scoring_support import SITE, T0, days, ev, ruleset, run

from scorebridge.scoring import PriorState, ScoreResult, ScoringEvent

TOPIC_RULES: dict[str, Any] = {
    "bands": {"warm": 25, "hot": 75},
    "groups": [{"key": "product_a", "max": 100}],
    "rules": [
        {"id": "visit", "event": "page.hit", "path": "*", "points": 1},
        {"id": "newsletter", "event": "form.submit", "form_id": [1], "points": 3},
        {
            "id": "price-list",
            "event": "asset.download",
            "asset_id": [1],
            "group": "product_a",
            "points": 72,
        },
        {"id": "unsubscribe", "event": "dnc.unsubscribed", "points": -30},
    ],
    "fit": [
        {"id": "outside", "field": "country", "not_in": ["Norway", "Hungary"], "points": -20},
        {"id": "competitor", "field": "email", "domain_in": ["rival.example"], "points": -100},
    ],
    "stages": [
        {"key": "mql", "when": {"total": {"gte": 25}}},
        {"key": "sql", "when": {"total": {"gte": 75}}, "reset_score": True},
    ],
    "triggers": [
        {
            "id": "warm",
            "when": {"total": {"gte": 50}},
            "rearm_below": 40,
            "actions": [{"do": "crm.task", "subject": "Warm lead {name}: {score} points"}],
        },
        {"id": "hot", "when": {"band": "hot"}, "actions": [{"do": "crm.deal"}]},
    ],
}
RULES = ruleset(**TOPIC_RULES)
NORWAY = {"country": "Norway", "email": "kari@fjord.no"}


def hits(n: int) -> list[ScoringEvent]:
    return [ev(f"h{i}", "page.hit", T0 - days(1), url=f"{SITE}/page-{i}") for i in range(n)]


NEWSLETTER = ev("n", "form.submit", T0 - days(1), form_id=1)
PRICE_LIST = ev("p", "asset.download", T0 - days(1), asset_id=1)


def actions(result: ScoreResult) -> list[str]:
    return [str(a["do"]) for f in result.fired for a in f.actions]


def test_five_hits_and_a_newsletter_are_8_cold_then_the_price_list_makes_one_task_and_deal() -> (
    None
):
    before = run(RULES, [*hits(5), NEWSLETTER], fields=NORWAY)
    assert (before.total_value, before.band, before.stage, before.fired) == (8, "cold", None, [])
    prior = PriorState(before.stage, before.stage_entered_at, before.triggers)
    after = run(RULES, [*hits(5), NEWSLETTER, PRICE_LIST], fields=NORWAY, prior=prior)
    # 5 + 3 ungrouped, 72 in product_a
    assert (after.total_value, after.band, after.group_values) == (80, "hot", {"product_a": 72})
    assert sorted(actions(after)) == ["crm.deal", "crm.task"]


def test_an_unsubscribe_after_a_topic_download_takes_its_30_points() -> None:
    result = run(RULES, [PRICE_LIST, ev("u", "dnc.unsubscribed", T0)], fields=NORWAY)
    assert (result.group_values["product_a"], result.total_value) == (72, 42)


@pytest.mark.parametrize(
    "behaviour", [[PRICE_LIST], [*hits(25), NEWSLETTER], [PRICE_LIST, *hits(3)]]
)
def test_the_same_behaviour_in_and_out_of_the_region_differs_by_exactly_the_penalty(
    behaviour: list[ScoringEvent],
) -> None:
    inside = run(RULES, behaviour, fields=NORWAY)
    outside = run(RULES, behaviour, fields={**NORWAY, "country": "Peru"})
    assert outside.total_value >= 0  # within the scale: no clamp in the way
    assert inside.total_value - outside.total_value == 20


def test_a_competitor_never_reaches_sql_and_gets_no_deal() -> None:
    result = run(RULES, [PRICE_LIST, *hits(1)], fields={**NORWAY, "email": "x@rival.example"})
    assert result.total_value == 0  # 72 + 1 - 100, clamped
    assert (result.band, result.stage, result.fired) == ("cold", None, [])


def test_a_half_life_of_30_days_halves_a_30_day_old_10() -> None:
    rules = ruleset(rules=[{"id": "r", "event": "page.hit", "points": 10, "half_life_days": 30}])
    result = run(rules, [ev("h", "page.hit", T0 - days(30), url=SITE)])
    assert result.total == pytest.approx(5.0)
    assert result.total_value == 5


def test_a_re_armed_warm_trigger_makes_exactly_two_tasks_over_two_crossings() -> None:
    levels = [55, 60, 35, 52, 58]  # up, stays, falls below rearm_below 40, up again, stays
    prior, tasks = PriorState(), []
    for n, level in enumerate(levels):
        at = T0 + days(n)
        result = run(
            RULES, [ev("m", "manual", at - days(0.5), delta=level, reason="call")], at,
            fields=NORWAY, prior=prior,
        )  # fmt: skip
        tasks += [f.idempotency_key for f in result.fired if f.trigger_id == "warm"]
        prior = PriorState(result.stage, result.stage_entered_at, result.triggers)
    assert tasks == ["warm:7:1", "warm:7:2"]


def test_an_sql_lead_keeps_its_lifetime_score_and_band_beside_its_stage_score() -> None:
    entering = run(RULES, [*hits(5), NEWSLETTER, PRICE_LIST], fields=NORWAY)
    assert (entering.stage, entering.total_value, entering.band) == ("sql", 80, "hot")
    assert entering.stage_score_value == 0  # counted from the SQL entry: nothing since
    prior = PriorState(entering.stage, entering.stage_entered_at, entering.triggers)
    later = run(
        RULES,
        [*hits(5), NEWSLETTER, PRICE_LIST, ev("late", "page.hit", T0 + days(1), url=f"{SITE}/x")],
        T0 + days(2),
        fields=NORWAY,
        prior=prior,
    )
    assert (later.total_value, later.band, later.stage_score_value) == (81, "hot", 1)
    assert later.fired == []  # still hot: no second deal
