"""A burst of 429s is waited out within the cycle's retry budget (issue 15 item 6): HubSpot's
ten-second limit answered eight times in a row no longer makes the CRM pull give up after five
attempts (40 s); a burst longer than ``[http] retry_budget`` fails the CRM pull with an error
the cycle reports, and Mautic's work goes on."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from pull.conftest import World, start_world

from scorebridge.clock import FrozenClock
from scorebridge.config import load_config
from scorebridge.sandbox.base import Faults
from scorebridge.store import open_store
from scorebridge.sync.cycle import CycleReport, SyncCycle

from .conftest import FAST_LIMITS, KIND


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    started = start_world(tmp_path, contacts=40, days=10, seed=5)
    limits = f"{started.info[KIND]['url']}/_sandbox/limits"
    requests.post(limits, json=FAST_LIMITS, timeout=30).raise_for_status()
    yield started
    started.sandbox.stop()


def cycle(world: World, burst: int, extra_config: str = "") -> tuple[CycleReport, FrozenClock]:
    """One cycle whose first ``burst`` HubSpot requests answer 429 (waits pass instantly)."""
    if extra_config:
        world.config.write_text(world.config.read_text() + extra_config)
    settings = load_config(world.config)
    clock = FrozenClock(datetime.now(UTC))
    world.sandbox.servers[KIND].set_faults(Faults(rate_limit_burst=burst))
    with open_store(settings.store.url) as store:
        return SyncCycle(settings, store=store, clock=clock)(), clock


def test_eight_429s_in_a_row_are_waited_out(world: World) -> None:
    report, clock = cycle(world, burst=8)
    assert report.problems == []
    assert report.steps["crm_pull"]["owners"] > 0
    assert clock.monotonic() >= 80, "each 429 was waited out (HubSpot's ten-second window)"


def test_a_burst_longer_than_the_budget_fails_the_crm_pull_and_is_reported(world: World) -> None:
    report, _ = cycle(world, burst=50, extra_config='\n[http]\nretry_budget = "45s"\n')
    (problem,) = report.problems
    assert problem.startswith("crm pull failed:")
    assert "left of the cycle's retry budget ([http] retry_budget)" in problem
    assert report.steps["pull"]["new_events"] > 0, "Mautic's work went on"
