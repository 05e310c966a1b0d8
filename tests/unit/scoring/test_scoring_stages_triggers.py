"""Stages (order, forward only, allow_back, reset) and triggers (episodes, hysteresis, priming)."""

from __future__ import annotations

from typing import Any

import pytest
from scoring_support import T0, days, ev, ruleset, run

from scorebridge.scoring import CompiledRules, PriorState, ScoreResult, TriggerState

STAGES = [
    {"key": "mql", "when": {"total": {"gte": 25}}},
    {"key": "sql", "when": {"total": {"gte": 75}}},
]


def points_rules(**extra: Any) -> CompiledRules:
    """Rules with bands and a product group; the tests set totals by manual adjustments."""
    return ruleset(bands={"warm": 25, "hot": 75}, groups=[{"key": "product_a"}], **extra)


def at_level(rules: CompiledRules, total: int, prior: PriorState, when: Any = T0) -> ScoreResult:
    """Score with ``total`` points from manual adjustments (exact, undecayed)."""
    events = [ev("m", "manual", when - days(1), delta=total, reason="test")]
    return run(rules, events, when, prior=prior)


def carry(result: ScoreResult) -> PriorState:
    return PriorState(result.stage, result.stage_entered_at, result.triggers)


def walk(rules: CompiledRules, levels: list[int]) -> list[ScoreResult]:
    prior, out = PriorState(), []
    for i, level in enumerate(levels):
        result = at_level(rules, level, prior, T0 + days(i))
        out.append(result)
        prior = carry(result)
    return out


@pytest.mark.parametrize(
    ("levels", "stages"),
    [
        ([10, 30, 80], [None, "mql", "sql"]),
        ([80], ["sql"]),  # may skip stages
        ([30, 10, 0], ["mql", "mql", "mql"]),  # never back
    ],
)
def test_stages_forward_only(levels: list[int], stages: list[str | None]) -> None:
    rules = points_rules(stages=STAGES)
    assert [r.stage for r in walk(rules, levels)] == stages


def test_allow_back_moves_down_and_keeps_entry_times() -> None:
    rules = points_rules(stages=[{**STAGES[0], "allow_back": True}, STAGES[1]])
    results = walk(rules, [30, 30, 10])
    assert [r.stage for r in results] == ["mql", "mql", None]
    assert results[0].stage_entered_at == results[1].stage_entered_at == T0
    assert results[2].stage_entered_at is None


RESET_STAGES = [{"key": "sql", "when": {"total": {"gte": 75}}, "reset_score": True}]
DOWNLOAD = [{"id": "dl", "event": "asset.download", "points": 40}]
BEFORE = [ev(f"d{i}", "asset.download", T0 - days(3 - i), asset_id=1) for i in range(2)]


def reset_rules(*triggers: dict[str, Any]) -> CompiledRules:
    return ruleset(bands={"hot": 75}, rules=DOWNLOAD, stages=RESET_STAGES, triggers=list(triggers))


def test_a_reset_stage_keeps_the_lifetime_score_and_counts_the_stage_score_from_entry() -> None:
    rules = reset_rules({"id": "hot", "when": {"band": "hot"}, "actions": [{"do": "crm.deal"}]})
    entering = run(rules, BEFORE, T0)
    assert (entering.stage, entering.stage_entered_at, entering.reset_at) == ("sql", T0, T0)
    # the lead that qualified stays hot: a deal is never opened beside a cold score
    assert (entering.total_value, entering.band, entering.stage_score_value) == (80, "hot", 0)
    assert [(f.trigger_id, f.total) for f in entering.fired] == [("hot", 80)]
    assert entering.triggers["hot"] == TriggerState(armed=False, episode=1, primed=True)
    assert [c.event_key for c in entering.ledger] == ["d0", "d1"]
    assert entering.stage_ledger == []
    for again in (
        run(rules, BEFORE, T0, prior=carry(entering)),  # a rerun at the same instant
        run(rules, BEFORE, T0 + days(1), prior=carry(entering)),  # a later run, no new events
    ):
        assert (again.stage, again.total_value, again.stage_score_value) == ("sql", 80, 0)
        assert (again.band, again.fired) == ("hot", [])
        assert again.triggers == entering.triggers
    later = run(
        rules,
        [*BEFORE, ev("d9", "asset.download", T0 + days(1))],
        T0 + days(2),
        prior=carry(entering),
    )
    assert (later.stage, later.stage_entered_at) == ("sql", T0)
    assert (later.total_value, later.stage_score_value) == (100, 40)  # 120 clamped; 40 since SQL
    assert [c.event_key for c in later.stage_ledger or []] == ["d9"]


def test_fit_and_manual_adjustments_survive_the_reset() -> None:
    rules = ruleset(
        rules=DOWNLOAD,
        stages=RESET_STAGES,
        fit=[{"id": "boss", "field": "position", "matches": "CEO", "points": 15}],
    )
    events = [*BEFORE, ev("m", "manual", T0 - days(1), delta=10, reason="call")]
    entering = run(rules, events, T0, fields={"position": "CEO"})
    assert (entering.stage, entering.total_value, entering.stage_score_value) == ("sql", 100, 25)


WARM = {
    "id": "t",
    "when": {"total": {"gte": 50}},
    "rearm_below": 40,
    "actions": [{"do": "crm.task"}],
}
HOT = {"id": "t", "when": {"band": "hot"}, "actions": [{"do": "crm.task"}]}
COOLING = {
    "id": "t",
    "when": {"total": {"lt": 20}},
    "only_after": {"total": {"gte": 40}},
    "actions": [{"do": "crm.task"}],
}
IN_STAGE = {
    "id": "t",
    "when": {"stage_score": {"gte": 40}},
    "rearm_below": 20,
    "actions": [{"do": "crm.task"}],
}


@pytest.mark.parametrize(
    ("trigger", "episodes"),
    [
        (WARM, [1, 0, 0, 0, 0]),  # fires on the 80; the reset does not touch the lifetime score
        (HOT, [1, 0, 0, 0, 0]),  # stays hot, so no second crossing
        (COOLING, [0, 0, 0, 0, 0]),  # the reset is not cooling off
        (IN_STAGE, [0, 0, 0, 1, 0]),  # the stage score starts at 0; +40 after the entry fires
    ],
)
def test_trigger_episodes_across_a_reset_stage(
    trigger: dict[str, Any], episodes: list[int]
) -> None:
    rules = reset_rules(trigger)
    post = [ev(f"p{i}", "asset.download", T0 + days(2 * i + 2)) for i in range(2)]
    steps = [(T0, []), (T0, []), (T0 + days(1), []), (T0 + days(3), post[:1]), (T0 + days(5), post)]
    prior, fired = PriorState(), []
    for when, extra in steps:
        result = run(rules, [*BEFORE, *extra], when, prior=prior)
        fired.append(result.fired[0].episode if result.fired else 0)
        prior = carry(result)
    assert fired == episodes
    assert prior.stage == "sql"


def test_a_stage_condition_on_the_stage_score_sees_the_current_stage_window() -> None:
    stages = [
        {"key": "sql", "when": {"total": {"gte": 75}}, "reset_score": True},
        {"key": "opportunity", "when": {"stage_score": {"gte": 30}}},
    ]
    rules = ruleset(rules=DOWNLOAD, stages=stages)
    entering = run(rules, BEFORE, T0)
    assert (entering.stage, entering.stage_score_value) == ("sql", 0)
    after = run(rules, [*BEFORE, ev("d9", "asset.download", T0 + days(1))], T0 + days(1),
                prior=carry(entering))  # fmt: skip
    assert (after.stage, after.stage_entered_at) == ("opportunity", T0 + days(1))
    assert after.reset_at is None  # opportunity does not reset: its stage score is the score
    assert after.stage_score_value == after.total_value == 100


def test_trigger_fires_once_per_episode_and_rearms_with_hysteresis() -> None:
    rules = points_rules(
        triggers=[
            {
                "id": "warm",
                "when": {"total": {"gte": 50}},
                "rearm_below": 40,
                "actions": [{"do": "crm.task", "subject": "Warm lead"}],
            }
        ]
    )
    levels = [55, 60, 45, 52, 39, 50, 10]
    results = walk(rules, levels)
    fired = [[(f.episode, f.idempotency_key) for f in r.fired] for r in results]
    assert fired == [[(1, "warm:7:1")], [], [], [], [], [(2, "warm:7:2")], []]
    assert results[-1].triggers["warm"] == TriggerState(armed=True, episode=2, primed=True)
    assert results[0].fired[0].actions == ({"do": "crm.task", "subject": "Warm lead"},)


def test_trigger_without_rearm_below_rearms_under_the_threshold() -> None:
    rules = points_rules(
        triggers=[{"id": "w", "when": {"total": {"gte": 50}}, "actions": [{"do": "crm.task"}]}]
    )
    assert [len(r.fired) for r in walk(rules, [50, 49, 50, 50])] == [1, 0, 1, 0]


def test_group_and_band_conditions() -> None:
    rules = ruleset(
        bands={"warm": 25, "hot": 75},
        groups=[{"key": "product_a"}],
        triggers=[
            {"id": "a", "when": {"group": "product_a", "gte": 50}, "actions": [{"do": "crm.task"}]},
            {"id": "hot", "when": {"band": "hot"}, "actions": [{"do": "crm.deal"}]},
        ],
    )
    result = run(
        rules,
        [
            ev("m", "manual", T0, delta=60, group="product_a", reason="x"),
            ev("n", "manual", T0, delta=20, reason="y"),
        ],
    )
    assert sorted(f.trigger_id for f in result.fired) == ["a", "hot"]
    ungrouped = run(rules, [ev("n", "manual", T0, delta=80, reason="y")])
    assert [f.trigger_id for f in ungrouped.fired] == ["hot"]


def test_only_after_primes_and_each_firing_consumes_the_priming() -> None:
    rules = points_rules(
        stages=STAGES,
        triggers=[
            {
                "id": "cool",
                "when": {"total": {"lt": 20}},
                "only_after": {"total": {"gte": 40}},
                "before_stage": "sql",
                "actions": [{"do": "mautic.segment.add", "segment": "Re-activation"}],
            }
        ],
    )
    # never reached 40: no firing; reached 40 then fell under 20: fires; again under 20 after
    # only 30: not primed again; after 45 then 5: second episode
    levels = [10, 45, 15, 30, 10, 45, 5]
    results = walk(rules, levels)
    assert [[f.episode for f in r.fired] for r in results] == [[], [], [1], [], [], [], [2]]


def test_before_stage_blocks_firing() -> None:
    rules = points_rules(
        stages=STAGES,
        triggers=[
            {
                "id": "cool",
                "when": {"total": {"lt": 20}},
                "only_after": {"total": {"gte": 40}},
                "before_stage": "sql",
                "actions": [{"do": "mautic.segment.add", "segment": "Re-activation"}],
            }
        ],
    )
    results = walk(rules, [80, 5])
    assert results[1].stage == "sql"
    assert not results[1].fired
