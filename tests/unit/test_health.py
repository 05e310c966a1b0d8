"""/healthz and /metrics: the health rule, the Prometheus text, and the loopback-only server."""

import json
import re
import socket
import urllib.error
import urllib.request
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta

import pytest

from scorebridge.clock import FrozenClock
from scorebridge.errors import ConfigError
from scorebridge.health import HealthServer, HealthState

INTERVAL = timedelta(minutes=5)


@dataclass(frozen=True)
class Report:
    interrupted: bool = False
    events_pulled: int = 0
    requests: Mapping[str, int] = field(default_factory=dict)
    outbox_depth: Mapping[str, int] = field(default_factory=dict)
    dead_letters: int = 0


@pytest.fixture
def clock() -> FrozenClock:
    return FrozenClock(datetime(2026, 11, 22, 10, 0, tzinfo=UTC))


@pytest.fixture
def health(clock: FrozenClock) -> HealthState:
    return HealthState(interval=INTERVAL, clock=clock)


def test_a_fresh_daemon_is_healthy_until_three_intervals_pass_without_a_success(
    health: HealthState, clock: FrozenClock
) -> None:
    assert health.healthz() == (
        200,
        {"status": "starting", "last_cycle": None, "last_success": None},
    )
    clock.advance(3 * INTERVAL.total_seconds() + 1)
    status, body = health.healthz()
    assert (status, body["status"]) == (503, "stale")


def test_a_successful_cycle_is_ok_and_goes_stale_after_three_intervals(
    health: HealthState, clock: FrozenClock
) -> None:
    health.record_cycle("ok", duration_seconds=1.5, report=Report())
    status, body = health.healthz()
    assert status == 200
    assert body["status"] == "ok"
    assert body["last_success"] == "2026-11-22T10:00:00+00:00"
    assert body["last_cycle"]["outcome"] == "ok"
    assert body["last_cycle"]["duration_seconds"] == 1.5
    clock.advance(3 * INTERVAL.total_seconds())
    assert health.healthz()[0] == 200
    clock.advance(1)
    assert health.healthz()[0] == 503


def test_a_failed_last_cycle_is_unhealthy_even_right_after_a_success(
    health: HealthState, clock: FrozenClock
) -> None:
    health.record_cycle("ok", duration_seconds=1.0, report=Report())
    clock.advance(60)
    health.record_cycle("failed", duration_seconds=0.2, error="StateError: disk full")
    status, body = health.healthz()
    assert (status, body["status"]) == (503, "failing")
    assert body["last_cycle"]["error"] == "StateError: disk full"
    health.record_cycle("ok", duration_seconds=1.0, report=Report())
    assert health.healthz()[0] == 200


def test_an_interrupted_cycle_is_not_a_failure(health: HealthState) -> None:
    health.record_cycle("ok", duration_seconds=1.0, report=Report())
    health.record_cycle("interrupted", duration_seconds=0.5, report=Report(interrupted=True))
    assert health.healthz()[0] == 200


SAMPLE = re.compile(r"^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{[^}]*\})? (-?[0-9.e+]+)$")


def parse_metrics(text: str) -> dict[str, float]:
    """Check the exposition format (HELP and TYPE before each family) and return the samples."""
    assert text.endswith("\n")
    samples: dict[str, float] = {}
    declared: set[str] = set()
    for line in text.splitlines():
        if line.startswith("# HELP "):
            continue
        if line.startswith("# TYPE "):
            _, _, name, kind = line.split(" ")
            assert kind in ("counter", "gauge", "summary")
            declared.add(name)
            continue
        match = SAMPLE.match(line)
        assert match, f"not a valid sample line: {line!r}"
        name = match[1]
        family = re.sub(r"_(sum|count)$", "", name)
        assert name in declared or family in declared, f"{name} has no TYPE line"
        samples[name + (match[2] or "")] = float(match[3])
    return samples


def test_metrics_count_outcomes_and_accumulate_the_reports(
    health: HealthState, clock: FrozenClock
) -> None:
    health.record_cycle(
        "ok",
        duration_seconds=2.0,
        report=Report(
            events_pulled=40,
            requests={"mautic": 12, "hubspot": 3},
            outbox_depth={"mautic": 5, "hubspot": 1},
            dead_letters=2,
        ),
    )
    clock.advance(300)
    health.record_cycle("failed", duration_seconds=0.5, error="RuntimeError: boom")
    clock.advance(300)
    health.record_cycle(
        "ok",
        duration_seconds=1.0,
        report=Report(
            events_pulled=2, requests={"mautic": 8}, outbox_depth={"mautic": 0}, dead_letters=1
        ),
    )
    samples = parse_metrics(health.metrics())
    assert samples['scorebridge_cycles_total{outcome="ok"}'] == 2
    assert samples['scorebridge_cycles_total{outcome="failed"}'] == 1
    assert samples['scorebridge_cycles_total{outcome="interrupted"}'] == 0
    assert samples["scorebridge_cycle_duration_seconds_sum"] == 3.5
    assert samples["scorebridge_cycle_duration_seconds_count"] == 3
    assert samples["scorebridge_last_success_timestamp_seconds"] == clock.now().timestamp()
    assert samples['scorebridge_requests_total{system="mautic"}'] == 20
    assert samples['scorebridge_requests_total{system="hubspot"}'] == 3
    assert samples["scorebridge_events_pulled_total"] == 42
    assert samples['scorebridge_outbox_depth{system="mautic"}'] == 0
    assert 'scorebridge_outbox_depth{system="hubspot"}' not in samples
    assert samples["scorebridge_dead_letters"] == 1


def test_metrics_before_any_cycle_are_valid_and_omit_unknown_gauges(health: HealthState) -> None:
    samples = parse_metrics(health.metrics())
    assert samples['scorebridge_cycles_total{outcome="ok"}'] == 0
    assert "scorebridge_last_success_timestamp_seconds" not in samples
    assert "scorebridge_dead_letters" not in samples


def test_label_values_are_escaped(health: HealthState) -> None:
    health.record_cycle("ok", duration_seconds=1, report=Report(requests={'we"ird\\sys\n': 1}))
    assert 'scorebridge_requests_total{system="we\\"ird\\\\sys\\n"} 1' in health.metrics()


def get(url: str) -> tuple[int, str, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.headers["Content-Type"], response.read().decode()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.headers["Content-Type"], exc.read().decode()


def test_the_server_answers_healthz_and_metrics_on_loopback(
    health: HealthState, clock: FrozenClock
) -> None:
    health.record_cycle("ok", duration_seconds=1.0, report=Report(requests={"mautic": 4}))
    with HealthServer(health, port=0) as server:
        base = f"http://127.0.0.1:{server.port}"
        status, content_type, body = get(base + "/healthz")
        assert (status, content_type) == (200, "application/json")
        assert json.loads(body)["status"] == "ok"
        status, content_type, body = get(base + "/metrics")
        assert status == 200
        assert content_type.startswith("text/plain; version=0.0.4")
        assert parse_metrics(body)['scorebridge_requests_total{system="mautic"}'] == 4
        assert get(base + "/nope")[0] == 404
        clock.advance(3 * INTERVAL.total_seconds() + 1)
        status, _, body = get(base + "/healthz")
        assert (status, json.loads(body)["status"]) == (503, "stale")
        port = server.port
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()


@pytest.mark.parametrize("host", ["0.0.0.0", "192.168.1.10", "localhost", "::1", "example.com"])
def test_the_server_refuses_any_host_but_loopback(health: HealthState, host: str) -> None:
    with pytest.raises(ConfigError, match=r"127\.0\.0\.1 only"):
        HealthServer(health, port=0, host=host)


def test_a_port_in_use_is_a_clear_configuration_error(health: HealthState) -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        server = HealthServer(health, port=taken.getsockname()[1])
        with pytest.raises(ConfigError, match="cannot listen on 127.0.0.1"):
            server.start()
