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


def test_side_by_side_a_worse_candidate_is_shown_worse(pulled: Pulled, tmp_path: Path) -> None:
    # the candidate turns every rule around: it favours exactly the wrong leads
    flipped = re.sub(r"(?m)^points = (-?)(\d+)", lambda m: f"points = {'' if m[1] else '-'}{m[2]}",
                     EXAMPLE.read_text())  # fmt: skip
    candidate = tmp_path / "candidate.toml"
    candidate.write_text(flipped.replace('version = "2026-11-22.1"', 'version = "upside-down"'))
    done = pulled.cli("backtest", "--rules", str(candidate), "--baseline", str(EXAMPLE), "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    names = [f["name"] for f in doc["rule_files"]]
    assert names == ["candidate", "baseline"]
    candidate_auc, baseline_auc = (f["auc"]["value"] for f in doc["rule_files"])
    assert candidate_auc < baseline_auc - 0.1
    assert doc["auc_difference"]["high"] < 0  # no resample of contacts favours the candidate
    for f in doc["rule_files"]:
        assert [b["band"] for b in f["bands"]] == ["cold", "warm", "hot"]
        assert [s["stage"] for s in f["stages"]] == ["mql", "sql"]
        assert set(f["actions"]) == {"crm.deal", "crm.task", "mautic.segment.add"}
        assert len(f["thresholds"]) > 20
    hot = doc["rule_files"][1]["bands"][2]
    assert hot["lift"]["value"] > 2.0


def test_a_threshold_is_suggested_for_a_weekly_budget(pulled: Pulled) -> None:
    done = pulled.cli("backtest", "--max-hot-per-week", "20", "--every", "14d", "--json")
    assert done.returncode == 0, done.stderr
    doc = json.loads(done.stdout)
    suggestion = doc["suggestion"]
    row = suggestion["threshold"]
    assert row["entering_per_week"] <= 20
    lower = [t for t in doc["rule_files"][0]["thresholds"] if t["threshold"] < row["threshold"]]
    assert all(t["entering_per_week"] > 20 for t in lower if t["threshold"] > 25)
    assert row["threshold"] > 25
    assert suggestion["snippet"] == f"bands = {{ warm = 25, hot = {row['threshold']} }}"
    assert doc["snapshots"]["every_days"] == 14


def test_dates_outside_the_history_are_refused_clearly(pulled: Pulled) -> None:
    done = pulled.cli("backtest", "--to", "2026-11-01")
    assert done.returncode == 1
    assert "its 90-day window ends after the history" in done.stderr
    assert "use --to 2026-08-24 or earlier" in done.stderr
    early = pulled.cli("backtest", "--from", "2020-01-01")
    assert early.returncode == 1
    assert "is before the history" in early.stderr


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
