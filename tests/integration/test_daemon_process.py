"""``scorebridge run`` as a real process (tests/integration/fake_daemon.py: the production
daemon wiring around a scripted cycle): SIGTERM drains and exits 0, a second SIGTERM exits at
once, a second instance on the same store waits for the first, and /healthz and /metrics answer
on 127.0.0.1."""

import json
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from scorebridge.store import open_store
from scorebridge.store.lease import current_lease

pytestmark = pytest.mark.timeout(90)

FAKE_DAEMON = Path(__file__).with_name("fake_daemon.py")
WAIT = 20.0  # generous: a loaded machine takes a while to import and start a process


def wait_for(condition: Callable[[], bool], what: str) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


class Daemons:
    """Starts fake daemons on one store and cleans up whatever is left."""

    def __init__(self, root: Path) -> None:
        self.root = root
        self.markers = root / "markers"
        self.markers.mkdir()
        self.procs: list[subprocess.Popen[bytes]] = []

    def config(self, health_port: int | None = None) -> Path:
        # migrate the store up front, so that instances started together do not all migrate it
        open_store(f"sqlite:///{self.root}/store.db").close()
        path = self.root / "scorebridge.toml"
        daemon = f"[daemon]\nhealth_port = {health_port}\n" if health_port else ""
        path.write_text(
            f'[store]\nurl = "sqlite:///{self.root}/store.db"\n'
            '[mautic]\nurl = "http://127.0.0.1:9"\nusername = "u"\npassword = "not-a-secret"\n'
            '[schedule]\ninterval = "1h"\n' + daemon
        )
        return path

    def start(self, mode: str, config: Path) -> subprocess.Popen[bytes]:
        log = (self.root / f"daemon{len(self.procs)}.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, str(FAKE_DAEMON), str(config), str(self.markers), mode],
            stdout=subprocess.DEVNULL,
            stderr=log,
            cwd=self.root,
        )
        log.close()
        self.procs.append(proc)
        return proc

    def log(self, proc: subprocess.Popen[bytes]) -> str:
        return (self.root / f"daemon{self.procs.index(proc)}.log").read_text()

    def marker(self, proc: subprocess.Popen[bytes], name: str) -> Path:
        return self.markers / f"{proc.pid}.{name}"

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.kill()
                proc.wait(WAIT)


@pytest.fixture
def daemons(tmp_path: Path) -> Iterator[Daemons]:
    running = Daemons(tmp_path)
    yield running
    running.close()


def test_sigterm_during_a_cycle_drains_commits_and_exits_zero(daemons: Daemons) -> None:
    port = free_port()
    proc = daemons.start("drain", daemons.config(health_port=port))
    wait_for(daemons.marker(proc, "started").exists, "the first cycle to start")
    sent = time.monotonic()
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(WAIT) == 0, daemons.log(proc)
    assert time.monotonic() - sent < 10
    assert daemons.marker(proc, "stopped").exists(), "the cycle never saw should_stop()"
    assert "draining" in daemons.log(proc)
    with open_store(f"sqlite:///{daemons.root}/store.db") as store, store.read() as conn:
        assert current_lease(conn) is None  # released on the way out
    with pytest.raises(ConnectionRefusedError):  # the health endpoint went with it
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


def test_a_second_sigterm_exits_at_once_with_a_non_zero_code(daemons: Daemons) -> None:
    proc = daemons.start("stubborn", daemons.config())
    wait_for(daemons.marker(proc, "started").exists, "the first cycle to start")
    proc.send_signal(signal.SIGTERM)
    wait_for(lambda: "draining" in daemons.log(proc), "the drain to begin")
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(5) == 128 + signal.SIGTERM
    assert "second SIGTERM" in daemons.log(proc)
    assert not daemons.marker(proc, "stopped").exists()


def test_two_instances_on_one_store_one_runs_the_other_waits_then_takes_over(
    daemons: Daemons,
) -> None:
    config = daemons.config()
    both = [daemons.start("drain", config), daemons.start("drain", config)]
    started = [lambda p=p: daemons.marker(p, "started").exists() for p in both]
    wait_for(lambda: any(s() for s in started), "one instance's cycle")
    runner, waiter = both if started[0]() else both[::-1]
    wait_for(lambda: "waiting for it to stop" in daemons.log(waiter), "the other to wait")
    assert waiter.poll() is None
    assert not daemons.marker(waiter, "started").exists()
    runner.send_signal(signal.SIGTERM)
    assert runner.wait(WAIT) == 0
    wait_for(daemons.marker(waiter, "started").exists, "the waiting instance to take over")
    waiter.send_signal(signal.SIGTERM)
    assert waiter.wait(WAIT) == 0


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=WAIT) as response:
            return response.status, response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read().decode()


def test_healthz_and_metrics_answer_on_loopback_while_a_cycle_runs(daemons: Daemons) -> None:
    port = free_port()
    proc = daemons.start("drain", daemons.config(health_port=port))
    wait_for(daemons.marker(proc, "started").exists, "the first cycle to start")
    base = f"http://127.0.0.1:{port}"
    status, body = get(base + "/healthz")
    assert (status, json.loads(body)["status"]) == (200, "starting")
    status, metrics = get(base + "/metrics")
    assert status == 200
    assert 'scorebridge_cycles_total{outcome="ok"} 0' in metrics
    proc.send_signal(signal.SIGTERM)
    assert proc.wait(WAIT) == 0
