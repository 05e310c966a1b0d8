"""The pull right after a write-back waits out the commit lag, so its echo is read once."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from scorebridge.clock import FrozenClock
from scorebridge.store import Store, open_store, runs
from scorebridge.sync.pull import Puller, PullOptions

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
LAG = timedelta(seconds=10)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(f"sqlite:///{tmp_path / 'sb.db'}") as opened:
        yield opened


def finished_cycle(store: Store, at: datetime, pushed: int) -> None:
    counts: dict[str, Any] = {"steps": {"push": {"systems": {"mautic": {"ok": pushed}}}}}
    with store.write() as conn:
        run_id = runs.start_run(conn, "cycle", now=at - timedelta(minutes=1))
        runs.finish_run(conn, run_id, now=at, outcome="ok", counts=counts)


def waited(store: Store) -> float:
    clock = FrozenClock(NOW)
    Puller(store, None, clock, PullOptions(commit_lag=LAG)).let_echoes_settle()  # type: ignore[arg-type]
    return clock.monotonic()


def test_a_pull_right_after_a_write_back_waits_out_the_rest_of_the_commit_lag(
    store: Store,
) -> None:
    finished_cycle(store, NOW - timedelta(seconds=3), pushed=120)
    assert waited(store) == pytest.approx(7.0)


@pytest.mark.parametrize(
    ("ago", "pushed"), [(3, 0), (30, 120)], ids=["nothing written", "an interval apart"]
)
def test_no_wait_when_nothing_was_written_or_the_lag_has_passed(
    store: Store, ago: int, pushed: int
) -> None:
    finished_cycle(store, NOW - timedelta(seconds=ago), pushed=pushed)
    assert waited(store) == 0
