"""Backtest metrics on hand-made replays: AUC and its interval, too few wins, band lines,
workload per threshold, and the suggested threshold."""

from __future__ import annotations

import numpy as np
import pytest
from scoring_support import ruleset
from sklearn.metrics import roc_auc_score

from scorebridge.scoring.backtest import Outcome, Replay, bootstrap_auc, evaluate
from scorebridge.scoring.measures import MIN_WINS, auc_of, histogram
from scorebridge.scoring.thresholds import crossings, suggest, threshold_table

WEEK = 7 * 86_400 * 1_000_000
RULES = ruleset(
    bands={"warm": 25, "hot": 75},
    stages=[{"key": "mql", "when": {"total": {"gte": 25}}}],
    triggers=[{"id": "hot", "when": {"band": "hot"}, "actions": [{"do": "crm.deal"}]}],
)


def replay_of(total: np.ndarray, won: np.ndarray) -> tuple[Replay, Outcome]:
    s, n = total.shape
    band = np.searchsorted([25, 75], total, side="right").astype(np.int8)
    replay = Replay(
        RULES,
        total.astype(np.int32),
        band,
        (total >= 25).astype(np.int8) - 1,
        np.zeros(0, np.int64),
        np.zeros(0, np.int64),
        np.zeros(0, np.int64),
        0,
    )
    outcome = Outcome(
        instants=np.arange(s, dtype=np.int64) * WEEK,
        window_us=4 * WEEK,
        contact_ids=np.arange(1, n + 1, dtype=np.int64),
        first_touch_us=np.zeros(n, np.int64),
        won_row=np.flatnonzero(won.any(axis=0)).astype(np.int64),
        won_us=np.full(int(won.any(axis=0).sum()), s * WEEK, np.int64),
        eligible=np.ones((s, n), bool),
        won=won,
    )
    return replay, outcome


def world(n: int, winners: int, seed: int = 1) -> tuple[Replay, Outcome]:
    rng = np.random.default_rng(seed)
    won = np.zeros((6, n), bool)
    won[3:, :winners] = True
    total = rng.integers(0, 60, (6, n))
    total[:, :winners] += 30  # winners score higher, not perfectly
    return replay_of(np.minimum(total, 100), won)


def test_auc_is_sklearns_on_the_rows_with_an_interval_around_it() -> None:
    replay, outcome = world(300, 40)
    ev = evaluate("current", "rules.toml", replay, outcome)
    rows = outcome.eligible
    assert ev.auc.value == pytest.approx(roc_auc_score(outcome.won[rows], replay.total[rows]))
    (estimate,), difference = bootstrap_auc([replay], outcome, rounds=50, seed=3)
    assert difference is None
    assert estimate.low is not None
    assert estimate.high is not None
    assert estimate.low < estimate.value < estimate.high
    assert bootstrap_auc([replay], outcome, rounds=50, seed=3)[0] == [estimate]


def test_too_few_wins_say_so_instead_of_a_number() -> None:
    replay, outcome = world(200, MIN_WINS - 1)
    ev = evaluate("current", "rules.toml", replay, outcome)
    assert ev.auc.text() == f"insufficient data ({MIN_WINS - 1} wins)"
    hot = ev.bands[-1]
    assert hot.lift.value is None
    assert hot.lift.text().startswith("insufficient data (")
    (estimate,), _ = bootstrap_auc([replay], outcome, rounds=10)
    assert estimate.as_dict() == {"insufficient": f"insufficient data ({MIN_WINS - 1} wins)",
                                  "wins": MIN_WINS - 1}  # fmt: skip


def test_band_lines_count_rows_wins_and_lift_over_the_base_rate() -> None:
    replay, outcome = world(400, 60)
    ev = evaluate("current", "rules.toml", replay, outcome)
    assert sum(b.rows for b in ev.bands) == ev.rows == 6 * 400
    assert sum(b.wins for b in ev.bands) == ev.won_rows
    hot = ev.bands[-1]
    inside = replay.band == 2
    assert hot.rate.value == pytest.approx(outcome.won[inside].mean())
    assert hot.lift.value == pytest.approx(hot.rate.value / ev.base_rate)
    warm = ev.bands[1]
    assert warm.lift.value is not None
    assert hot.lift.value > warm.lift.value > 1
    assert hot.at_or_above is not None
    assert hot.at_or_above.flagged == int(inside.sum())
    assert ev.stages[0].reached == int((replay.stage >= 0).any(axis=0).sum())


def test_crossings_count_each_rise_through_a_level_once() -> None:
    total = np.array([[10, 80, 30], [50, 90, 20], [80, 40, 60]])
    eligible = np.ones((3, 3), bool)
    eligible[0, 2] = False  # the third contact arrives at the second snapshot, from below
    levels = np.array([20, 50, 75])
    # 10->50 crosses 20,50; 30 arrives at 20 (crosses 20); 50->80 crosses 75; 20->60: 50 (20 no:
    # 20 -> 60 crosses the levels above 20 up to 60, i.e. 50)
    assert crossings(total, eligible, levels).tolist() == [2, 2, 1]


def test_the_suggestion_is_the_lowest_threshold_that_meets_the_target() -> None:
    replay, outcome = world(400, 60)
    rows = outcome.eligible
    hist = histogram(replay.total[rows], outcome.won[rows])
    table = threshold_table(hist, replay.total, rows, outcome.weeks)
    assert auc_of(hist) is not None
    found = suggest(table, "hot", target_precision=0.3, above=25)
    assert found.row is not None
    assert found.row.precision >= 0.3
    assert all(r.precision < 0.3 for r in table if 25 < r.threshold < found.row.threshold)
    snippet = found.snippet({"warm": 25, "hot": 75})
    assert snippet == f"bands = {{ warm = 25, hot = {found.row.threshold} }}"
    none = suggest(table, "hot", target_precision=0.99)
    assert none.row is None
    assert none.reason.startswith("no threshold reaches precision 0.99")
    budget = suggest(table, "hot", max_per_week=10, above=25)
    assert budget.row is not None
    assert budget.row.entering_per_week <= 10
