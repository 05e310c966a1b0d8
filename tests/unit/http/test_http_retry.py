"""Retries as a user of the transport sees them: waits, budgets, and what is never repeated."""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from email.utils import format_datetime

import pytest
import requests
import responses

from scorebridge.clock import FrozenClock
from scorebridge.errors import RateLimited, TerminalError, TransientError
from scorebridge.http import HttpClient, RetryPolicy
from scorebridge.http.bounds import request_bounds

BASE = "https://crm.example.test"
START = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)

URL = f"{BASE}/v1/things"


@responses.activate
def test_429_with_retry_after_seconds_waits_that_long(
    make_client: Callable[..., HttpClient], clock: FrozenClock
) -> None:
    responses.get(URL, status=429, headers={"Retry-After": "17"})
    responses.get(URL, json={"ok": True})
    http = make_client()
    assert http.request("GET", "/v1/things").json() == {"ok": True}
    assert 17 <= clock.monotonic() <= 17.01 + 1.0
    assert len(responses.calls) == 2


@responses.activate
def test_429_with_http_date_retry_after_uses_the_server_date(
    make_client: Callable[..., HttpClient], clock: FrozenClock
) -> None:
    server_now = START + timedelta(hours=3)  # server clock far ahead of ours: skew is ignored
    responses.get(
        URL,
        status=429,
        headers={
            "Date": format_datetime(server_now, usegmt=True),
            "Retry-After": format_datetime(server_now + timedelta(seconds=42), usegmt=True),
        },
    )
    responses.get(URL, json={})
    make_client().request("GET", "/v1/things")
    assert 42 <= clock.monotonic() <= 43


@responses.activate
def test_429_with_epoch_ratelimit_reset_waits_until_the_reset(
    make_client: Callable[..., HttpClient], clock: FrozenClock
) -> None:
    reset = int(START.timestamp()) + 30
    responses.get(
        URL,
        status=429,
        headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": str(reset)},
    )
    responses.get(URL, json={})
    make_client().request("GET", "/v1/things")
    assert 30 <= clock.monotonic() <= 31


@responses.activate
def test_retry_after_beyond_the_deadline_gives_up_at_once_with_the_wait(
    make_client: Callable[..., HttpClient], clock: FrozenClock
) -> None:
    responses.get(URL, status=429, headers={"Retry-After": "3600"})
    http = make_client(retry=RetryPolicy(max_attempts=5, deadline=60))
    with pytest.raises(RateLimited) as info:
        http.request("GET", "/v1/things")
    assert info.value.retry_after == 3600
    assert clock.monotonic() == 0  # no pointless sleep
    assert len(responses.calls) == 1


@responses.activate
def test_5xx_storm_then_success(make_client: Callable[..., HttpClient], clock: FrozenClock) -> None:
    for status in (500, 502, 503, 504):
        responses.get(URL, status=status)
    responses.get(URL, json={"n": 1})
    http = make_client()
    assert http.request("GET", "/v1/things").json() == {"n": 1}
    assert len(responses.calls) == 5
    # full jitter: every wait is within U(0, base * 2**(n-1)), so the total is bounded
    assert 0 < clock.monotonic() <= 1 + 2 + 4 + 8


@responses.activate
def test_5xx_until_the_attempt_budget_runs_out_names_system_method_and_route(
    make_client: Callable[..., HttpClient], caplog: pytest.LogCaptureFixture
) -> None:
    responses.get(f"{URL}?api_key=s3cr3t-key&page=2", status=503)
    http = make_client(retry=RetryPolicy(max_attempts=3, deadline=300, base=1))
    with caplog.at_level(logging.WARNING), pytest.raises(TransientError) as info:
        http.request("GET", "/v1/things", params={"api_key": "s3cr3t-key", "page": 2})
    message = str(info.value)
    assert "testcrm" in message
    assert "GET" in message
    assert "gave up after 3 attempt(s)" in message
    assert "503 Service Unavailable" in message
    assert "(GET /v1/things)" in message  # the route, no host and no query string
    assert "api_key" not in message
    assert info.value.url.endswith("api_key=***&page=2")  # the attribute keeps it, redacted
    assert "s3cr3t-key" not in message
    assert "s3cr3t-key" not in caplog.text
    assert info.value.status == 503
    assert len(responses.calls) == 3


@responses.activate
def test_deadline_budget_stops_before_the_attempt_budget(
    make_client: Callable[..., HttpClient], clock: FrozenClock
) -> None:
    responses.get(URL, status=500)
    http = make_client(retry=RetryPolicy(max_attempts=100, deadline=20, base=4, max_wait=8))
    with pytest.raises(TransientError, match="gave up"):
        http.request("GET", "/v1/things")
    assert clock.monotonic() <= 20
    assert 2 < len(responses.calls) < 100


@responses.activate
def test_read_timeouts_then_success(make_client: Callable[..., HttpClient]) -> None:
    responses.get(URL, body=requests.exceptions.ReadTimeout("slow"))
    responses.get(URL, body=requests.exceptions.ConnectionError("reset by peer"))
    responses.get(URL, json={"ok": 1})
    assert make_client().request("GET", "/v1/things").json() == {"ok": 1}
    assert len(responses.calls) == 3


@responses.activate
def test_read_timeout_on_a_non_idempotent_post_is_not_resent(
    make_client: Callable[..., HttpClient],
) -> None:
    responses.post(URL, body=requests.exceptions.ReadTimeout("slow"))
    with pytest.raises(TransientError, match="read timeout"):
        make_client().request("POST", "/v1/things", json={"a": 1})
    assert len(responses.calls) == 1


@responses.activate
def test_5xx_on_a_non_idempotent_post_is_not_resent(make_client: Callable[..., HttpClient]) -> None:
    responses.post(URL, status=503)
    responses.post(URL, json={})
    with pytest.raises(TransientError):
        make_client().request("POST", "/v1/things", json={"a": 1})
    assert len(responses.calls) == 1


@responses.activate
def test_post_marked_idempotent_is_resent(make_client: Callable[..., HttpClient]) -> None:
    responses.post(URL, status=502)
    responses.post(URL, json={"ok": 1})
    http = make_client()
    assert http.request("POST", "/v1/things", json={}, idempotent=True).json() == {"ok": 1}
    assert len(responses.calls) == 2


@responses.activate
def test_post_rejected_with_429_or_connect_timeout_is_resent(
    make_client: Callable[..., HttpClient],
) -> None:
    """The server never acted on these, so even a non-idempotent POST is safe to resend."""
    responses.post(URL, status=429, headers={"Retry-After": "1"})
    responses.post(URL, body=requests.exceptions.ConnectTimeout("no route"))
    responses.post(URL, json={"id": 9}, status=201)
    assert make_client().request("POST", "/v1/things", json={}).json() == {"id": 9}
    assert len(responses.calls) == 3


@responses.activate
def test_4xx_is_terminal_and_not_retried(make_client: Callable[..., HttpClient]) -> None:
    responses.get(URL, status=404)
    with pytest.raises(TerminalError) as info:
        make_client().request("GET", "/v1/things")
    assert info.value.status == 404
    assert len(responses.calls) == 1


@responses.activate
def test_retries_are_logged_without_bodies(
    make_client: Callable[..., HttpClient], caplog: pytest.LogCaptureFixture
) -> None:
    responses.get(URL, status=500, body="secret-body-content")
    responses.get(URL, json={})
    with caplog.at_level(logging.WARNING):
        make_client().request("GET", "/v1/things")
    assert "attempt 1/5 failed (500 Internal Server Error)" in caplog.text
    assert "secret-body-content" not in caplog.text


@responses.activate
def test_requests_are_counted_per_route_template(make_client: Callable[..., HttpClient]) -> None:
    responses.get(f"{BASE}/v1/things/1", status=500)
    responses.get(f"{BASE}/v1/things/1", json={})
    responses.get(f"{BASE}/v1/things/2", json={})
    http = make_client()
    http.request("GET", "/v1/things/1", route="/v1/things/{id}")
    http.request("GET", "/v1/things/2", route="/v1/things/{id}")
    assert http.counter.snapshot() == {"GET /v1/things/{id}": 3}
    assert http.counter.total() == 3


# -- the cycle's retry budget (issue 15 item 6) ----------------------------------------------


@responses.activate
def test_a_burst_of_429s_is_waited_out_beyond_five_attempts(
    make_client: Callable[..., HttpClient], clock: FrozenClock
) -> None:
    for _ in range(8):
        responses.get(URL, status=429, headers={"Retry-After": "10"})
    responses.get(URL, json={"ok": True})
    with request_bounds(clock=clock, retry_budget=300):
        assert make_client().request("GET", "/v1/things").json() == {"ok": True}
    assert len(responses.calls) == 9
    assert 80 <= clock.monotonic() <= 80 + 8 * 1.0, "Retry-After plus at most `base` of jitter"


@responses.activate
def test_the_retry_budget_is_shared_by_the_cycle_and_its_end_is_a_clear_error(
    make_client: Callable[..., HttpClient], clock: FrozenClock
) -> None:
    for _ in range(3):
        responses.get(URL, status=429, headers={"Retry-After": "30"})
    responses.get(URL, json={})
    responses.get(f"{BASE}/v1/other", status=429, headers={"Retry-After": "30"})
    http = make_client(retry=RetryPolicy(base=0.0))
    with request_bounds(clock=clock, retry_budget=100) as bounds:
        http.request("GET", "/v1/things")
        assert bounds.remaining() == pytest.approx(10)
        with pytest.raises(RateLimited) as info:
            http.request("GET", "/v1/other")
    message = str(info.value)
    assert "gave up after 1 attempt(s)" in message
    assert "Retry-After 30s is more than the 10s left of the cycle's retry budget" in message
    assert "429 Too Many Requests" in message
    assert clock.monotonic() == pytest.approx(90), "no wait that could not end in a resend"


@responses.activate
def test_a_spent_budget_gives_up_even_on_short_waits(
    make_client: Callable[..., HttpClient], clock: FrozenClock
) -> None:
    responses.get(URL, status=429, headers={"Retry-After": "4"})
    with request_bounds(clock=clock, retry_budget=20), pytest.raises(RateLimited) as info:
        make_client(retry=RetryPolicy(base=0.0)).request("GET", "/v1/things")
    assert "the cycle's retry budget ([http] retry_budget) is spent" in str(info.value)
    assert clock.monotonic() == pytest.approx(20)
    assert len(responses.calls) == 6


@responses.activate
def test_a_long_retry_after_is_capped_at_max_wait(
    make_client: Callable[..., HttpClient], clock: FrozenClock
) -> None:
    responses.get(URL, status=429, headers={"Retry-After": "500"})
    responses.get(URL, json={})
    with request_bounds(clock=clock, retry_budget=1000):
        make_client(retry=RetryPolicy(base=0.0, max_wait=60)).request("GET", "/v1/things")
    assert clock.monotonic() == pytest.approx(60)


@responses.activate
def test_other_failures_still_stop_after_max_attempts_inside_a_cycle(
    make_client: Callable[..., HttpClient], clock: FrozenClock
) -> None:
    responses.get(URL, status=503)
    with request_bounds(clock=clock, retry_budget=10_000), pytest.raises(TransientError) as info:
        make_client().request("GET", "/v1/things")
    assert len(responses.calls) == 5
    assert "gave up after 5 attempt(s)" in str(info.value)
    assert "(the attempt budget is spent)" in str(info.value)
