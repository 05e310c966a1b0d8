"""Remote faults (B.14): 429 storms with ``Retry-After`` as seconds and as an HTTP-date, 5xx and
connection-reset storms, a read timeout on a write the server applied, per-item batch failures,
and HubSpot down for good. Requests may repeat; effects may not: every run ends, after clean
cycles, in the state of a run that never saw a fault."""

import time
from email.utils import formatdate
from typing import Any

import pytest

from conftest import (
    Chaos,
    assert_every_event_pulled,
    assert_same_remote_state,
    check_store,
    closing_ro,
    remote_state,
)
from scorebridge.sandbox.base import Response

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(300)]


def settle(chaos: Chaos, clean_state: dict[str, Any]) -> None:
    """Faults off, clean cycles until idle, then the state of a clean run."""
    chaos.faults("mautic")
    chaos.faults("hubspot")
    chaos.converge()
    check_store(chaos)
    assert_every_event_pulled(chaos)
    assert_same_remote_state(remote_state(chaos), clean_state)


@pytest.mark.parametrize("style", ["seconds", "http-date"])
def test_a_429_storm_waits_for_retry_after_then_finishes(
    chaos: Chaos, clean_state: dict[str, Any], style: str
) -> None:
    seen: list[float] = []
    emulator = chaos.mautic
    answer = emulator.rate_limited
    handle = emulator.handle

    def rate_limited(retry_after: float) -> Response:
        seen.append(time.monotonic())
        response = answer(retry_after)
        response.headers.pop("X-RateLimit-Reset", None)
        response.headers["Retry-After"] = (
            "2" if style == "seconds" else formatdate(time.time() + 3, usegmt=True)
        )
        return response

    def first_answer(request: Any) -> Response:
        seen.append(time.monotonic())
        emulator.handle = handle
        return handle(request)

    emulator.rate_limited = rate_limited
    emulator.handle = first_answer
    chaos.faults("mautic", rate_limit_burst=3)
    chaos.sync()
    assert len(seen) == 4
    gaps = [later - earlier for earlier, later in zip(seen, seen[1:], strict=False)]
    assert min(gaps) >= 1.5, gaps  # each retry waited for Retry-After (2 s, or the date)
    assert max(gaps) < 10, gaps  # ... and not much longer
    settle(chaos, clean_state)


@pytest.mark.parametrize(
    "faults",
    [
        {"error_ratio": 0.25, "error_status": 503, "seed": 3},
        {"reset_ratio": 0.25, "seed": 4},
    ],
    ids=["5xx", "reset"],
)
def test_a_5xx_or_reset_storm_on_both_systems_loses_nothing(
    chaos: Chaos, clean_state: dict[str, Any], faults: dict[str, Any]
) -> None:
    chaos.faults("mautic", **faults)
    chaos.faults("hubspot", **faults)
    for _ in range(2):
        stormy = chaos.sync(check=False)
        assert stormy.code in (0, 1), stormy.stderr[-2000:]
        assert "Traceback" not in stormy.stderr
    settle(chaos, clean_state)


def test_a_read_timeout_on_writes_the_server_applied_creates_nothing_twice(
    chaos: Chaos, clean_state: dict[str, Any]
) -> None:
    chaos.append_config("[mautic.timeouts]\nread = 1.5\n[crm.timeouts]\nread = 1.5\n")
    hang = {"timeout_ratio": 0.3, "timeout_after_apply": True, "timeout_seconds": 2.5, "seed": 5}
    chaos.faults("hubspot", path_prefix="/crm/v3/objects/tasks", **hang)
    chaos.faults("mautic", path_prefix="/api/notes/new", **hang)
    timed_out = chaos.sync(check=False)
    assert timed_out.code in (0, 1), timed_out.stderr[-2000:]
    settle(chaos, clean_state)


def test_per_item_batch_failures_are_retried_item_by_item(
    chaos: Chaos, clean_state: dict[str, Any]
) -> None:
    chaos.faults("mautic", batch_item_failure_ratio=0.3, seed=6)
    chaos.faults("hubspot", batch_item_failure_ratio=0.3, seed=6)
    mixed = chaos.sync(check=False)
    assert mixed.code in (0, 1), mixed.stderr[-2000:]
    chaos.faults("mautic")
    chaos.faults("hubspot")
    chaos.converge()
    # Mautic's batch segment-add answers a bare ``success: false`` per contact ("missing or not
    # visible"): the writer tries such a contact once on its own and dead-letters it only on a
    # 404, which the operator replays once the cause is gone. Every other per-item failure is
    # retried on its own.
    reasons = chaos.replay_dead_letters()
    assert all("contact missing or not visible" in r for r in reasons), reasons
    settle(chaos, clean_state)


def test_hubspot_down_for_good_mautic_keeps_syncing_and_the_crm_queue_drains_later(
    chaos: Chaos, clean_state: dict[str, Any]
) -> None:
    seeded = remote_state(chaos)["hubspot"]["_totals"]
    chaos.faults("hubspot", error_ratio=1.0, error_status=503)
    for _ in range(2):
        down = chaos.sync(check=False)
        assert "Traceback" not in down.stderr
    assert remote_state(chaos)["mautic"] == clean_state["mautic"]
    assert_every_event_pulled(chaos)
    with closing_ro(chaos.store_path) as conn:
        queued = conn.execute(
            "SELECT count(*) FROM outbox WHERE system = 'crm' AND status != 'done'"
        ).fetchone()[0]
    assert remote_state(chaos)["hubspot"]["_totals"] == seeded
    assert queued > 0  # the CRM work is kept, not dropped or dead-lettered
    settle(chaos, clean_state)
