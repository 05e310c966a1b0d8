"""The daemon's health: what ``/healthz`` answers, and the server of ``/healthz`` and
``/metrics`` (DESIGN §7).

Owns: :class:`HealthState`, which the daemon feeds (a cycle started, a cycle finished, the lease
lost) and which decides whether the daemon is healthy and why not; and :class:`HealthServer`, a
small HTTP server answering ``GET`` and ``HEAD`` on ``/healthz`` and ``/metrics`` (the series
are :mod:`scorebridge.metrics`'s).
Must not: run or schedule cycles, write to the store, or read the time except through the
injected :class:`~scorebridge.clock.Clock`.

Health rule, first match wins (``/healthz`` answers 503 with the reason, else 200):

1. ``lease_lost``: the single-instance lease was taken over; the daemon is stopping.
2. ``failing``: the last finished cycle failed (its redacted error is the reason).
3. ``stalled``: no successful cycle for three intervals (a fresh daemon counts from its start),
   unless a cycle is running and has run for less than ``max(3 intervals, 1 h)`` (a first sync
   of a large Mautic is long, not stuck).
"""

from __future__ import annotations

import ipaddress
import json
import logging
import socket
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, Protocol

from sqlalchemy.exc import SQLAlchemyError

from scorebridge.clock import Clock
from scorebridge.errors import BridgeError, ConfigError
from scorebridge.http.observers import add_observer
from scorebridge.metrics import CONTENT_TYPE, Metrics, StoreFigures

log = logging.getLogger(__name__)

Outcome = Literal["ok", "failed", "interrupted"]
OUTCOMES: tuple[Outcome, ...] = ("ok", "failed", "interrupted")
STALE_AFTER_INTERVALS = 3
LONG_CYCLE = timedelta(hours=1)
METRICS_CONTENT_TYPE = CONTENT_TYPE


class CycleReport(Protocol):
    """What the daemon and the metrics read from the report a cycle returns."""

    @property
    def interrupted(self) -> bool:
        """True when the cycle stopped early because ``should_stop()`` said so."""
        ...

    @property
    def events_pulled(self) -> int:
        """Events stored by this cycle's pull."""
        ...

    @property
    def problems(self) -> list[str]:
        """What this cycle could not do (a system that failed or backs off); empty when all."""
        ...

    @property
    def requests(self) -> Mapping[str, int]:
        """HTTP requests sent by this cycle, per system (``"mautic"``, ``"hubspot"``)."""
        ...

    @property
    def outbox_depth(self) -> Mapping[str, int]:
        """Pending outbox operations per system after the cycle."""
        ...

    @property
    def dead_letters(self) -> int:
        """Open dead letters after the cycle."""
        ...


@dataclass(frozen=True)
class LastCycle:
    """The most recent finished cycle."""

    outcome: Outcome
    finished_at: datetime
    duration_seconds: float
    error: str | None


class HealthState:
    """Thread-safe health of the daemon, fed by the daemon, read by the server.

    Args:
        interval: the cycle interval (the stall rule counts in intervals).
        clock: the time.
        metrics: the series to feed (made with Mautic only if not given).
        store_figures: reads the store's figures (outbox, dead letters, writes, last success)
            for the metrics, at :meth:`refresh_store_figures` and after each cycle.
    """

    def __init__(
        self,
        *,
        interval: timedelta,
        clock: Clock,
        metrics: Metrics | None = None,
        store_figures: Callable[[], StoreFigures] | None = None,
    ) -> None:
        self._interval = interval
        self._clock = clock
        self.metrics_registry = metrics or Metrics()
        self._store_figures = store_figures
        self._lock = threading.Lock()
        self._started_at = clock.now()
        self._last: LastCycle | None = None
        self._last_success: datetime | None = None
        self._running_since: datetime | None = None
        self._lease_lost: str | None = None

    def cycle_started(self) -> None:
        """A cycle began (a long one is not a stall)."""
        with self._lock:
            self._running_since = self._clock.now()

    def record_cycle(
        self,
        outcome: Outcome,
        *,
        duration_seconds: float,
        report: CycleReport | None = None,
        error: str | None = None,
    ) -> None:
        """Count one finished cycle; ``report`` is absent when the cycle raised."""
        now = self._clock.now()
        with self._lock:
            self._last = LastCycle(outcome, now, duration_seconds, error)
            self._running_since = None
            if outcome == "ok":
                self._last_success = now
        self.metrics_registry.record_cycle(outcome, duration_seconds, report)
        if outcome == "ok":
            self.metrics_registry.set_last_success(now)
        self.refresh_store_figures()

    def lease_lost(self, reason: str) -> None:
        """The lease was taken over: unhealthy from now on."""
        with self._lock:
            self._lease_lost = reason

    def refresh_store_figures(self) -> None:
        """Read the store's figures into the metrics (a failed read is logged, not raised)."""
        if self._store_figures is None:
            return
        try:
            figures = self._store_figures()
        except (BridgeError, SQLAlchemyError) as exc:  # the metrics must never stop the daemon
            log.warning("could not read the store's figures for /metrics: %s", exc)
            return
        if figures.last_success is not None:
            with self._lock:
                if self._last_success is None or figures.last_success > self._last_success:
                    self._last_success = figures.last_success
        self.metrics_registry.set_store_figures(figures)

    def healthz(self) -> tuple[int, dict[str, Any]]:
        """The HTTP status (200 or 503) and the JSON body of ``/healthz``."""
        now = self._clock.now()
        with self._lock:
            last, last_success = self._last, self._last_success
            status, reason = self._verdict(now)
            running = self._running_since
        body: dict[str, Any] = {
            "status": status,
            "reason": reason,
            "cycle_running_since": None if running is None else running.isoformat(),
            "last_cycle": None
            if last is None
            else {
                "outcome": last.outcome,
                "finished_at": last.finished_at.isoformat(),
                "duration_seconds": round(last.duration_seconds, 3),
                "error": last.error,
            },
            "last_success": None if last_success is None else last_success.isoformat(),
        }
        return (200 if status in ("ok", "starting") else 503), body

    def _verdict(self, now: datetime) -> tuple[str, str | None]:
        if self._lease_lost is not None:
            return "lease_lost", f"the lease was lost: {self._lease_lost}"
        if self._last is not None and self._last.outcome == "failed":
            return "failing", f"the last cycle failed: {self._last.error or 'unknown error'}"
        stale_after = self._interval * STALE_AFTER_INTERVALS
        since = self._last_success or self._started_at
        running = self._running_since
        long_ok = running is not None and now - running < max(stale_after, LONG_CYCLE)
        if now - since > stale_after and not long_ok:
            return "stalled", (
                f"no successful cycle since {since.isoformat()} "
                f"(more than {STALE_AFTER_INTERVALS} intervals)"
            )
        return ("ok" if self._last_success is not None else "starting"), None

    def metrics(self) -> str:
        """The Prometheus text exposition of every series."""
        return self.metrics_registry.exposition().decode("utf-8")


def check_bind(host: str) -> str:
    """Return ``host`` (an IPv4 or IPv6 address); warn when it is not a loopback address.

    Raises:
        ConfigError: ``host`` is not an IP address.
    """
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        raise ConfigError(
            f"expected an IP address such as 127.0.0.1 or ::1, got {host!r}",
            key="daemon.health_bind",
        ) from None
    if not address.is_loopback:
        log.warning(
            "the health and metrics endpoint listens beyond this machine; it has no "
            "authentication (firewall it, or keep 127.0.0.1 behind a reverse proxy)",
            extra={"bind": host},
        )
    return host


class _Server(ThreadingHTTPServer):
    daemon_threads = True


class _Server6(_Server):
    address_family = socket.AF_INET6


class HealthServer:
    """Serves ``/healthz`` and ``/metrics`` from a :class:`HealthState` (``GET`` and ``HEAD``).

    ``host`` is an IP address (default 127.0.0.1; another one is logged as a warning); port 0
    picks a free port (see :attr:`port`). While it serves, every HTTP send of the process is
    counted in the metrics. Use as a context manager, or call :meth:`start` and :meth:`stop`.
    """

    def __init__(self, state: HealthState, *, port: int, host: str = "127.0.0.1") -> None:
        self._state = state
        self._host = host
        self._requested_port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None
        self._stop_observing: Callable[[], None] | None = None

    @property
    def port(self) -> int:
        """The bound port (after :meth:`start`)."""
        if self._server is None:
            raise RuntimeError("the health server is not started")
        return int(self._server.server_address[1])

    def start(self) -> None:
        """Bind and serve in a background thread.

        Raises:
            ConfigError: the address is not an IP address, or the port cannot be bound.
        """
        host = check_bind(self._host)
        kind = _Server6 if ":" in host else _Server
        try:
            server = kind((host, self._requested_port), _handler(self._state))
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {host}:{self._requested_port}: {exc.strerror}; "
                "choose another port",
                key="daemon.health_port",
            ) from exc
        self._server = server
        self._state.refresh_store_figures()
        self._stop_observing = add_observer(self._state.metrics_registry)
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="health", daemon=True
        )
        self._thread.start()
        shown = f"[{host}]" if ":" in host else host
        log.info("health endpoint listening", extra={"url": f"http://{shown}:{self.port}"})

    def stop(self) -> None:
        """Stop serving and close the socket. Idempotent."""
        if self._stop_observing is not None:
            self._stop_observing()
            self._stop_observing = None
        if self._server is not None:
            self._server.shutdown()
            self._server.server_close()
            self._server = None
        if self._thread is not None:
            self._thread.join()
            self._thread = None

    def __enter__(self) -> HealthServer:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def _handler(state: HealthState) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        server_version = "scorebridge"

        def do_GET(self) -> None:  # noqa: N802 - the http.server naming contract
            self._answer(with_body=True)

        def do_HEAD(self) -> None:  # noqa: N802
            self._answer(with_body=False)

        def _answer(self, *, with_body: bool) -> None:
            path = self.path.split("?", 1)[0]
            if path == "/healthz":
                status, body = state.healthz()
                self._send(status, "application/json", json.dumps(body, sort_keys=True), with_body)
            elif path == "/metrics":
                self._send(200, METRICS_CONTENT_TYPE, state.metrics(), with_body)
            else:
                self._send(404, "application/json", json.dumps({"error": "not found"}), with_body)

        def _send(self, status: int, content_type: str, text: str, with_body: bool) -> None:
            payload = text.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            if with_body:
                self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
            log.debug("health request", extra={"request": format % args})

    return Handler
