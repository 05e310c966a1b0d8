"""The predictive score on the pulled sandbox world: fitted on a time split, calibrated on the
held-out period within the stated error, and higher for the persons the generator made buyers."""

from __future__ import annotations

import json
import shutil
from datetime import datetime, timedelta
from pathlib import Path

import numpy as np
import pytest

from scorebridge.config import load_config
from scorebridge.store.engine import open_store
from scorebridge.sync.prediction import percent, predictions

from .conftest import Pulled

pytestmark = pytest.mark.slow
#: What the README states: on held-out history the mean absolute gap between predicted and
#: observed win rates (deciles of the prediction, weighted by rows) is at most 1 point.
CALIBRATION_ERROR = 0.01


@pytest.fixture(scope="module")
def predicted(pulled: Pulled, tmp_path_factory: pytest.TempPathFactory) -> tuple[dict, Path]:
    """``scorebridge predict --json`` on a copy of the pulled store (it stores predictions)."""
    root = tmp_path_factory.mktemp("predict")
    settings = load_config(pulled.config)
    store_file = Path(settings.store.url.removeprefix("sqlite:///"))
    shutil.copy(store_file, root / "store.db")
    config = root / "scorebridge.toml"
    config.write_text(
        pulled.config.read_text().replace(
            'url = "sqlite:///./scorebridge.db"', f'url = "sqlite:///{root / "store.db"}"'
        )
    )
    done = Pulled(config, pulled.truth).cli("predict", "--json")
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), config


def test_the_model_never_learns_from_the_period_it_is_judged_on(
    predicted: tuple[dict, Path],
) -> None:
    doc, _ = predicted
    assert doc["status"] == "fitted"
    held_from, held_to = (datetime.fromisoformat(t) for t in doc["held_out_period"])
    trained = datetime.fromisoformat(doc["judged_model_trained_through"])
    assert trained + timedelta(days=doc["window_days"]) <= held_from < held_to


def test_it_is_calibrated_and_discriminates_on_the_held_out_period(
    predicted: tuple[dict, Path],
) -> None:
    held = predicted[0]["held_out"]
    assert held["won_contacts"] >= 20
    assert held["auc"] > 0.65
    assert held["calibration_error"] <= CALIBRATION_ERROR
    assert abs(held["mean_predicted"] - held["base_rate"]) <= CALIBRATION_ERROR
    assert len(held["curve"]) >= 5
    assert sum(b["rows"] for b in held["curve"]) == held["rows"]


def test_the_generators_buyers_get_the_higher_probabilities(
    pulled: Pulled, predicted: tuple[dict, Path]
) -> None:
    doc, config = predicted
    intent = pulled.intent_by_contact()
    with open_store(load_config(config).store.url) as store, store.read() as conn:
        stored = predictions(conn, intent)
    assert len(stored) == doc["predicted"] > 1000
    buyers = [p.probability for c, p in stored.items() if intent[c] >= 0.4]
    others = [p.probability for c, p in stored.items() if intent[c] < 0.4]
    assert np.mean(buyers) > 2 * np.mean(others)
    assert all(0.0 <= p.probability <= 1.0 for p in stored.values())
    top = max(stored.values(), key=lambda p: p.probability)
    assert top.reasons  # explained by the signals that raise it most
    assert 0 <= percent(top.probability) <= 100
    assert {f["signal"] for f in doc["top_features"]}
