"""The long-running process behind ``scorebridge run`` (DESIGN §7; engineering §A.4, §B.10).

Owns the process lifecycle around an injected cycle:

1. **Single instance.** Take the store's lease (flock + lease row, :mod:`scorebridge.store.lease`).
   A second instance on the same store **waits** (it logs who holds the lease once, then retries
   every few seconds) and takes over when the holder exits or dies; SIGTERM while waiting exits 0.
2. **Schedule.** APScheduler 3.x, declared at each start in a memory job store: an interval job
   for the cycle (first run at once) and a daily cron job (UTC) for the decay sweep, both with
   ``max_instances=1``, ``coalesce=True`` and the configured misfire grace, on ONE worker thread,
   so a cycle and a sweep never overlap.
3. **Heartbeat.** The main thread extends the lease every ``heartbeat_every`` seconds, also while
   a cycle runs; a lost lease stops the daemon (exit 1).
4. **Stop.** The first SIGTERM/SIGINT drains: ``should_stop()`` turns true, the running cycle
   stops between pages and commits, no new cycle starts, the lease is released and :meth:`run`
   returns 0. A second signal exits at once with ``128 + signal number``.
5. **Failures.** A cycle that raises is logged with its error class and the daemon keeps running;
   after consecutive failures the next cycle waits longer (:func:`backoff_delay`). Except:
   :class:`~scorebridge.errors.ConfigError` stops with exit 2, and
   :class:`~scorebridge.errors.AuthError` / :class:`~scorebridge.errors.LeaseLostError` with 1.

Must not: know what a cycle does, persist the schedule (a 3.x job store must never be shared or
pickled, §A.4), write to the store other than through the lease, or do work in a signal handler
beyond queueing a message (or the immediate exit of the second signal).
"""

from __future__ import annotations

import logging
import os
import queue
import signal
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass
from types import FrameType
from typing import Any, Generic, Protocol, TypeVar

from scorebridge.clock import Clock, SystemClock
from scorebridge.config import ScheduleSettings, Settings
from scorebridge.errors import (
    AuthError,
    ConfigError,
    LeaseLostError,
    ShutdownRequested,
    StateError,
)
from scorebridge.health import CycleReport, HealthServer, HealthState, Outcome
from scorebridge.metrics import Metrics, read_store_figures
from scorebridge.redaction import redact
from scorebridge.schedule import CYCLE_JOB, backoff_delay, build_scheduler
from scorebridge.store.engine import Store, open_store
from scorebridge.store.lease import DEFAULT_TTL, HeldLease, acquire_lease
from scorebridge.systemd import Notifier

log = logging.getLogger(__name__)

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_CONFIG = 2

StopCheck = Callable[[], bool]


class Cycle(Protocol):
    """One sync cycle (lease check, pull, score, plan, push, report), injected into the daemon.

    It must call ``should_stop()`` between pages and, when it returns True, commit what it has
    and return a report with ``interrupted=True`` (or raise
    :class:`~scorebridge.errors.ShutdownRequested`). ``decay_sweep=True`` is the daily run that
    also rescores every contact as of now, so time-based decay reaches the remote systems.
    """

    def __call__(self, should_stop: StopCheck, *, decay_sweep: bool = False) -> CycleReport:
        """Run one cycle and report what it did."""
        ...


class Lease(Protocol):
    """What the daemon does with the single-instance lease (:class:`HeldLease` fits)."""

    def heartbeat(self) -> None:
        """Extend the lease; raise :class:`LeaseLostError` if another process took it."""
        ...

    def release(self) -> None:
        """Give the lease up."""
        ...


LeaseT = TypeVar("LeaseT", bound=Lease)


def fatal_exit_code(exc: BaseException) -> int | None:
    """The exit code for an error that must stop the daemon, or ``None`` to keep running."""
    if isinstance(exc, ConfigError):
        return EXIT_CONFIG
    if isinstance(exc, AuthError | LeaseLostError):
        return EXIT_FAILED
    return None


@dataclass(frozen=True)
class _Stop:
    reason: str


@dataclass(frozen=True)
class _JobFinished:
    failed: bool
    fatal_code: int | None = None


class Daemon(Generic[LeaseT]):
    """Runs cycles on a schedule while holding the single-instance lease.

    Args:
        acquire_lease: takes the lease now or raises :class:`LeaseLostError` (another holder).
        build_cycle: makes the cycle once the lease is held (the cycle checks it before pushes).
        schedule: the ``[schedule]`` settings.
        clock: time for the schedule, durations and health (``SystemClock`` in production: the
            scheduler itself runs on real time).
        health: where cycle outcomes are counted (one is made if not given).
        health_port: serve ``/healthz`` and ``/metrics`` on ``health_bind:PORT`` (0 = any free).
        health_bind: the address of the health endpoint (default 127.0.0.1).
        notifier: systemd notifications (READY, STATUS, WATCHDOG, STOPPING); from the
            environment if not given (does nothing outside systemd).
        heartbeat_every: seconds between lease heartbeats (well under the lease TTL).
        lease_poll_every: seconds between attempts while another instance holds the lease.
    """

    def __init__(
        self,
        *,
        acquire_lease: Callable[[], LeaseT],
        build_cycle: Callable[[LeaseT], Cycle],
        schedule: ScheduleSettings,
        clock: Clock,
        health: HealthState | None = None,
        health_port: int | None = None,
        health_bind: str = "127.0.0.1",
        notifier: Notifier | None = None,
        heartbeat_every: float = 60.0,
        lease_poll_every: float = 2.0,
    ) -> None:
        self._acquire_lease = acquire_lease
        self._build_cycle = build_cycle
        self._schedule = schedule
        self._clock = clock
        self.health = health or HealthState(interval=schedule.interval, clock=clock)
        self._health_port = health_port
        self._health_bind = health_bind
        self._notifier = notifier or Notifier()
        self._health_server: HealthServer | None = None
        self._heartbeat_every = heartbeat_every
        self._lease_poll_every = lease_poll_every
        self._inbox: queue.SimpleQueue[_Stop | _JobFinished] = queue.SimpleQueue()
        self._stopping = threading.Event()
        self._lock = threading.Lock()
        self._running_jobs = 0
        self._signals_received = 0
        self._scheduler: Any = None

    @property
    def health_port(self) -> int | None:
        """The port ``/healthz`` answers on, while it is served."""
        return None if self._health_server is None else self._health_server.port

    def should_stop(self) -> bool:
        """True once a stop was requested: the running cycle must finish its page and return."""
        return self._stopping.is_set()

    def request_stop(self, reason: str = "requested") -> None:
        """Ask the daemon to drain and exit 0 (safe from any thread)."""
        self._inbox.put(_Stop(reason))

    def run(self, *, handle_signals: bool = True) -> int:
        """Take the lease, run cycles until stopped, release the lease; return the exit code.

        ``handle_signals`` installs the SIGTERM/SIGINT handlers (main thread only) for the
        duration of the call.
        """
        with self._signal_handlers() if handle_signals else nullcontext():
            self._notifier.ready("waiting for the single-instance lease")
            lease = self._wait_for_lease()
            if lease is None:
                self._notifier.stopping("stopped while waiting for the lease")
                return EXIT_OK
            try:
                return self._serve(lease)
            finally:
                self._release(lease)

    @contextmanager
    def _signal_handlers(self) -> Iterator[None]:
        previous = {
            sig: signal.signal(sig, self._on_signal) for sig in (signal.SIGTERM, signal.SIGINT)
        }
        try:
            yield
        finally:
            for sig, handler in previous.items():
                signal.signal(sig, handler)

    def _on_signal(self, signum: int, _frame: FrameType | None) -> None:
        name = signal.Signals(signum).name
        if self._signals_received:
            os.write(2, f"scorebridge: second {name} while draining; exiting now\n".encode())
            os._exit(128 + signum)
        self._signals_received += 1
        self._inbox.put(_Stop(name))

    def _wait_for_lease(self) -> LeaseT | None:
        announced = False
        while True:
            try:
                lease = self._acquire_lease()
            except LeaseLostError as exc:
                if not announced:
                    log.warning(
                        "another instance holds the lease; waiting for it to stop",
                        extra={"reason": str(exc), "retry_every_s": self._lease_poll_every},
                    )
                    announced = True
            else:
                log.info("lease taken")
                return lease
            self._notifier.watchdog()
            try:
                stop = self._inbox.get(timeout=self._lease_poll_every)
            except queue.Empty:
                continue
            if isinstance(stop, _Stop):
                log.info("stopped while waiting for the lease", extra={"reason": stop.reason})
                return None

    def _serve(self, lease: LeaseT) -> int:
        cycle = self._build_cycle(lease)
        self._scheduler = build_scheduler(
            lambda decay_sweep: self._run_job(cycle, decay_sweep=decay_sweep),
            self._schedule,
            now=self._clock.now(),
        )
        try:
            if self._health_port is not None:
                self._health_server = HealthServer(
                    self.health, port=self._health_port, host=self._health_bind
                )
                self._health_server.start()
            log.info(
                "daemon started",
                extra={
                    "interval_s": self._schedule.interval.total_seconds(),
                    "decay_sweep_at": self._schedule.decay_sweep_at.strftime("%H:%M UTC"),
                },
            )
            self._scheduler.start()
            self._notifier.status(
                f"running: a cycle every {self._schedule.interval.total_seconds():g} s"
            )
            return self._main_loop(lease)
        finally:
            self._stopping.set()
            if self._scheduler.running:
                self._scheduler.shutdown(wait=True)
            if self._health_server is not None:
                self._health_server.stop()
                self._health_server = None

    def _main_loop(self, lease: LeaseT) -> int:
        exit_code = EXIT_OK
        failures = 0
        next_heartbeat = self._clock.monotonic() + self._heartbeat_every
        watchdog = self._notifier.watchdog_seconds
        pet_every = self._heartbeat_every if watchdog is None else watchdog / 3
        next_pet = self._clock.monotonic()
        while True:
            if self._clock.monotonic() >= next_pet:
                self._notifier.watchdog()
                next_pet = self._clock.monotonic() + pet_every
            wake_at = min(next_heartbeat, next_pet)
            try:
                message = self._inbox.get(timeout=max(0.0, wake_at - self._clock.monotonic()))
            except queue.Empty:
                message = None
                if self._clock.monotonic() < next_heartbeat:
                    continue
            if message is None:
                next_heartbeat = self._clock.monotonic() + self._heartbeat_every
                if not self._heartbeat(lease):
                    exit_code = exit_code or EXIT_FAILED
                    self._begin_stop("lease lost")
            elif isinstance(message, _Stop):
                self._begin_stop(message.reason)
            elif message.fatal_code is not None:
                exit_code = exit_code or message.fatal_code
                self._begin_stop("fatal error")
            elif message.failed:
                failures += 1
                self._back_off(failures)
            else:
                failures = 0
            if self._stopping.is_set() and self._idle():
                log.info("daemon stopped", extra={"exit_code": exit_code})
                return exit_code

    def _begin_stop(self, reason: str) -> None:
        if self._stopping.is_set():
            return
        with self._lock:
            self._stopping.set()
            running = self._running_jobs
        self._notifier.stopping(f"stopping ({reason})")
        if running:
            log.info(
                "draining: the running cycle stops after its current page "
                "(send the signal again to exit at once)",
                extra={"reason": reason},
            )
        else:
            log.info("stopping", extra={"reason": reason})

    def _idle(self) -> bool:
        with self._lock:
            return self._running_jobs == 0

    def _heartbeat(self, lease: LeaseT) -> bool:
        try:
            lease.heartbeat()
        except LeaseLostError as exc:
            self.health.lease_lost(str(exc))
            log.error("lease lost; stopping without writing", extra={"reason": str(exc)})
            return False
        except StateError as exc:
            log.warning("lease heartbeat failed; will retry", extra={"reason": str(exc)})
        return True

    def _back_off(self, failures: int) -> None:
        delay = backoff_delay(failures, self._schedule.interval)
        if delay <= self._schedule.interval or self._stopping.is_set():
            return
        next_run = self._clock.now() + delay
        self._scheduler.modify_job(CYCLE_JOB, next_run_time=next_run)
        log.warning(
            "backing off after consecutive failed cycles",
            extra={"failures": failures, "next_cycle_at": next_run.isoformat()},
        )

    def _run_job(self, cycle: Cycle, *, decay_sweep: bool) -> None:
        with self._lock:
            if self._stopping.is_set():
                return
            self._running_jobs += 1
        finished = _JobFinished(failed=True)
        try:
            finished = self._run_cycle(cycle, decay_sweep=decay_sweep)
        finally:
            with self._lock:
                self._running_jobs -= 1
            self._inbox.put(finished)

    def _run_cycle(self, cycle: Cycle, *, decay_sweep: bool) -> _JobFinished:
        kind = "decay sweep" if decay_sweep else "cycle"
        self.health.cycle_started()
        log.info("cycle started", extra={"kind": kind})
        started = self._clock.monotonic()
        try:
            report = cycle(self.should_stop, decay_sweep=decay_sweep)
        except ShutdownRequested:
            self.health.record_cycle(
                "interrupted", duration_seconds=self._clock.monotonic() - started
            )
            log.info("cycle interrupted by the stop request", extra={"kind": kind})
            return _JobFinished(failed=False)
        except Exception as exc:
            duration = self._clock.monotonic() - started
            error = redact(f"{type(exc).__name__}: {exc}")
            self.health.record_cycle("failed", duration_seconds=duration, error=error)
            code = fatal_exit_code(exc)
            log.exception(
                "cycle failed; stopping the daemon" if code is not None else "cycle failed",
                extra={"kind": kind, "error_class": type(exc).__name__, "duration_s": duration},
            )
            return _JobFinished(failed=True, fatal_code=code)
        duration = self._clock.monotonic() - started
        outcome: Outcome = "interrupted" if report.interrupted else "ok"
        problems = report.problems
        if outcome == "ok" and problems:
            # one system is failing: the other's work is done, the failing one backs off (the
            # cycle does that); health says so, the daemon keeps its schedule
            outcome = "failed"
            log.warning("cycle finished with problems", extra={"problems": problems})
        self.health.record_cycle(
            outcome,
            duration_seconds=duration,
            report=report,
            error=redact("; ".join(problems)) if problems else None,
        )
        log.info(
            "cycle finished",
            extra={
                "kind": kind,
                "outcome": outcome,
                "duration_s": round(duration, 3),
                "events_pulled": report.events_pulled,
                "requests": dict(report.requests),
            },
        )
        return _JobFinished(failed=False)

    def _release(self, lease: LeaseT) -> None:
        try:
            lease.release()
        except StateError as exc:
            log.warning(
                "could not release the lease row; it expires on its own",
                extra={"reason": str(exc)},
            )
        else:
            log.info("lease released")


class CycleFactory(Protocol):
    """Builds the production cycle once the lease is held (``sync.cycle.build_cycle``)."""

    def __call__(
        self, settings: Settings, *, store: Store, lease: HeldLease, clock: Clock
    ) -> Cycle:
        """Return the cycle the daemon runs on its schedule."""
        ...


def run_daemon(
    settings: Settings,
    build_cycle: CycleFactory,
    *,
    clock: Clock | None = None,
    lease_poll_every: float = 2.0,
) -> int:
    """``scorebridge run``: open the store and run the daemon until stopped; the exit code.

    A second instance on the same store retries the lease every ``lease_poll_every`` seconds.

    Raises:
        StateError: the store or its lock file cannot be opened.
        ConfigError: the health port cannot be bound.
    """
    clock = clock or SystemClock()
    with open_store(settings.store.url) as store:
        health = HealthState(
            interval=settings.schedule.interval,
            clock=clock,
            metrics=Metrics(None if settings.crm.kind == "none" else settings.crm.kind),
            store_figures=lambda: read_store_figures(store),
        )
        daemon: Daemon[HeldLease] = Daemon(
            acquire_lease=lambda: acquire_lease(
                store, clock=clock, lock_path=settings.daemon.lock_file
            ),
            build_cycle=lambda lease: build_cycle(settings, store=store, lease=lease, clock=clock),
            schedule=settings.schedule,
            clock=clock,
            health=health,
            health_port=settings.daemon.health_port,
            health_bind=settings.daemon.health_bind,
            heartbeat_every=DEFAULT_TTL.total_seconds() / 3,
            lease_poll_every=lease_poll_every,
        )
        return daemon.run()
