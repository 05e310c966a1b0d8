"""A row Mautic serves broken goes to the dead-letter store, the pull goes on, and after the
cause is fixed `scorebridge deadletter replay` brings it in exactly once."""

from __future__ import annotations

import json
import subprocess
import sys

import pytest
import sqlalchemy as sa

from scorebridge.store.tables import Event

from .conftest import World


def cli(world: World, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scorebridge", "--config", str(world.config), *args],
        capture_output=True,
        text=True,
        timeout=300,
    )


def form_events(world: World, external_id: str) -> int:
    runtime = world.runtime()
    event = Event.__table__
    with runtime.store.read() as conn:
        found = conn.execute(
            sa.select(sa.func.count()).where(
                event.c.stream == "form_submissions", event.c.external_id == external_id
            )
        ).scalar_one()
    runtime.close()
    return int(found)


@pytest.mark.sqlite_only  # its CLI runs as a subprocess
def test_a_poison_row_is_dead_lettered_then_replayed_after_the_fix(small_world: World) -> None:
    table = small_world.sandbox.mautic.state.tables["form_submissions"]
    with small_world.sandbox.servers["mautic"].lock:
        victim = table.rows[len(table.rows) // 2]
        lead_id, victim["lead_id"] = victim["lead_id"], None
    poison_id = str(victim["id"])

    pulled = cli(small_world, "pull", "--json")
    assert pulled.returncode == 0, pulled.stderr
    report = json.loads(pulled.stdout)
    assert report["streams"]["form_submissions"]["rejects"] == 1
    assert report["streams"]["form_submissions"]["new_events"] == len(table.rows) - 1

    listed = json.loads(cli(small_world, "deadletter", "list", "--json").stdout)["dead_letters"]
    (entry,) = [e for e in listed if e["source"] == "mautic.form_submissions"]
    assert entry["record_id"] == poison_id
    assert "lead_id" in entry["reason"]
    assert form_events(small_world, poison_id) == 0

    with small_world.sandbox.servers["mautic"].lock:
        victim["lead_id"] = lead_id
    replayed = cli(small_world, "deadletter", "replay", str(entry["id"]))
    assert replayed.returncode == 0, replayed.stderr
    assert cli(small_world, "pull").returncode == 0
    assert cli(small_world, "pull").returncode == 0
    assert form_events(small_world, poison_id) == 1
    still_open = json.loads(cli(small_world, "deadletter", "list", "--json").stdout)
    assert still_open["dead_letters"] == []
