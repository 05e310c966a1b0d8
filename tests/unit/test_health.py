"""/healthz and /metrics: the health rule with its reasons, the Prometheus series (present from
the start), the HTTP observer, and the server answering GET and HEAD."""

import json
import random
import socket
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import responses
from prometheus_client.parser import text_string_to_metric_families

from scorebridge.clock import FrozenClock
from scorebridge.errors import ConfigError, StateError
from scorebridge.health import HealthServer, HealthState
from scorebridge.http import BucketRegistry, HttpClient, RetryPolicy, make_session
from scorebridge.metrics import Metrics, StoreFigures, route_class

INTERVAL = timedelta(minutes=5)
START = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


@dataclass(frozen=True)
class Report:
    interrupted: bool = False
    events_pulled: int = 0
    requests: Mapping[str, int] = field(default_factory=dict)
    outbox_depth: Mapping[str, int] = field(default_factory=dict)
    dead_letters: int = 0
    steps: dict[str, Any] = field(default_factory=dict)


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(START)


@pytest.fixture
def health(clock: FrozenClock) -> HealthState:
    return HealthState(interval=INTERVAL, clock=clock, metrics=Metrics("hubspot"))


def samples(health: HealthState) -> dict[str, float]:
    """Every sample of /metrics, parsed by prometheus_client's own parser."""
    found: dict[str, float] = {}
    for family in text_string_to_metric_families(health.metrics()):
        for sample in family.samples:
            labels = ",".join(f'{k}="{v}"' for k, v in sorted(sample.labels.items()))
            found[f"{sample.name}{{{labels}}}" if labels else sample.name] = sample.value
    return found


def test_a_fresh_daemon_starts_healthy_and_stalls_after_three_intervals(
    health: HealthState, clock: FrozenClock
) -> None:
    status, body = health.healthz()
    assert (status, body["status"], body["reason"]) == (200, "starting", None)
    clock.advance(3 * INTERVAL.total_seconds() + 1)
    status, body = health.healthz()
    assert (status, body["status"]) == (503, "stalled")
    assert "no successful cycle since 2026-11-22T10:00:00+00:00" in body["reason"]


def test_a_successful_cycle_is_ok_until_three_intervals_pass(
    health: HealthState, clock: FrozenClock
) -> None:
    health.record_cycle("ok", duration_seconds=1.5, report=Report())
    status, body = health.healthz()
    assert (status, body["status"]) == (200, "ok")
    assert body["last_success"] == "2026-11-22T10:00:00+00:00"
    assert body["last_cycle"]["duration_seconds"] == 1.5
    clock.advance(3 * INTERVAL.total_seconds())
    assert health.healthz()[0] == 200
    clock.advance(1)
    assert health.healthz()[:1] == (503,)


def test_a_long_running_first_cycle_is_not_a_stall_for_an_hour(
    health: HealthState, clock: FrozenClock
) -> None:
    health.cycle_started()
    clock.advance(59 * 60)
    status, body = health.healthz()
    assert (status, body["status"]) == (200, "starting")
    assert body["cycle_running_since"] == "2026-11-22T10:00:00+00:00"
    clock.advance(61)
    assert health.healthz()[1]["status"] == "stalled"


def test_a_failed_last_cycle_answers_503_with_its_error(
    health: HealthState, clock: FrozenClock
) -> None:
    health.record_cycle("ok", duration_seconds=1.0, report=Report())
    clock.advance(60)
    health.record_cycle("failed", duration_seconds=0.2, error="StateError: disk full")
    status, body = health.healthz()
    assert (status, body["status"]) == (503, "failing")
    assert body["reason"] == "the last cycle failed: StateError: disk full"
    health.record_cycle("ok", duration_seconds=1.0, report=Report())
    assert health.healthz()[0] == 200


def test_an_interrupted_cycle_is_not_a_failure(health: HealthState) -> None:
    health.record_cycle("ok", duration_seconds=1.0, report=Report())
    health.record_cycle("interrupted", duration_seconds=0.5, report=Report(interrupted=True))
    assert health.healthz()[0] == 200


def test_a_lost_lease_answers_503_whatever_the_cycles_did(health: HealthState) -> None:
    health.record_cycle("ok", duration_seconds=1.0, report=Report())
    health.lease_lost("lease 'scorebridge' is now held by other:1")
    status, body = health.healthz()
    assert (status, body["status"]) == (503, "lease_lost")
    assert "other:1" in body["reason"]


SERIES_FROM_START = (
    'scorebridge_cycles_total{outcome="ok"}',
    'scorebridge_cycles_total{outcome="failed"}',
    'scorebridge_cycles_total{outcome="interrupted"}',
    'scorebridge_cycle_duration_seconds_bucket{le="60.0"}',
    "scorebridge_cycle_duration_seconds_count",
    'scorebridge_http_requests_total{route_class="read",status="2xx",system="mautic"}',
    'scorebridge_http_requests_total{route_class="write",status="5xx",system="hubspot"}',
    'scorebridge_http_requests_total{route_class="auth",status="error",system="mautic"}',
    'scorebridge_http_retries_total{system="hubspot"}',
    'scorebridge_http_rate_limited_total{system="mautic"}',
    'scorebridge_outbox_depth{system="mautic"}',
    'scorebridge_outbox_depth{system="crm"}',
    "scorebridge_dead_letters",
    'scorebridge_rows_pulled_total{system="hubspot"}',
    "scorebridge_last_success_timestamp_seconds",
    "process_resident_memory_bytes",
    "process_cpu_seconds_total",
)


def test_every_series_is_there_before_the_first_cycle(health: HealthState) -> None:
    found = samples(health)
    for name in SERIES_FROM_START:
        assert name in found, name
    assert found["scorebridge_last_success_timestamp_seconds"] == 0
    build = next(k for k in found if k.startswith("scorebridge_build_info{"))
    assert 'version="' in build
    assert 'python="' in build


def test_cycles_feed_the_histogram_the_rows_pulled_and_the_last_success(
    health: HealthState, clock: FrozenClock
) -> None:
    steps = {
        "pull": {"streams": {"contacts": {"rows": 30}, "points": {"rows": 12}}},
        "crm_pull": {"kind": "hubspot", "streams": {"contacts": {"rows": 5}}},
    }
    health.record_cycle("ok", duration_seconds=2.0, report=Report(steps=steps))
    clock.advance(300)
    health.record_cycle("failed", duration_seconds=40.0, error="RuntimeError: boom")
    found = samples(health)
    assert found['scorebridge_cycles_total{outcome="ok"}'] == 1
    assert found['scorebridge_cycles_total{outcome="failed"}'] == 1
    assert found['scorebridge_cycle_duration_seconds_bucket{le="2.5"}'] == 1
    assert found['scorebridge_cycle_duration_seconds_bucket{le="60.0"}'] == 2
    assert found["scorebridge_cycle_duration_seconds_sum"] == 42.0
    assert found['scorebridge_rows_pulled_total{system="mautic"}'] == 42
    assert found['scorebridge_rows_pulled_total{system="hubspot"}'] == 5
    assert found["scorebridge_last_success_timestamp_seconds"] == START.timestamp()


def test_store_figures_are_read_at_start_and_after_each_cycle(clock: FrozenClock) -> None:
    figures = [
        StoreFigures({"mautic": 7}, 2, {("mautic", "score"): 40}, START - timedelta(hours=1)),
        StoreFigures({"crm": 3}, 1, {("mautic", "score"): 41, ("crm", "task"): 2}, START),
    ]
    health = HealthState(
        interval=INTERVAL, clock=clock, metrics=Metrics("hubspot"), store_figures=figures.pop
    )
    health.refresh_store_figures()  # what the server does when it starts
    found = samples(health)
    assert found['scorebridge_outbox_depth{system="crm"}'] == 3
    assert found['scorebridge_outbox_depth{system="mautic"}'] == 0
    assert found["scorebridge_dead_letters"] == 1
    assert found['scorebridge_writes_total{op="task",system="crm"}'] == 2
    assert found["scorebridge_last_success_timestamp_seconds"] == START.timestamp()
    assert health.healthz()[1]["last_success"] == START.isoformat()
    health.record_cycle("ok", duration_seconds=1.0, report=Report())
    found = samples(health)
    assert found['scorebridge_outbox_depth{system="mautic"}'] == 7
    assert found['scorebridge_writes_total{op="score",system="mautic"}'] == 40


def test_a_store_that_cannot_be_read_does_not_break_the_metrics(clock: FrozenClock) -> None:
    def broken() -> StoreFigures:
        raise StateError("database is locked")

    health = HealthState(interval=INTERVAL, clock=clock, store_figures=broken)
    health.record_cycle("ok", duration_seconds=1.0, report=Report())
    assert samples(health)['scorebridge_cycles_total{outcome="ok"}'] == 1


@pytest.mark.parametrize(
    ("method", "route", "kind"),
    [
        ("GET", "/api/contacts", "read"),
        ("POST", "/crm/v3/objects/contacts/search", "read"),
        ("POST", "/crm/v3/objects/contacts/batch/read", "read"),
        ("POST", "/oauth/v2/token", "auth"),
        ("PATCH", "/api/contacts/batch/edit", "write"),
        ("POST", "/crm/v3/objects/tasks", "write"),
    ],
)
def test_route_classes(method: str, route: str, kind: str) -> None:
    assert route_class(method, route) == kind


@responses.activate
def test_sends_retries_and_429s_are_counted_while_the_server_serves(
    health: HealthState, clock: FrozenClock
) -> None:
    base = "https://mautic.example.test"
    responses.get(f"{base}/api/contacts", status=429, headers={"Retry-After": "3"})
    responses.get(f"{base}/api/contacts", status=503)
    responses.get(f"{base}/api/contacts", json={})
    client = HttpClient(
        system="mautic",
        base_url=base,
        session=make_session(user_agent="scorebridge-test/1"),
        clock=clock,
        retry=RetryPolicy(max_attempts=5, deadline=300, base=1.0, max_wait=60),
        buckets=BucketRegistry(),
        rng=random.Random(7),
    )
    with HealthServer(health, port=0):
        client.request("GET", "/api/contacts")
    client.request("GET", "/api/contacts")  # not counted: the server is stopped
    found = samples(health)
    read = 'scorebridge_http_requests_total{route_class="read",status="%s",system="mautic"}'
    assert found[read % "4xx"] == 1
    assert found[read % "5xx"] == 1
    assert found[read % "2xx"] == 1
    assert found['scorebridge_http_rate_limited_total{system="mautic"}'] == 1
    assert found['scorebridge_http_retries_total{system="mautic"}'] == 2


def call(url: str, method: str = "GET") -> tuple[int, Any, bytes]:
    request = urllib.request.Request(url, method=method)
    try:
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.headers, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers, exc.read()


def test_the_server_answers_get_and_head_on_loopback(
    health: HealthState, clock: FrozenClock
) -> None:
    health.record_cycle("ok", duration_seconds=1.0, report=Report())
    with HealthServer(health, port=0) as server:
        base = f"http://127.0.0.1:{server.port}"
        status, headers, body = call(base + "/healthz")
        assert (status, headers["Content-Type"]) == (200, "application/json")
        assert json.loads(body)["status"] == "ok"
        status, headers, body = call(base + "/healthz", "HEAD")
        assert (status, body) == (200, b"")
        assert int(headers["Content-Length"]) > 0
        status, headers, body = call(base + "/metrics")
        assert status == 200
        assert headers["Content-Type"].startswith("text/plain; version=0.0.4")
        assert b'scorebridge_cycles_total{outcome="ok"} 1.0' in body
        assert call(base + "/metrics", "HEAD")[:1] == (200,)
        assert call(base + "/nope")[0] == 404
        clock.advance(3 * INTERVAL.total_seconds() + 1)
        status, _, body = call(base + "/healthz")
        assert (status, json.loads(body)["status"]) == (503, "stalled")
        assert call(base + "/healthz", "HEAD")[:1] == (503,)
        port = server.port
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


def test_a_bind_address_that_is_no_ip_address_is_a_configuration_error(
    health: HealthState,
) -> None:
    with pytest.raises(ConfigError, match="daemon.health_bind: expected an IP address"):
        HealthServer(health, port=0, host="localhost").start()


def test_a_port_in_use_is_a_clear_configuration_error(health: HealthState) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = HealthServer(health, port=taken.getsockname()[1])
        with pytest.raises(ConfigError, match="cannot listen on 127.0.0.1"):
            server.start()
