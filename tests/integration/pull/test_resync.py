"""`scorebridge resync` re-reads history (all of it, from a time, or one contact) and stores
nothing twice."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import sqlalchemy as sa

from scorebridge.store.tables import Cursor, Event

from .conftest import World


def cli(world: World, *args: str) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "scorebridge", "--config", str(world.config), *args, "--json"],
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout)


def stored(world: World) -> tuple[int, dict[str, str]]:
    runtime = world.runtime()
    with runtime.store.read() as conn:
        events = conn.execute(sa.select(sa.func.count()).select_from(Event.__table__)).scalar_one()
        cursor = Cursor.__table__
        cursors = {r.stream: r.value for r in conn.execute(sa.select(cursor))}
    runtime.close()
    return int(events), cursors


@pytest.mark.sqlite_only  # its CLI runs as a subprocess
def test_resync_full_since_and_one_contact_duplicate_nothing(small_world: World) -> None:
    first = cli(small_world, "pull")
    events, cursors = stored(small_world)
    assert first["new_events"] == events > 0

    full = cli(small_world, "resync", "--full")
    assert full["new_events"] == 0
    assert sum(s["rows"] for s in full["streams"].values()) >= events, "history was re-read"
    assert stored(small_world)[0] == events

    since = cli(small_world, "resync", "--since", "2026-01-01T00:00:00+00:00")
    assert since["new_events"] == 0

    _, before = stored(small_world)
    one = cli(small_world, "resync", "--contact", "5")
    (report,) = one["streams"].values()
    assert report["contacts"] == 1
    assert report["new_events"] == 0
    assert report["rows"] > 0
    assert stored(small_world) == (events, before), "no cursor moved, nothing added"
