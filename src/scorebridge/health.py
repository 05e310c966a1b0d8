"""The daemon's health and metrics: what ``/healthz`` and ``/metrics`` answer (DESIGN §7).

Owns: :class:`HealthState`, which the daemon feeds with the outcome, duration and report of each
cycle and which decides whether the daemon is healthy; the Prometheus text exposition of those
figures (written by hand, format 0.0.4); and :class:`HealthServer`, a tiny HTTP server on a
loopback address that serves both.
Must not: bind anything but a 127.0.0.0/8 address, run or schedule cycles, read the store, or
read the time except through the injected :class:`~scorebridge.clock.Clock`.

Health rule: 200 while the last cycle did not fail and the last successful cycle finished less
than three intervals ago (a fresh daemon counts from its start); 503 otherwise.
"""

from __future__ import annotations

import ipaddress
import json
import logging
import threading
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Literal, Protocol

from scorebridge.clock import Clock
from scorebridge.errors import ConfigError

log = logging.getLogger(__name__)

Outcome = Literal["ok", "failed", "interrupted"]
OUTCOMES: tuple[Outcome, ...] = ("ok", "failed", "interrupted")
STALE_AFTER_INTERVALS = 3
METRICS_CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
Sample = tuple[dict[str, str], float]


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
    """Thread-safe figures about the daemon's cycles, fed by the daemon, read by the server."""

    def __init__(self, *, interval: timedelta, clock: Clock) -> None:
        self._interval = interval
        self._clock = clock
        self._lock = threading.Lock()
        self._started_at = clock.now()
        self._last: LastCycle | None = None
        self._last_success: datetime | None = None
        self._cycles = dict.fromkeys(OUTCOMES, 0)
        self._duration_sum = 0.0
        self._requests: dict[str, int] = {}
        self._events_pulled = 0
        self._outbox_depth: dict[str, int] = {}
        self._dead_letters: int | None = None

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
            self._cycles[outcome] += 1
            self._duration_sum += duration_seconds
            if outcome == "ok":
                self._last_success = now
            if report is not None:
                for system, count in report.requests.items():
                    self._requests[system] = self._requests.get(system, 0) + count
                self._events_pulled += report.events_pulled
                self._outbox_depth = dict(report.outbox_depth)
                self._dead_letters = report.dead_letters

    def healthz(self) -> tuple[int, dict[str, Any]]:
        """The HTTP status (200 or 503) and the JSON body of ``/healthz``."""
        now = self._clock.now()
        stale_after = self._interval * STALE_AFTER_INTERVALS
        with self._lock:
            last, last_success = self._last, self._last_success
            if last is not None and last.outcome == "failed":
                status = "failing"
            elif now - (last_success or self._started_at) > stale_after:
                status = "stale"
            else:
                status = "ok" if last_success is not None else "starting"
        body: dict[str, Any] = {
            "status": status,
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

    def metrics(self) -> str:
        """The Prometheus text exposition (format 0.0.4) of every figure."""
        with self._lock:
            lines = _family(
                "scorebridge_cycles_total",
                "counter",
                "Cycles finished, by outcome.",
                [({"outcome": o}, self._cycles[o]) for o in OUTCOMES],
            )
            lines += [
                "# HELP scorebridge_cycle_duration_seconds Wall time of finished cycles.",
                "# TYPE scorebridge_cycle_duration_seconds summary",
                f"scorebridge_cycle_duration_seconds_sum {_number(self._duration_sum)}",
                f"scorebridge_cycle_duration_seconds_count {sum(self._cycles.values())}",
            ]
            success: list[Sample] = []
            if self._last_success is not None:
                success.append(({}, self._last_success.timestamp()))
            lines += _family(
                "scorebridge_last_success_timestamp_seconds",
                "gauge",
                "Unix time at which the last successful cycle finished.",
                success,
            )
            lines += _family(
                "scorebridge_outbox_depth",
                "gauge",
                "Pending outbox operations per system after the last cycle.",
                [({"system": s}, n) for s, n in sorted(self._outbox_depth.items())],
            )
            dead: list[Sample] = [] if self._dead_letters is None else [({}, self._dead_letters)]
            lines += _family(
                "scorebridge_dead_letters", "gauge", "Open dead letters after the last cycle.", dead
            )
            lines += _family(
                "scorebridge_requests_total",
                "counter",
                "HTTP requests sent to each system.",
                [({"system": s}, n) for s, n in sorted(self._requests.items())],
            )
            lines += _family(
                "scorebridge_events_pulled_total",
                "counter",
                "Behaviour events stored by the pull.",
                [({}, self._events_pulled)],
            )
        return "\n".join(lines) + "\n"


def _family(name: str, kind: str, help_text: str, samples: Sequence[Sample]) -> list[str]:
    lines = [f"# HELP {name} {help_text}", f"# TYPE {name} {kind}"]
    for labels, value in samples:
        rendered = ",".join(f'{k}="{_label_value(v)}"' for k, v in labels.items())
        series = f"{name}{{{rendered}}}" if rendered else name
        lines.append(f"{series} {_number(value)}")
    return lines


def _label_value(value: str) -> str:
    return value.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\n")


def _number(value: float) -> str:
    return str(int(value)) if float(value).is_integer() else repr(float(value))


def loopback_host(host: str) -> str:
    """Return ``host`` if it is an IPv4 loopback address (127.0.0.0/8).

    Raises:
        ConfigError: any other host; the endpoint carries operational data and must stay local.
    """
    try:
        address = ipaddress.ip_address(host)
    except ValueError:
        address = None
    if address is None or address.version != 4 or not address.is_loopback:
        raise ConfigError(
            f"the health endpoint listens on 127.0.0.1 only, not {host!r}; "
            "put a reverse proxy in front of it to expose it",
            key="daemon.health_port",
        )
    return host


class HealthServer:
    """Serves ``GET /healthz`` and ``GET /metrics`` from a :class:`HealthState` on loopback.

    Port 0 picks a free port (see :attr:`port`). Use as a context manager, or call
    :meth:`start` and :meth:`stop`.
    """

    def __init__(self, state: HealthState, *, port: int, host: str = "127.0.0.1") -> None:
        self._state = state
        self._host = loopback_host(host)
        self._requested_port = port
        self._server: ThreadingHTTPServer | None = None
        self._thread: threading.Thread | None = None

    @property
    def port(self) -> int:
        """The bound port (after :meth:`start`)."""
        if self._server is None:
            raise RuntimeError("the health server is not started")
        return int(self._server.server_address[1])

    def start(self) -> None:
        """Bind and serve in a background thread.

        Raises:
            ConfigError: the port cannot be bound (in use, or privileged).
        """
        try:
            server = ThreadingHTTPServer((self._host, self._requested_port), _handler(self._state))
        except OSError as exc:
            raise ConfigError(
                f"cannot listen on {self._host}:{self._requested_port}: {exc.strerror}; "
                "choose another port",
                key="daemon.health_port",
            ) from exc
        server.daemon_threads = True
        self._server = server
        self._thread = threading.Thread(
            target=server.serve_forever, kwargs={"poll_interval": 0.1}, name="health", daemon=True
        )
        self._thread.start()
        log.info("health endpoint listening", extra={"url": f"http://{self._host}:{self.port}"})

    def stop(self) -> None:
        """Stop serving and close the socket. Idempotent."""
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
            path = self.path.split("?", 1)[0]
            if path == "/healthz":
                status, body = state.healthz()
                self._send(status, "application/json", json.dumps(body, sort_keys=True))
            elif path == "/metrics":
                self._send(200, METRICS_CONTENT_TYPE, state.metrics())
            else:
                self._send(404, "application/json", json.dumps({"error": "not found"}))

        def _send(self, status: int, content_type: str, text: str) -> None:
            payload = text.encode("utf-8")
            self.send_response(status)
            self.send_header("Content-Type", content_type)
            self.send_header("Content-Length", str(len(payload)))
            self.send_header("Cache-Control", "no-store")
            self.end_headers()
            self.wfile.write(payload)

        def log_message(self, format: str, *args: Any) -> None:  # noqa: A002 - base signature
            log.debug("health request", extra={"request": format % args})

    return Handler
