"""A stop is bounded whatever the batch (issue 15 item 6): SIGTERM in the middle of a large
push batch against a slow remote finishes the request in flight, commits the acks of what was
sent, puts the rest back, and exits 0 within 10 s; the next runs finish the work with nothing
lost or doubled."""

import signal
import time
from pathlib import Path

import pytest

from conftest import (
    Chaos,
    assert_same_remote_state,
    check_store,
    closing_ro,
    new_chaos,
    remote_state,
    wait_for,
)

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(600)]

CONTACTS = 300  # the first push claims a full batch of Mautic operations
LATENCY_MS = 100
STOP_WITHIN = 10.0


def mautic_writes(chaos: Chaos) -> int:
    return sum(chaos.writes()["mautic"].values())


def per_item_writes(chaos: Chaos) -> int:
    """Mautic writes of one operation each: point-group sets and notes."""
    return sum(
        n
        for route, n in chaos.writes()["mautic"].items()
        if "/points/groups/" in route or route.endswith("/notes/new")
    )


def test_sigterm_mid_batch_stops_within_10s_and_nothing_is_lost_or_doubled(
    tmp_path: Path,
) -> None:
    (tmp_path / "clean").mkdir()
    (tmp_path / "stopped").mkdir()
    clean = new_chaos(tmp_path / "clean", contacts=CONTACTS)
    try:
        clean.sync()
        clean.converge()
        clean_state = remote_state(clean)
    finally:
        clean.close()
    chaos = new_chaos(tmp_path / "stopped", contacts=CONTACTS)
    try:
        stop_mid_batch_then_converge(chaos, clean_state)
    finally:
        chaos.close()


def stop_mid_batch_then_converge(chaos: Chaos, clean_state: dict[str, object]) -> None:
    chaos.append_config('[schedule]\ninterval = "1h"\n')
    for system in ("mautic", "hubspot"):
        chaos.faults(system, latency_ms=LATENCY_MS)
    proc = chaos.start("run")
    # a batch of per-item requests (point-group sets, notes) is under way: one request per
    # operation, so a stop leaves most of the claimed batch unsent
    wait_for(lambda: per_item_writes(chaos) > 8, "per-item requests to be under way", 180)
    with closing_ro(chaos.store_path) as conn:
        claimed = conn.execute("SELECT count(*) FROM outbox WHERE status = 'in_flight'").fetchone()
    sent_before = mautic_writes(chaos)
    stopped_at = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    code = proc.wait(120)
    took = time.monotonic() - stopped_at
    print(f"claimed batch {claimed[0]} ops; SIGTERM to exit {took:.1f}s")
    assert code == 0, chaos.log(proc)
    assert took <= STOP_WITHIN, f"stopped after {took:.1f}s"
    assert mautic_writes(chaos) - sent_before <= 3, "no new request after the one in flight"
    with closing_ro(chaos.store_path) as conn:
        statuses = dict(conn.execute("SELECT status, count(*) FROM outbox GROUP BY status"))
        released = conn.execute(
            "SELECT count(*) FROM outbox WHERE status = 'pending' AND attempts = 0 "
            "AND last_error LIKE '%stop requested%'"
        ).fetchone()[0]
    assert statuses.get("in_flight", 0) == 0, statuses
    assert statuses.get("done", 0) > 0, "the acks of what was sent are committed"
    assert released > 0, "the rest went back without an attempt counted"
    assert [r["outcome"] for r in chaos.runs()] == ["interrupted"]

    chaos.faults("mautic")
    chaos.faults("hubspot")
    chaos.converge()
    check_store(chaos)
    assert_same_remote_state(remote_state(chaos), clean_state)
