"""``scorebridge sync`` in an admin's script: the exit code says whether all the work was done."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
from pull.conftest import World, start_world

from scorebridge.sandbox.base import Faults


@pytest.fixture
def world(tmp_path: Path) -> Iterator[World]:
    made = start_world(tmp_path, contacts=40, days=10, seed=5)
    yield made
    made.sandbox.stop()


def sync(world: World) -> tuple[int, dict]:
    done = subprocess.run(
        [sys.executable, "-m", "scorebridge", "--config", str(world.config), "sync", "--json"],
        cwd=world.config.parent,
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    return done.returncode, json.loads(done.stdout)


def test_a_crm_that_is_down_fails_sync_while_mautic_is_synced(world: World) -> None:
    hubspot = world.sandbox.servers["hubspot"]
    hubspot.set_faults(Faults(error_ratio=1.0, error_status=503))
    code, report = sync(world)
    assert code == 1
    assert any(p.startswith("crm pull failed") and "503" in p for p in report["problems"])
    assert report["steps"]["push"]["systems"]["mautic"]["ok"] > 0  # Mautic kept syncing
    assert report["outbox_depth"]["crm"] > 0  # the CRM's work is queued, not dropped

    hubspot.set_faults(Faults())
    code, report = sync(world)
    assert (code, report["problems"]) == (0, [])
