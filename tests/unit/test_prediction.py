"""The predictive score: a time split without leakage, a calibrated fit on data whose truth is
known, and the cycle's refit hook (due, not due, skipped with its reason)."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa
from hypothesis import given
from hypothesis import strategies as st
from scipy import sparse
from test_measure import EXAMPLE, NOW, build_store

from scorebridge.config import PredictSettings
from scorebridge.errors import InsufficientData
from scorebridge.scoring import compile_rules, load_rules
from scorebridge.scoring.predict import evaluate, fit, split
from scorebridge.scoring.signals import PAGE, Catalog, Features, Signal
from scorebridge.store import open_store
from scorebridge.store.tables import Prediction, PredictionModel
from scorebridge.sync.prediction import percent, predictions, refit_if_due

DAY = 86_400 * 1_000_000


@given(
    count=st.integers(3, 60),
    every=st.integers(1, 14),
    window=st.integers(1, 120),
    holdout=st.integers(1, 120),
)
def test_no_training_window_reaches_into_the_held_out_period(
    count: int, every: int, window: int, holdout: int
) -> None:
    instants = np.arange(count, dtype=np.int64) * every * DAY
    try:
        chosen = split(instants, window * DAY, holdout * DAY)
    except InsufficientData:
        return
    first_held = instants[chosen.held_out].min()
    assert (instants[chosen.train] + window * DAY <= first_held).all()
    assert set(chosen.calibrate) <= set(chosen.train)
    assert instants[chosen.held_out].max() == instants[-1]


def synthetic(n: int = 600, snapshots: int = 20, seed: int = 1) -> Features:
    """Contacts whose wins follow a known logistic model of three signals."""
    rng = np.random.default_rng(seed)
    catalog = Catalog.of(compile_rules(load_rules(EXAMPLE)))
    cols = [catalog.add(Signal(f"page:/p{i}", PAGE, f"page {i}")) for i in range(3)]
    rows = n * snapshots
    x = rng.random((rows, 3)) < [0.3, 0.2, 0.5]
    logit = -4.0 + x @ np.array([1.5, 1.0, -0.5])
    won = rng.random(rows) < 1 / (1 + np.exp(-logit))
    r, c = np.nonzero(x)
    matrix = sparse.csr_matrix(
        (np.ones(len(r)), (r, np.array(cols)[c])), shape=(rows, len(catalog))
    )
    return Features(
        matrix,
        won,
        np.tile(np.arange(n), snapshots) + 1,
        np.repeat(np.arange(snapshots), n),
        catalog,
        np.ones(len(catalog)),
    )


def test_a_model_fitted_on_the_past_is_calibrated_on_the_future() -> None:
    features = synthetic()
    instants = np.arange(20, dtype=np.int64) * 7 * DAY
    chosen = split(instants, 28 * DAY, 42 * DAY)
    model = fit(features, chosen)
    held = evaluate(model, features, chosen.held_out)
    assert held.auc is not None
    assert held.auc > 0.65
    assert held.calibration_error < 0.01
    assert abs(held.mean_predicted - held.base_rate) < 0.01
    assert [f["signal"] for f in model.top_features(2)] == ["page:/p0", "page:/p1"]
    assert model.top_features(1)[0]["odds_ratio"] > 2


def test_too_few_wins_to_learn_from_is_said_so() -> None:
    features = synthetic(n=60, snapshots=8)
    features.won[:] = False
    features.won[:2] = True
    instants = np.arange(8, dtype=np.int64) * 7 * DAY
    with pytest.raises(InsufficientData, match=r"insufficient data \(\d wins?\)"):
        fit(features, split(instants, 7 * DAY, 14 * DAY))


def _models(url: str) -> list[tuple[str, str]]:
    store = open_store(url)
    table = PredictionModel.__table__
    with store.read() as conn:
        rows = conn.execute(sa.select(table.c.status, table.c.report)).all()
    store.close()
    return [(r.status, r.report["reason"]) for r in rows]


def test_the_refit_hook_runs_when_due_and_records_a_skip_with_its_reason(
    tmp_path: Path,
) -> None:
    build_store(tmp_path, winners=0, losers=0)
    url = f"sqlite:///{tmp_path / 'store.db'}"
    rules = compile_rules(load_rules(EXAMPLE))
    store = open_store(url)
    assert refit_if_due(store, rules, PredictSettings(), NOW) is None  # not enabled
    on = PredictSettings(enabled=True, refit_every="1d")
    report = refit_if_due(store, rules, on, NOW)
    assert report is not None
    assert report.status == "skipped"
    assert "no closed CRM deals" in report.reason
    assert refit_if_due(store, rules, on, NOW + timedelta(hours=23)) is None
    again = refit_if_due(store, rules, on, NOW + timedelta(days=1))
    assert again is not None
    assert again.status == "skipped"
    store.close()
    assert [status for status, _ in _models(url)] == ["skipped", "skipped"]


def test_the_planner_reads_probabilities_by_contact(tmp_path: Path) -> None:
    build_store(tmp_path, winners=0, losers=0)
    store = open_store(f"sqlite:///{tmp_path / 'store.db'}")
    with store.write() as conn:
        conn.execute(
            sa.insert(Prediction.__table__),
            [
                {"contact_id": 1, "probability": 0.123, "model_id": 1, "reasons": ["page /demo"],
                 "computed_at": NOW},
                {"contact_id": 2, "probability": 0.004, "model_id": 1, "reasons": [],
                 "computed_at": NOW},
            ],
        )  # fmt: skip
    with store.read() as conn:
        found = predictions(conn, [1, 2, 3])
    store.close()
    assert set(found) == {1, 2}
    assert found[1].reasons == ["page /demo"]
    assert (percent(found[1].probability), percent(found[2].probability)) == (12, 0)
