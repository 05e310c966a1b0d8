"""The daemon's lifecycle with a fake cycle and a fake lease: first run at once, drain on a stop
request or SIGTERM, heartbeats, failures that keep it running, fatal errors with their exit codes,
and waiting for the lease. The scheduler is the real APScheduler (it runs on real time)."""

import json
import logging
import os
import signal
import socket
import threading
import time
import urllib.request
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from scorebridge.clock import SystemClock
from scorebridge.config import ScheduleSettings
from scorebridge.daemon import Daemon, fatal_exit_code
from scorebridge.errors import (
    AuthError,
    ConfigError,
    LeaseLostError,
    ShutdownRequested,
    StateError,
)
from scorebridge.systemd import Notifier

pytestmark = pytest.mark.timeout(30)

WAIT = 10.0  # generous: the machine may be loaded


@dataclass(frozen=True)
class Report:
    interrupted: bool = False
    events_pulled: int = 0
    requests: Mapping[str, int] = field(default_factory=dict)
    outbox_depth: Mapping[str, int] = field(default_factory=dict)
    dead_letters: int = 0
    problems: list[str] = field(default_factory=list)


class FakeLease:
    def __init__(self) -> None:
        self.heartbeats = 0
        self.lost = False
        self.released = threading.Event()

    def heartbeat(self) -> None:
        if self.lost:
            raise LeaseLostError("lease 'scorebridge' is now held by other:1; stopping")
        self.heartbeats += 1

    def release(self) -> None:
        self.released.set()


Step = Callable[[Callable[[], bool]], Report]


class FakeCycle:
    """Runs one scripted step per call; records the calls and when they started."""

    def __init__(self, *steps: Step) -> None:
        self.steps = list(steps)
        self.calls: list[bool] = []
        self.started_at: list[float] = []

    def __call__(self, should_stop: Callable[[], bool], *, decay_sweep: bool = False) -> Report:
        self.calls.append(decay_sweep)
        self.started_at.append(time.monotonic())
        return self.steps[min(len(self.calls), len(self.steps)) - 1](should_stop)


def wait_until(condition: Callable[[], bool]) -> bool:
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(0.01)
    return True


def make_daemon(
    cycle: FakeCycle,
    lease: FakeLease | None = None,
    *,
    interval: float = 3600,
    acquire: Callable[[], FakeLease] | None = None,
    **kw,
) -> tuple[Daemon[FakeLease], FakeLease]:
    lease = lease or FakeLease()
    daemon = Daemon(
        acquire_lease=acquire or (lambda: lease),
        build_cycle=lambda held: cycle,
        schedule=ScheduleSettings(interval=interval, misfire_grace="5m"),
        clock=SystemClock(),
        **kw,
    )
    return daemon, lease


def outcomes(daemon: Daemon[FakeLease]) -> dict[str, float]:
    lines = daemon.health.metrics().splitlines()
    return {
        line.split('"')[1]: float(line.rsplit(" ", 1)[1])
        for line in lines
        if line.startswith("scorebridge_cycles_total{")
    }


def test_the_first_cycle_starts_at_once_and_a_stop_between_cycles_exits_zero() -> None:
    def stop_after_work(should_stop: Callable[[], bool]) -> Report:
        daemon.request_stop()
        return Report(events_pulled=3)

    cycle = FakeCycle(stop_after_work)
    daemon, lease = make_daemon(cycle)
    started = time.monotonic()
    assert daemon.run(handle_signals=False) == 0
    assert time.monotonic() - started < WAIT  # the interval is an hour: it did not wait for it
    assert cycle.calls == [False]
    assert lease.released.is_set()
    assert outcomes(daemon) == {"ok": 1, "failed": 0, "interrupted": 0}


def drain_step(seen: list[str]) -> Step:
    """A cycle that works page by page until should_stop() says otherwise."""

    def step(should_stop: Callable[[], bool]) -> Report:
        seen.append("started")
        assert wait_until(should_stop), "should_stop() never turned true"
        seen.append("saw stop; committed the page")
        return Report(interrupted=True)

    return step


def test_a_stop_during_a_cycle_is_seen_by_should_stop_and_the_cycle_commits_first() -> None:
    seen: list[str] = []
    cycle = FakeCycle(drain_step(seen))
    daemon, lease = make_daemon(cycle)
    threading.Thread(
        target=lambda: wait_until(lambda: seen == ["started"]) and daemon.request_stop()
    ).start()
    assert daemon.run(handle_signals=False) == 0
    assert seen == ["started", "saw stop; committed the page"]
    assert lease.released.is_set()
    assert outcomes(daemon)["interrupted"] == 1


def test_sigterm_drains_the_running_cycle_and_restores_the_previous_handler() -> None:
    seen: list[str] = []
    drain = drain_step(seen)

    def terminate_then_drain(should_stop: Callable[[], bool]) -> Report:
        os.kill(os.getpid(), signal.SIGTERM)
        return drain(should_stop)

    before = signal.getsignal(signal.SIGTERM)
    daemon, _ = make_daemon(FakeCycle(terminate_then_drain))
    assert daemon.run() == 0
    assert seen == ["started", "saw stop; committed the page"]
    assert signal.getsignal(signal.SIGTERM) is before


def test_a_failing_cycle_is_logged_with_its_class_and_the_daemon_keeps_running(
    caplog: pytest.LogCaptureFixture,
) -> None:
    def boom(should_stop: Callable[[], bool]) -> Report:
        raise RuntimeError("boom")

    def then_stop(should_stop: Callable[[], bool]) -> Report:
        daemon.request_stop()
        return Report()

    cycle = FakeCycle(boom, then_stop)
    daemon, lease = make_daemon(cycle, interval=0.2)
    with caplog.at_level(logging.ERROR, logger="scorebridge.daemon"):
        assert daemon.run(handle_signals=False) == 0
    assert len(cycle.calls) == 2
    failures = [r for r in caplog.records if r.getMessage() == "cycle failed"]
    assert [r.error_class for r in failures] == ["RuntimeError"]
    assert outcomes(daemon) == {"ok": 1, "failed": 1, "interrupted": 0}


def test_consecutive_failures_push_the_next_cycle_back() -> None:
    def boom(should_stop: Callable[[], bool]) -> Report:
        raise StateError("database is locked")

    def then_stop(should_stop: Callable[[], bool]) -> Report:
        daemon.request_stop()
        return Report()

    cycle = FakeCycle(boom, boom, then_stop)
    daemon, _ = make_daemon(cycle, interval=0.5)
    assert daemon.run(handle_signals=False) == 0
    assert len(cycle.calls) == 3
    # after the second failure in a row the next cycle waits two intervals, not one
    assert cycle.started_at[2] - cycle.started_at[1] >= 0.95


@pytest.mark.parametrize(
    ("error", "code"),
    [
        (ConfigError("bad rules", file="scoring.toml"), 2),
        (AuthError("token rejected", system="hubspot", status=401), 1),
        (LeaseLostError("lease taken over"), 1),
    ],
)
def test_config_auth_and_lease_errors_stop_the_daemon_with_their_exit_code(
    error: Exception, code: int, caplog: pytest.LogCaptureFixture
) -> None:
    def fail(should_stop: Callable[[], bool]) -> Report:
        raise error

    cycle = FakeCycle(fail)
    daemon, lease = make_daemon(cycle)
    assert daemon.run(handle_signals=False) == code
    assert cycle.calls == [False]
    assert lease.released.is_set()
    assert any(
        r.getMessage() == "cycle failed; stopping the daemon"
        and r.error_class == type(error).__name__
        for r in caplog.records
    )


def test_only_config_auth_and_lease_errors_are_fatal() -> None:
    assert fatal_exit_code(StateError("disk full")) is None
    assert fatal_exit_code(RuntimeError("bug")) is None


def test_the_lease_is_heartbeated_while_a_cycle_runs() -> None:
    lease = FakeLease()

    def long_cycle(should_stop: Callable[[], bool]) -> Report:
        assert wait_until(lambda: lease.heartbeats >= 3)
        daemon.request_stop()
        return Report()

    daemon, _ = make_daemon(FakeCycle(long_cycle), lease, heartbeat_every=0.02)
    assert daemon.run(handle_signals=False) == 0
    assert lease.heartbeats >= 3


def test_a_lease_lost_on_heartbeat_asks_the_cycle_to_stop_and_exits_one() -> None:
    lease = FakeLease()
    seen: list[str] = []
    drain = drain_step(seen)

    def lose_lease(should_stop: Callable[[], bool]) -> Report:
        lease.lost = True
        return drain(should_stop)

    daemon, _ = make_daemon(FakeCycle(lose_lease), lease, heartbeat_every=0.02)
    assert daemon.run(handle_signals=False) == 1
    assert seen == ["started", "saw stop; committed the page"]


def test_a_second_instance_waits_for_the_lease_then_runs(
    caplog: pytest.LogCaptureFixture,
) -> None:
    attempts: list[int] = []
    lease = FakeLease()

    def acquire() -> FakeLease:
        attempts.append(1)
        if len(attempts) < 3:
            raise LeaseLostError("host:42 already runs scorebridge on this store")
        return lease

    def stop(should_stop: Callable[[], bool]) -> Report:
        daemon.request_stop()
        return Report()

    cycle = FakeCycle(stop)
    daemon, _ = make_daemon(cycle, lease, acquire=acquire, lease_poll_every=0.01)
    with caplog.at_level(logging.INFO, logger="scorebridge.daemon"):
        assert daemon.run(handle_signals=False) == 0
    assert len(attempts) == 3
    assert cycle.calls == [False]
    waiting = [r for r in caplog.records if "waiting for it to stop" in r.getMessage()]
    assert len(waiting) == 1  # said once, not on every retry
    assert "host:42" in waiting[0].reason


def test_a_stop_while_waiting_for_the_lease_exits_zero_without_running_anything() -> None:
    tried = threading.Event()

    def acquire() -> FakeLease:
        tried.set()
        raise LeaseLostError("host:42 already runs scorebridge on this store")

    cycle = FakeCycle()
    daemon, _ = make_daemon(cycle, acquire=acquire, lease_poll_every=0.05)
    threading.Thread(target=lambda: tried.wait(WAIT) and daemon.request_stop()).start()
    assert daemon.run(handle_signals=False) == 0
    assert cycle.calls == []


def test_the_health_endpoint_is_served_while_the_daemon_runs() -> None:
    answers: list[dict[str, object]] = []

    def look(should_stop: Callable[[], bool]) -> Report:
        url = f"http://127.0.0.1:{daemon.health_port}/healthz"
        with urllib.request.urlopen(url, timeout=WAIT) as response:
            answers.append(json.loads(response.read()))
        daemon.request_stop()
        return Report()

    daemon, _ = make_daemon(FakeCycle(look), health_port=0)
    assert daemon.run(handle_signals=False) == 0
    assert len(answers) == 1
    assert answers[0]["status"] == "starting"
    assert answers[0]["reason"] is None
    assert answers[0]["cycle_running_since"] is not None  # asked during the cycle
    assert daemon.health_port is None  # stopped with the daemon


def test_the_health_port_is_free_again_after_the_daemon_stopped() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]

    def stop(should_stop: Callable[[], bool]) -> Report:
        daemon.request_stop()
        return Report()

    daemon, _ = make_daemon(FakeCycle(stop), health_port=port)
    assert daemon.run(handle_signals=False) == 0
    with socket.socket() as again:
        again.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        again.bind(("127.0.0.1", port))


def test_a_busy_health_port_is_a_config_error_and_the_lease_is_released() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        cycle = FakeCycle()
        daemon, lease = make_daemon(cycle, health_port=taken.getsockname()[1])
        with pytest.raises(ConfigError, match="cannot listen"):
            daemon.run(handle_signals=False)
    assert lease.released.is_set()
    assert cycle.calls == []


def test_a_cycle_that_raises_shutdown_requested_counts_as_interrupted() -> None:
    def stop_midway(should_stop: Callable[[], bool]) -> Report:
        daemon.request_stop()
        assert wait_until(should_stop)
        raise ShutdownRequested("stopped between pages")

    daemon, _ = make_daemon(FakeCycle(stop_midway))
    assert daemon.run(handle_signals=False) == 0
    assert outcomes(daemon) == {"ok": 0, "failed": 0, "interrupted": 1}


class Receiver(threading.Thread):
    """Reads the datagrams as systemd would, while the daemon runs."""

    def __init__(self, sock: socket.socket) -> None:
        super().__init__(daemon=True)
        self.sock = sock
        self.messages: list[str] = []
        self.done = threading.Event()
        sock.settimeout(0.05)

    def run(self) -> None:
        while not self.done.is_set():
            try:
                self.messages.append(self.sock.recv(4096).decode())
            except TimeoutError:
                continue


def test_the_daemon_says_ready_pets_the_watchdog_and_says_stopping(tmp_path: Path) -> None:
    address = str(tmp_path / "notify.sock")
    with socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM) as listener:
        listener.bind(address)
        receiver = Receiver(listener)
        receiver.start()
        notifier = Notifier({"NOTIFY_SOCKET": address, "WATCHDOG_USEC": "90000"})
        assert notifier.watchdog_seconds == pytest.approx(0.09)
        pets = threading.Event()

        def cycle(should_stop: Callable[[], bool]) -> Report:
            time.sleep(0.5)  # several watchdog periods: the main loop must keep petting
            pets.set()
            daemon.request_stop()
            return Report()

        daemon, _ = make_daemon(FakeCycle(cycle), notifier=notifier)
        assert daemon.run(handle_signals=False) == 0
        time.sleep(0.2)
        receiver.done.set()
        receiver.join()
        messages = receiver.messages
    assert pets.is_set()
    assert messages[0] == "READY=1\nSTATUS=waiting for the single-instance lease"
    assert any(m.startswith("STATUS=running: a cycle every 3600 s") for m in messages)
    assert messages.count("WATCHDOG=1") >= 3
    stopping = [m for m in messages if m.startswith("STOPPING=1")]
    assert stopping == ["STOPPING=1\nSTATUS=stopping (requested)"]
    assert messages.index(stopping[0]) > messages.index("WATCHDOG=1")


def test_a_cycle_with_problems_keeps_the_schedule_and_counts_as_failed() -> None:
    """One system failing (a refused token, say) is reported, not raised: the daemon goes on
    at its interval, and the cycle counts as failed (/healthz answers 503)."""

    def degraded(should_stop: Callable[[], bool]) -> Report:
        return Report(problems=["crm pull failed: CrmAuthError: hubspot: 401 Unauthorized"])

    def then_stop(should_stop: Callable[[], bool]) -> Report:
        daemon.request_stop()
        return Report()

    cycle = FakeCycle(degraded, then_stop)
    daemon, _ = make_daemon(cycle, interval=0.2)
    assert daemon.run(handle_signals=False) == 0
    assert len(cycle.calls) == 2
    assert outcomes(daemon) == {"ok": 1, "failed": 1, "interrupted": 0}
