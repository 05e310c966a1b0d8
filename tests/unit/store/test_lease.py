"""Only one scorebridge runs on a store; a dead or frozen holder is replaced."""

import os
import signal
import socket
import stat
import subprocess
import sys
from datetime import timedelta

import pytest
import sqlalchemy as sa

from scorebridge.errors import LeaseLostError
from scorebridge.store.lease import acquire_lease, current_lease, hold_lease, this_holder
from scorebridge.store.tables import Lease


def put_lease(store, holder: str, expires_at) -> None:
    with store.write() as conn:
        conn.execute(
            sa.insert(Lease.__table__).values(
                name="scorebridge",
                holder=holder,
                acquired_at=expires_at,
                heartbeat_at=expires_at,
                expires_at=expires_at,
            )
        )


def dead_pid() -> int:
    child = subprocess.Popen(["true"])
    child.wait()
    return child.pid


@pytest.mark.sqlite_only
def test_the_lease_is_held_released_and_taken_again(store, clock) -> None:
    with hold_lease(store, clock=clock) as lease:
        with store.read() as conn:
            info = current_lease(conn)
        assert info is not None
        assert (info.holder, info.expires_at) == (this_holder(), clock.now() + lease.ttl)
        assert stat.S_IMODE(os.stat(store.lock_path).st_mode) == 0o600
    with store.read() as conn:
        assert current_lease(conn) is None
    acquire_lease(store, clock=clock).release()


@pytest.mark.sqlite_only
def test_a_second_instance_is_refused_and_told_who_holds_it(store, clock) -> None:
    refused = pytest.raises(LeaseLostError, match=f"{this_holder()} already runs scorebridge")
    with hold_lease(store, clock=clock), refused:
        acquire_lease(store, clock=clock)


@pytest.mark.sqlite_only
def test_waiting_for_the_lease_gives_up_at_the_timeout(store, clock) -> None:
    with hold_lease(store, clock=clock):
        start = clock.monotonic()
        with pytest.raises(LeaseLostError):
            acquire_lease(store, clock=clock, wait=3)
        assert clock.monotonic() - start == pytest.approx(3, abs=0.5)


def test_a_lease_left_by_a_dead_process_is_taken_over(store, clock) -> None:
    put_lease(store, f"{socket.gethostname()}:{dead_pid()}", clock.now() + timedelta(hours=1))
    with hold_lease(store, clock=clock), store.read() as conn:
        assert current_lease(conn).holder == this_holder()


def test_an_expired_lease_of_another_host_is_taken_over(store, clock) -> None:
    put_lease(store, "other-host:1", clock.now() - timedelta(seconds=1))
    with hold_lease(store, clock=clock), store.read() as conn:
        assert current_lease(conn).holder == this_holder()


def test_a_live_lease_of_another_host_is_respected(store, clock) -> None:
    put_lease(store, "other-host:1", clock.now() + timedelta(minutes=1))
    with pytest.raises(LeaseLostError, match="other-host:1 holds the lease"):
        acquire_lease(store, clock=clock)
    clock.advance(61)
    acquire_lease(store, clock=clock).release()


def test_heartbeat_extends_and_check_detects_expiry_and_takeover(store, clock) -> None:
    with hold_lease(store, clock=clock, ttl=timedelta(seconds=60)) as lease:
        clock.advance(50)
        lease.heartbeat()
        clock.advance(50)
        with store.read() as conn:
            lease.check(conn)
        clock.advance(11)
        with store.read() as conn, pytest.raises(LeaseLostError, match="expired"):
            lease.check(conn)
        with store.write() as conn:
            conn.execute(sa.update(Lease.__table__).values(holder="frozen-vm:9"))
        with store.read() as conn, pytest.raises(LeaseLostError, match="frozen-vm:9"):
            lease.check(conn)
        with pytest.raises(LeaseLostError, match="taken over"):
            lease.heartbeat()


HOLDER = """
import sys, time
from scorebridge.clock import SystemClock
from scorebridge.store import open_store
from scorebridge.store.lease import acquire_lease
acquire_lease(open_store(sys.argv[1]), clock=SystemClock())
print("held", flush=True)
time.sleep(60)
"""


@pytest.mark.sqlite_only
def test_another_process_holds_the_lock_until_it_is_killed(store, clock) -> None:
    child = subprocess.Popen(
        [sys.executable, "-c", HOLDER, f"sqlite:///{store.path}"], stdout=subprocess.PIPE, text=True
    )
    try:
        assert child.stdout.readline().strip() == "held"
        with pytest.raises(LeaseLostError, match=f":{child.pid} already runs"):
            acquire_lease(store, clock=clock)
        child.send_signal(signal.SIGKILL)
        child.wait(timeout=10)
        with hold_lease(store, clock=clock), store.read() as conn:
            assert current_lease(conn).holder == this_holder()
    finally:
        child.kill()
        child.wait(timeout=10)
