"""``level = "debug"`` logs one record per send: route template, status, duration, attempt and
the retry decision, with nothing secret in it (issue 15 item 6)."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable

import pytest
import requests
import responses

from scorebridge.clock import FrozenClock
from scorebridge.errors import TerminalError, TransientError
from scorebridge.http import HttpClient, RetryPolicy
from scorebridge.http.requestlog import route_template
from scorebridge.logging import configure_logging

BASE = "https://crm.example.test"


def sends(caplog: pytest.LogCaptureFixture) -> list[dict[str, object]]:
    keys = ("method", "route", "status", "duration_ms", "attempt", "decision")
    return [
        {k: getattr(r, k) for k in keys}
        for r in caplog.records
        if r.name == "scorebridge.http.requests"
    ]


@responses.activate
def test_each_send_is_one_record_with_its_decision(
    make_client: Callable[..., HttpClient], clock: FrozenClock, caplog: pytest.LogCaptureFixture
) -> None:
    url = f"{BASE}/crm/v3/objects/contacts/90125"

    def slow_then_limited(request: requests.PreparedRequest) -> tuple[int, dict[str, str], str]:
        clock.advance(0.25)
        return 429, {"Retry-After": "3"}, "{}"

    responses.add_callback(responses.GET, url, slow_then_limited)
    responses.get(url, json={"id": "90125"})
    with caplog.at_level(logging.DEBUG, logger="scorebridge.http.requests"):
        make_client(retry=RetryPolicy(base=0.0)).request("GET", "/crm/v3/objects/contacts/90125")
    assert sends(caplog) == [
        {
            "method": "GET",
            "route": "/crm/v3/objects/contacts/{id}",
            "status": 429,
            "duration_ms": 250,
            "attempt": 1,
            "decision": "retry in 3.0s",
        },
        {
            "method": "GET",
            "route": "/crm/v3/objects/contacts/{id}",
            "status": 200,
            "duration_ms": 0,
            "attempt": 2,
            "decision": "ok",
        },
    ]


@responses.activate
def test_a_failure_that_is_not_retried_and_one_that_gives_up_say_so(
    make_client: Callable[..., HttpClient], caplog: pytest.LogCaptureFixture
) -> None:
    responses.get(f"{BASE}/v1/gone", status=404)
    responses.get(f"{BASE}/v1/down", status=503)
    client = make_client(retry=RetryPolicy(max_attempts=2, base=0.0))
    with caplog.at_level(logging.DEBUG, logger="scorebridge.http.requests"):
        with pytest.raises(TerminalError):
            client.request("GET", "/v1/gone")
        with pytest.raises(TransientError):
            client.request("GET", "/v1/down")
    assert [(s["route"], s["status"], s["decision"]) for s in sends(caplog)] == [
        ("/v1/gone", 404, "fail, not retried"),
        ("/v1/down", 503, "retry in 0.0s"),
        ("/v1/down", 503, "give up (the attempt budget is spent)"),
    ]


@responses.activate
def test_the_records_carry_no_secret_and_need_the_debug_level(
    make_client: Callable[..., HttpClient],
) -> None:
    responses.get(f"{BASE}/v1/things", json={})
    stream = io.StringIO()
    client = make_client()
    try:
        configure_logging("info", stream=stream)
        client.request("GET", "/v1/things", params={"api_key": "s3cr3t-key-value"})
        assert "http request" not in stream.getvalue()
        configure_logging("debug", stream=stream)
        client.request("GET", "/v1/things", params={"api_key": "s3cr3t-key-value"})
    finally:
        configure_logging("warning")
    line = next(x for x in stream.getvalue().splitlines() if "http request" in x)
    assert "route=/v1/things status=200" in line
    assert "decision=ok" in line
    assert "s3cr3t" not in stream.getvalue()


def test_ids_emails_and_tokens_in_a_path_are_shortened() -> None:
    assert route_template("/api/contacts/{id}/points/groups/{gid}/set/{value}") == (
        "/api/contacts/{id}/points/groups/{gid}/set/{value}"
    )
    assert route_template("/crm/v3/objects/contacts/123/associations/deals") == (
        "/crm/v3/objects/contacts/{id}/associations/deals"
    )
    assert route_template("/v1/users/ada@example.com/tasks") == "/v1/users/{id}/tasks"
    assert route_template("/v1/sessions/3f2b9c1e-8d4a-4b6f-9e2d-1a2b3c4d5e6f") == (
        "/v1/sessions/{id}"
    )
    assert route_template("/api/stats/lead_points_change_log") == (
        "/api/stats/lead_points_change_log"
    )
