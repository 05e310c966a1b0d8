"""The daemon as a process (B.14): SIGTERM mid-cycle drains, a second SIGTERM exits at once,
two daemons on one store (one works, one waits), missed ticks while down are caught up in one
cycle, and idle cycles write nothing (no echo loop)."""

import signal
import time
from datetime import datetime
from typing import Any

import pytest
import requests

from conftest import (
    Chaos,
    assert_every_event_pulled,
    assert_same_remote_state,
    check_store,
    closing_ro,
    remote_state,
    wait_for,
)

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(300)]


def daemon_config(chaos: Chaos, interval: str = "1h") -> None:
    chaos.append_config(f'[schedule]\ninterval = "{interval}"\n')


def pushing(chaos: Chaos) -> bool:
    """True once the first cycle is pushing (its first Mautic writes have arrived)."""
    return sum(chaos.writes()["mautic"].values()) > 30


def batch_edits(chaos: Chaos) -> int:
    """Batch edits Mautic has received so far (counted when they arrive)."""
    return sum(n for route, n in chaos.counts("mautic").items() if "batch/edit" in route)


def finished_runs(chaos: Chaos) -> list[dict[str, Any]]:
    if not chaos.store_path.exists():
        return []
    return [r for r in chaos.runs() if r["outcome"] != "running"]


def test_sigterm_mid_cycle_drains_and_the_next_run_completes_the_work(
    chaos: Chaos, clean_state: dict[str, Any]
) -> None:
    daemon_config(chaos)
    proc = chaos.start("run")
    wait_for(lambda: pushing(chaos), "the first cycle to push")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 0, chaos.log(proc)
    assert "draining" in chaos.log(proc)
    assert [r["outcome"] for r in chaos.runs()] in (["interrupted"], ["ok"])
    check_store(chaos, outbox_empty=False)
    chaos.converge()
    check_store(chaos)
    assert_same_remote_state(remote_state(chaos), clean_state)


def test_a_second_sigterm_exits_at_once_and_the_next_run_completes_the_work(
    chaos: Chaos, clean_state: dict[str, Any]
) -> None:
    daemon_config(chaos)
    # the push's batch edits take 3 s each, so the drain has a request in flight to wait for
    chaos.faults("mautic", latency_ms=3000, path_prefix="/api/contacts/batch/edit")
    proc = chaos.start("run")
    wait_for(lambda: batch_edits(chaos) > 0, "the first cycle's first batch edit")
    proc.send_signal(signal.SIGTERM)
    time.sleep(0.2)  # the first one is being handled; the request in flight takes longer
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(10) == 128 + signal.SIGTERM, chaos.log(proc)
    assert "second SIGTERM" in chaos.log(proc)
    with closing_ro(chaos.store_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    chaos.faults("mautic")
    chaos.sync()
    chaos.converge()
    check_store(chaos)
    assert_same_remote_state(remote_state(chaos), clean_state)


def test_two_daemons_on_one_store_one_works_the_other_waits_then_takes_over(
    chaos: Chaos, clean_state: dict[str, Any]
) -> None:
    daemon_config(chaos)
    chaos.sync()  # the store exists and is migrated before both start
    first, second = chaos.start("run"), chaos.start("run")
    waiting = [lambda p=p: "waiting for it to stop" in chaos.log(p) for p in (first, second)]
    wait_for(lambda: any(w() for w in waiting), "one daemon to wait")
    worker, waiter = (second, first) if waiting[0]() else (first, second)
    wait_for(lambda: len(finished_runs(chaos)) >= 2, "the worker's cycle")
    assert waiter.poll() is None
    assert "cycle started" not in chaos.log(waiter)
    worker.send_signal(signal.SIGTERM)
    assert worker.wait(60) == 0, chaos.log(worker)
    wait_for(lambda: "cycle finished" in chaos.log(waiter), "the waiter to take over")
    waiter.send_signal(signal.SIGTERM)
    assert waiter.wait(60) == 0, chaos.log(waiter)
    outcomes = [r["outcome"] for r in chaos.runs()]
    assert outcomes == ["ok"] * len(outcomes)
    chaos.converge()
    check_store(chaos)
    assert_same_remote_state(remote_state(chaos), clean_state)


def run_starts(chaos: Chaos) -> list[datetime]:
    with closing_ro(chaos.store_path) as conn:
        rows = conn.execute("SELECT started_at FROM run ORDER BY id").fetchall()
    return [datetime.fromisoformat(r[0]) for r in rows]


def test_missed_ticks_while_down_are_caught_up_in_one_cycle_without_loss(chaos: Chaos) -> None:
    daemon_config(chaos, interval="4s")
    chaos.sync()
    proc = chaos.start("run")
    wait_for(lambda: len(finished_runs(chaos)) >= 2, "a scheduled cycle")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(60) == 0
    events = [
        {"contact_id": cid, "kind": "page.hit", "url": "https://example.com/pricing"}
        for cid in sorted(chaos.mautic.state.contacts)[:5]
    ]
    requests.post(
        f"{chaos.url('mautic')}/_sandbox/events", json=events, timeout=10
    ).raise_for_status()
    time.sleep(10)  # the downtime: two ticks are missed on the wall clock
    before = len(chaos.runs())
    restarted = chaos.start("run")
    wait_for(lambda: len(finished_runs(chaos)) >= before + 2, "two cycles after the restart")
    restarted.send_signal(signal.SIGTERM)
    assert restarted.wait(60) == 0
    first, second = run_starts(chaos)[before : before + 2]
    # one coalesced catch-up cycle at once, then the schedule: no burst of missed runs
    assert (second - first).total_seconds() >= 3.5
    assert_every_event_pulled(chaos)
    check_store(chaos)


def test_idle_cycles_write_nothing(chaos: Chaos) -> None:
    chaos.sync()
    chaos.converge()
    before = chaos.writes()
    for _ in range(3):
        idle = chaos.sync().report
        assert idle["steps"]["push"]["systems"]["mautic"]["ok"] == 0
        assert idle["requests"]["mautic"] <= 12
        assert idle["requests"]["hubspot"] <= 6
    assert chaos.writes() == before
