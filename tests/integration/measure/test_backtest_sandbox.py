"""``scorebridge backtest`` on a pulled sandbox world, judged against the generator's truth."""

from __future__ import annotations

import json
import re
from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
from sklearn.metrics import roc_auc_score

from scorebridge.config import load_config
from scorebridge.measure import BacktestOptions, rule_files, run_backtest
from scorebridge.store.engine import open_store

from .conftest import Pulled

pytestmark = pytest.mark.slow
EXAMPLE = Path(__file__).resolve().parents[3] / "config" / "scoring.example.toml"


def test_the_example_rules_find_much_of_what_the_hidden_intent_knows(pulled: Pulled) -> None:
    settings = load_config(pulled.config)
    with open_store(settings.store.url) as store:
        result = run_backtest(
            store, rule_files(settings.scoring.rules, None, None), BacktestOptions(rounds=100)
        )
    outcome = result.outcome
    auc = result.evaluations[0].auc
    assert auc.value is not None
    assert auc.low is not None
    assert auc.wins >= 40
    # the rules beat chance clearly ...
    assert auc.low > 0.6, auc
    # ... and recover at least half of what the generator's hidden intent knows over chance
    intent = pulled.intent_by_contact()
    truth = np.array([intent.get(int(c), 0.0) for c in outcome.contact_ids])
    rows = outcome.eligible
    upper = roc_auc_score(outcome.won[rows], np.broadcast_to(truth, rows.shape)[rows])
    assert auc.value - 0.5 > 0.5 * (upper - 0.5), (auc.value, upper)


@pytest.fixture(scope="module")
def side_by_side(pulled: Pulled, tmp_path_factory: pytest.TempPathFactory) -> dict:
    """The example rules as the candidate beside a baseline that turns every rule around (it
    favours exactly the wrong leads), fortnightly, with a weekly budget for the hot band."""
    flipped = re.sub(r"(?m)^points = (-?)(\d+)", lambda m: f"points = {'' if m[1] else '-'}{m[2]}",
                     EXAMPLE.read_text())  # fmt: skip
    baseline = tmp_path_factory.mktemp("backtest") / "upside-down.toml"
    flipped = re.sub(r'(?m)^version = ".*"$', 'version = "upside-down"', flipped)
    assert 'version = "upside-down"' in flipped
    baseline.write_text(flipped)
    done = pulled.cli(
        "backtest", "--rules", str(EXAMPLE), "--baseline", str(baseline),
        "--every", "14d", "--max-hot-per-week", "20", "--json",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    return dict(json.loads(done.stdout))


def test_side_by_side_the_better_rule_file_is_shown_better(side_by_side: dict) -> None:
    doc = side_by_side
    assert [f["name"] for f in doc["rule_files"]] == ["candidate", "baseline"]
    candidate_auc, baseline_auc = (f["auc"]["value"] for f in doc["rule_files"])
    assert candidate_auc > baseline_auc + 0.1
    assert doc["auc_difference"]["low"] > 0  # every resample of contacts favours the candidate
    for f in doc["rule_files"]:
        assert [b["band"] for b in f["bands"]] == ["cold", "warm", "hot"]
        assert [s["stage"] for s in f["stages"]] == ["mql", "sql"]
        assert set(f["actions"]) == {"crm.deal", "crm.task", "mautic.segment.add"}
        assert len(f["thresholds"]) > 20
    hot = doc["rule_files"][0]["bands"][2]
    assert hot["lift"]["value"] > 2.0
    assert hot["at_or_above"]["recall"] > 0.3
    assert doc["snapshots"]["every_days"] == 14


def test_a_threshold_is_suggested_for_a_weekly_budget(side_by_side: dict) -> None:
    suggestion = side_by_side["suggestion"]
    row = suggestion["threshold"]
    assert row["entering_per_week"] <= 20
    table = side_by_side["rule_files"][0]["thresholds"]
    assert all(t["entering_per_week"] > 20 for t in table if 25 < t["threshold"] < row["threshold"])
    assert row["threshold"] > 25
    assert suggestion["snippet"] == f"bands = {{ warm = 25, hot = {row['threshold']} }}"


def test_dates_outside_the_history_are_refused_clearly(pulled: Pulled) -> None:
    done = pulled.cli("backtest", "--to", "2026-11-01")
    assert done.returncode == 1
    assert "its 90-day window ends after the history" in done.stderr
    assert "use --to 2026-08-24 or earlier" in done.stderr


def test_the_window_and_step_change_the_snapshots(pulled: Pulled) -> None:
    settings = load_config(pulled.config)
    with open_store(settings.store.url) as store:
        result = run_backtest(
            store,
            rule_files(settings.scoring.rules, None, None),
            BacktestOptions(every=timedelta(days=30), window=timedelta(days=60), rounds=20),
        )
    instants = result.plan.instants
    assert all(b - a == timedelta(days=30) for a, b in zip(instants, instants[1:], strict=False))
    assert instants[-1] + timedelta(days=60) <= result.bounds.last_event
