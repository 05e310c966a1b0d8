"""The daemon's Prometheus metrics (``/metrics``), built with prometheus_client.

Owns: one :class:`~prometheus_client.CollectorRegistry` per daemon with every series scorebridge
exports, each present from the start (label sets known in advance are initialised to zero;
figures kept in the store are read when the daemon starts and after each cycle):

==========================================  ==================================================
``scorebridge_cycles_total{outcome}``        finished cycles: ok, failed, interrupted
``scorebridge_cycle_duration_seconds``       histogram of cycle wall time
``scorebridge_http_requests_total``          sends by ``system``, ``route_class`` (read, write,
                                             auth) and ``status`` (2xx..5xx, or error: no reply)
``scorebridge_http_retries_total{system}``   retries scheduled after a failed send
``scorebridge_http_rate_limited_total``      429 answers, by ``system``
``scorebridge_outbox_depth{system}``         operations waiting to be written
``scorebridge_dead_letters``                 open dead letters
``scorebridge_rows_pulled_total{system}``    rows read by the pulls
``scorebridge_writes_total{system,op}``      operations written (from the outbox, lifetime)
``scorebridge_last_success_timestamp_seconds``  when the last successful cycle finished (0: never)
``scorebridge_build_info``                   version and Python
``process_*``, ``python_*``                  the process collector's CPU, memory, descriptors
==========================================  ==================================================

Must not: decide health (``health.py``), write to the store, or read the time itself.
"""

from __future__ import annotations

import platform
import threading
from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    Info,
    PlatformCollector,
    ProcessCollector,
    generate_latest,
)
from prometheus_client.core import CounterMetricFamily
from prometheus_client.registry import Collector

from scorebridge import __version__
from scorebridge.store import deadletter, outbox, runs
from scorebridge.store.engine import Store

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
OUTCOMES = ("ok", "failed", "interrupted")
ROUTE_CLASSES = ("read", "write", "auth")
STATUS_CLASSES = ("2xx", "3xx", "4xx", "5xx", "error")
#: Cycle durations: an idle cycle takes a second, a first sync of a large Mautic an hour.
DURATION_BUCKETS = (0.5, 1, 2.5, 5, 10, 30, 60, 120, 300, 600, 1800, 3600)
_READ_SUFFIXES = ("/search", "/batch/read")


def route_class(method: str, route: str) -> str:
    """``read``, ``write`` or ``auth`` for a send (searches and batch reads are reads)."""
    path = route.rstrip("/")
    if path.endswith("/token") or "/oauth" in path:
        return "auth"
    if method.upper() in ("GET", "HEAD") or path.endswith(_READ_SUFFIXES):
        return "read"
    return "write"


def status_class(status: int | None) -> str:
    """``2xx`` ... ``5xx``, or ``error`` when no response came."""
    if status is None or not 200 <= status < 600:
        return "error"
    return f"{status // 100}xx"


@dataclass(frozen=True)
class StoreFigures:
    """What the store says, read at start and after each cycle."""

    outbox_depth: Mapping[str, int] = field(default_factory=dict)
    dead_letters: int = 0
    writes: Mapping[tuple[str, str], int] = field(default_factory=dict)
    last_success: datetime | None = None


def read_store_figures(store: Store) -> StoreFigures:
    """The outbox depth per system, open dead letters, writes by (system, op) and the last
    successful cycle, in one read transaction."""
    with store.read() as conn:
        return StoreFigures(
            outbox_depth=outbox.depth_by_system(conn),
            dead_letters=deadletter.count_open(conn),
            writes=outbox.done_by_op(conn),
            last_success=runs.last_finished(conn, "cycle", "ok"),
        )


class _WritesCollector(Collector):
    """``scorebridge_writes_total`` from the store's figures (a lifetime counter)."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._writes: dict[tuple[str, str], int] = {}

    def set(self, writes: Mapping[tuple[str, str], int]) -> None:
        with self._lock:
            self._writes = dict(writes)

    def collect(self) -> Iterable[CounterMetricFamily]:
        family = CounterMetricFamily(
            "scorebridge_writes",
            "Operations written to the remote systems, by system and kind.",
            labels=("system", "op"),
        )
        with self._lock:
            for (system, op), n in sorted(self._writes.items()):
                family.add_metric((system, op), n)
        yield family

    def describe(self) -> Iterator[CounterMetricFamily]:
        yield CounterMetricFamily("scorebridge_writes", "", labels=("system", "op"))


class Metrics:
    """Every series of ``/metrics``, for Mautic and the CRM of kind ``crm_kind`` (``None``: no
    CRM). Also an :class:`~scorebridge.http.observers.HttpObserver`.

    HTTP and pull series name the CRM by its kind (``hubspot``); outbox series by its role
    (``crm``), as the outbox does."""

    def __init__(self, crm_kind: str | None = None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self._systems = ("mautic",) if crm_kind is None else ("mautic", crm_kind)
        self._outbox_systems = ("mautic",) if crm_kind is None else ("mautic", "crm")
        r = self.registry
        self.cycles = Counter(
            "scorebridge_cycles", "Cycles finished, by outcome.", ["outcome"], registry=r
        )
        self.cycle_duration = Histogram(
            "scorebridge_cycle_duration_seconds",
            "Wall time of finished cycles.",
            buckets=DURATION_BUCKETS,
            registry=r,
        )
        self.requests = Counter(
            "scorebridge_http_requests",
            "HTTP sends, by system, route class and status class.",
            ["system", "route_class", "status"],
            registry=r,
        )
        self.retries = Counter(
            "scorebridge_http_retries",
            "Sends repeated after a transient failure.",
            ["system"],
            registry=r,
        )
        self.rate_limited = Counter(
            "scorebridge_http_rate_limited",
            "429 Too Many Requests answers.",
            ["system"],
            registry=r,
        )
        self.outbox_depth = Gauge(
            "scorebridge_outbox_depth", "Operations waiting to be written.", ["system"], registry=r
        )
        self.dead_letters = Gauge("scorebridge_dead_letters", "Open dead letters.", registry=r)
        self.rows_pulled = Counter(
            "scorebridge_rows_pulled", "Rows read by the pulls.", ["system"], registry=r
        )
        self.last_success = Gauge(
            "scorebridge_last_success_timestamp_seconds",
            "Unix time at which the last successful cycle finished (0: none yet).",
            registry=r,
        )
        self._writes = _WritesCollector()
        r.register(self._writes)
        Info("scorebridge_build", "The running scorebridge.", registry=r).info(
            {"version": __version__, "python": platform.python_version()}
        )
        ProcessCollector(registry=r)
        PlatformCollector(registry=r)
        for outcome in OUTCOMES:
            self.cycles.labels(outcome)
        for system in self._systems:
            for route in ROUTE_CLASSES:
                for status in STATUS_CLASSES:
                    self.requests.labels(system, route, status)
            self.retries.labels(system)
            self.rate_limited.labels(system)
            self.rows_pulled.labels(system)
        for system in self._outbox_systems:
            self.outbox_depth.labels(system)

    def record_cycle(self, outcome: str, duration_seconds: float, report: Any = None) -> None:
        """Count one finished cycle; ``report`` (a cycle report, if it returned one) adds the
        rows its pulls read."""
        self.cycles.labels(outcome).inc()
        self.cycle_duration.observe(duration_seconds)
        steps = getattr(report, "steps", None) or {}
        for step in ("pull", "crm_pull"):
            pulled = steps.get(step) or {}
            system = "mautic" if step == "pull" else str(pulled.get("kind", "crm"))
            streams = pulled.get("streams") or {}
            rows = sum(int(s.get("rows", 0)) for s in streams.values() if isinstance(s, dict))
            if rows:
                self.rows_pulled.labels(system).inc(rows)

    def set_store_figures(self, figures: StoreFigures) -> None:
        """The store's figures: outbox depth, dead letters, writes, last success."""
        for system in self._outbox_systems:
            self.outbox_depth.labels(system).set(figures.outbox_depth.get(system, 0))
        for system, depth in figures.outbox_depth.items():
            self.outbox_depth.labels(system).set(depth)
        self.dead_letters.set(figures.dead_letters)
        self._writes.set(figures.writes)
        if figures.last_success is not None:
            self.last_success.set(figures.last_success.timestamp())

    def set_last_success(self, at: datetime) -> None:
        """A cycle succeeded at ``at``."""
        self.last_success.set(at.timestamp())

    def request_sent(self, system: str, method: str, route: str, status: int | None) -> None:
        """:class:`~scorebridge.http.observers.HttpObserver`: count one send."""
        self.requests.labels(system, route_class(method, route), status_class(status)).inc()
        if status == 429:
            self.rate_limited.labels(system).inc()

    def retry_scheduled(self, system: str) -> None:
        """:class:`~scorebridge.http.observers.HttpObserver`: count one retry."""
        self.retries.labels(system).inc()

    def exposition(self) -> bytes:
        """The Prometheus text exposition of every series."""
        return generate_latest(self.registry)
