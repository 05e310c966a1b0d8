"""A sync with ``[predict] enabled``: the cycle runs the refit hook once it is due, and a history
too short for a model is recorded as skipped with its reason while the cycle goes on."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from pull.conftest import World, start_world

from writeback.test_sync_cli import sync


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    made = start_world(tmp_path, contacts=40, days=10, seed=5)
    config = made.config.read_text()
    made.config.write_text(config + '\n[predict]\nenabled = true\nrefit_every = "1h"\n')
    yield made
    made.sandbox.stop()


def test_a_short_history_skips_the_refit_and_the_cycle_goes_on(world: World) -> None:
    code, report = sync(world)
    assert code == 0, report["problems"]
    predict = report["steps"]["predict"]
    assert predict["status"] == "skipped"
    assert predict["reason"]  # what was missing, e.g. too short a history for the window
    assert report["steps"]["push"]["systems"]["mautic"]["ok"] > 0
    code, again = sync(world)
    assert code == 0
    assert "predict" not in again["steps"]  # the next attempt is due in an hour
