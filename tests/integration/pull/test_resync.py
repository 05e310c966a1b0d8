"""`scorebridge resync` re-reads history (all of it, from a time, or one contact) and stores
nothing twice."""

from __future__ import annotations

import json
import logging
import subprocess
import sys
from datetime import timedelta
from typing import Any

import pytest
import sqlalchemy as sa

from scorebridge.clock import FrozenClock
from scorebridge.store import cursors
from scorebridge.store.tables import Cursor, Event
from scorebridge.sync.pull import Puller

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


def test_a_time_cursor_found_in_the_future_is_clamped_and_a_new_open_is_stored(
    small_world: World, caplog: pytest.LogCaptureFixture
) -> None:
    runtime = small_world.runtime()
    Puller(runtime.store, runtime.mautic, runtime.clock, runtime.pull_options()).pull()
    future = json.dumps({"since": "2999-01-01T00:00:00+00:00"})
    with runtime.store.write() as conn:  # what `resync --since 2999-...` used to leave behind
        for stream in ("contacts", "email_stats"):
            cursors.set(conn, "mautic", stream, future, runtime.clock.now())
    opens_before = opens(runtime)
    small_world.control(
        "POST",
        "events",
        [
            {"contact_id": 5, "kind": "email.send", "email_id": 2},
            {"contact_id": 5, "kind": "email.open", "email_id": 2},
        ],
    )

    later = runtime.clock.now() + timedelta(minutes=1)
    puller = Puller(runtime.store, runtime.mautic, FrozenClock(later), runtime.pull_options())
    with caplog.at_level(logging.WARNING):
        report = puller.pull()
    assert report.streams["email_stats"].new_events == 1
    assert opens(runtime) == opens_before + 1
    assert "mautic/email_stats was in the future" in caplog.text
    assert "mautic/contacts was in the future" in caplog.text
    with runtime.store.read() as conn:
        for stream in ("contacts", "email_stats"):
            assert "2999" not in cursors.get(conn, "mautic", stream)
    runtime.close()


def opens(runtime: Any) -> int:
    event = Event.__table__
    with runtime.store.read() as conn:
        query = sa.select(sa.func.count()).where(event.c.kind == "email.open")
        return int(conn.execute(query.select_from(event)).scalar_one())
