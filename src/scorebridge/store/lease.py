"""The single-instance guard (engineering §B.10).

Owns: the two layers that keep a second scorebridge from writing at the same time:
1. an exclusive ``fcntl.flock`` on a lock file next to the database (created 0600); the kernel
   drops it when the process dies, even on ``kill -9``;
2. the ``lease`` row (holder ``hostname:pid``, heartbeat, expiry), checked before each push
   batch, so that a process that lost its lease (a frozen VM, a second host on PostgreSQL)
   stops writing with :class:`~scorebridge.errors.LeaseLostError`.
A lease row whose heartbeat expired, or whose holder is a dead process on this host, is taken
over.
The holder must call :meth:`HeldLease.heartbeat` at least every ``ttl / 2`` (the daemon
schedules it, and a cycle heartbeats when it starts) and :meth:`HeldLease.check` before each
push batch.
Must not: schedule heartbeats itself or sleep on the real clock (the injected
:class:`~scorebridge.clock.Clock` waits).
"""

from __future__ import annotations

import fcntl
import os
import socket
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from scorebridge.clock import Clock
from scorebridge.errors import LeaseLostError, StateError
from scorebridge.store.engine import Store
from scorebridge.store.tables import Lease

_lease = Lease.__table__  # type: ignore[attr-defined]

DEFAULT_NAME = "scorebridge"
DEFAULT_TTL = timedelta(minutes=5)
_POLL_SECONDS = 0.2


@dataclass(frozen=True)
class LeaseInfo:
    """Who holds a lease, for ``scorebridge status``."""

    name: str
    holder: str
    acquired_at: datetime | None
    heartbeat_at: datetime | None
    expires_at: datetime | None


def this_holder() -> str:
    """``hostname:pid`` of this process."""
    return f"{socket.gethostname()}:{os.getpid()}"


def current_lease(conn: Connection, name: str = DEFAULT_NAME) -> LeaseInfo | None:
    """The lease row, if any (it may be expired)."""
    row = conn.execute(sa.select(_lease).where(_lease.c.name == name)).first()
    if row is None:
        return None
    return LeaseInfo(row.name, row.holder, row.acquired_at, row.heartbeat_at, row.expires_at)


class HeldLease:
    """A lease this process holds. Release it with :meth:`release` (or use :func:`hold_lease`)."""

    def __init__(
        self, store: Store, *, name: str, holder: str, ttl: timedelta, clock: Clock, fd: int | None
    ) -> None:
        self.store = store
        self.name = name
        self.holder = holder
        self.ttl = ttl
        self._clock = clock
        self._fd = fd

    def heartbeat(self) -> None:
        """Extend the lease by its TTL.

        Raises:
            LeaseLostError: another process has taken the lease over.
        """
        now = self._clock.now()
        with self.store.write() as conn:
            updated = conn.execute(
                sa.update(_lease)
                .where(_lease.c.name == self.name, _lease.c.holder == self.holder)
                .values(heartbeat_at=now, expires_at=now + self.ttl)
            ).rowcount
        if updated == 0:
            raise LeaseLostError(f"lease {self.name!r} was taken over; stopping without writing")

    def check(self, conn: Connection) -> None:
        """Verify, inside the caller's transaction, that this process still holds a live lease.

        Raises:
            LeaseLostError: the lease expired or belongs to another holder.
        """
        info = current_lease(conn, self.name)
        if info is None or info.holder != self.holder:
            holder = info.holder if info else "nobody"
            raise LeaseLostError(f"lease {self.name!r} is now held by {holder}; stopping")
        if info.expires_at is not None and info.expires_at <= self._clock.now():
            raise LeaseLostError(
                f"lease {self.name!r} expired at {info.expires_at:%Y-%m-%d %H:%M:%S} UTC "
                "(no heartbeat); stopping without writing"
            )

    def release(self) -> None:
        """Delete the lease row (if still ours) and drop the file lock. Idempotent."""
        try:
            with self.store.write() as conn:
                conn.execute(
                    sa.delete(_lease).where(
                        _lease.c.name == self.name, _lease.c.holder == self.holder
                    )
                )
        finally:
            if self._fd is not None:
                os.close(self._fd)  # closing the descriptor drops the flock
                self._fd = None


def acquire_lease(
    store: Store,
    *,
    clock: Clock,
    lock_path: Path | None = None,
    name: str = DEFAULT_NAME,
    ttl: timedelta = DEFAULT_TTL,
    wait: float = 0.0,
    holder: str | None = None,
) -> HeldLease:
    """Take the single-instance lease, waiting up to ``wait`` seconds for another holder.

    ``lock_path`` defaults to ``store.lock_path`` (next to the SQLite file); a PostgreSQL store
    without one relies on the lease row alone.

    Raises:
        LeaseLostError: another live process holds the lease (its holder is named).
    """
    holder = holder or this_holder()
    lock_path = lock_path or store.lock_path
    deadline = clock.monotonic() + wait
    while True:
        fd = _try_flock(lock_path) if lock_path is not None else None
        if fd is not None or lock_path is None:
            try:
                _claim_row(store, name=name, holder=holder, ttl=ttl, now=clock.now())
            except LeaseLostError:
                if fd is not None:
                    os.close(fd)
                if clock.monotonic() >= deadline:
                    raise
            else:
                return HeldLease(store, name=name, holder=holder, ttl=ttl, clock=clock, fd=fd)
        elif clock.monotonic() >= deadline:
            with store.read() as conn:
                info = current_lease(conn, name)
            who = info.holder if info else "another process"
            raise LeaseLostError(
                f"{who} already runs scorebridge on this store (lock {lock_path}); "
                "stop it first or wait for it to finish"
            )
        clock.sleep(_POLL_SECONDS)


@contextmanager
def hold_lease(
    store: Store,
    *,
    clock: Clock,
    lock_path: Path | None = None,
    name: str = DEFAULT_NAME,
    ttl: timedelta = DEFAULT_TTL,
    wait: float = 0.0,
) -> Iterator[HeldLease]:
    """:func:`acquire_lease` as a context manager that releases on exit."""
    lease = acquire_lease(store, clock=clock, lock_path=lock_path, name=name, ttl=ttl, wait=wait)
    try:
        yield lease
    finally:
        lease.release()


def _try_flock(path: Path) -> int | None:
    try:
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
    except OSError as exc:
        raise StateError(f"cannot create the lock file {path}: {exc.strerror}") from exc
    try:
        fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
    except BlockingIOError:
        os.close(fd)
        return None
    return fd


def _claim_row(store: Store, *, name: str, holder: str, ttl: timedelta, now: datetime) -> None:
    with store.write() as conn:
        info = current_lease(conn, name)
        if info is not None and info.holder != holder and not _is_stale(info, now):
            raise LeaseLostError(
                f"{info.holder} holds the lease until {info.expires_at:%Y-%m-%d %H:%M:%S} UTC "
                "unless it keeps its heartbeat; stop it first or wait"
            )
        values = {
            "holder": holder,
            "acquired_at": now,
            "heartbeat_at": now,
            "expires_at": now + ttl,
        }
        if info is None:
            conn.execute(sa.insert(_lease).values(name=name, **values))
        else:
            conn.execute(sa.update(_lease).where(_lease.c.name == name).values(**values))


def _is_stale(info: LeaseInfo, now: datetime) -> bool:
    if info.expires_at is None or info.expires_at <= now:
        return True
    return holder_alive(info.holder) is False


def holder_alive(holder: str) -> bool | None:
    """Whether the process ``host:pid`` is alive; ``None`` when it runs on another host."""
    host, _, pid = holder.rpartition(":")
    if host != socket.gethostname() or not pid.isdigit():
        return None
    return _pid_alive(int(pid))


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:  # alive, owned by another user
        return True
    return True
