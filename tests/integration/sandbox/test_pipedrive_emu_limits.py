"""Pipedrive emulator limits and faults over real sockets: the burst and search windows with
their headers and Retry-After, the daily token budget, and the shared fault knobs (429 bursts,
5xx, latency, timeouts with and without the write applied, resets, clock offset)."""

from __future__ import annotations

import time

import pytest
import requests
from pipedrive_emu_support import Pipe, sample

PERSONS = "/api/v2/persons"
SEARCH = "/api/v2/persons/search"


def test_every_response_carries_the_limit_headers(pipe: Pipe) -> None:
    first = pipe.call("GET", PERSONS)
    second = pipe.call("GET", f"{PERSONS}/101")
    write = pipe.call("PATCH", f"{PERSONS}/101", {"name": "Ana María Ruiz"})
    assert first.headers["x-ratelimit-limit"] == "20"
    assert first.headers["x-ratelimit-remaining"] == "19"
    assert second.headers["x-ratelimit-remaining"] == "18"
    assert first.headers["x-ratelimit-reset"] == "2"
    assert first.headers["x-daily-ratelimit-token-limit"] == "180000"
    assert first.headers["x-daily-ratelimit-token-remaining"] == "179990"  # a list costs 10
    assert second.headers["x-daily-ratelimit-token-remaining"] == "179989"  # a read costs 1
    assert write.headers["x-daily-ratelimit-token-remaining"] == "179984"  # a write costs 5
    assert second.headers["x-daily-requests-left"] == "10000"
    assert write.headers["x-daily-requests-left"] == "9999"
    assert "retry-after" not in first.headers
    failed = pipe.call("GET", f"{PERSONS}/999")
    assert failed.status_code == 404
    assert "x-ratelimit-remaining" in failed.headers


def test_burst_window_refuses_with_retry_after_then_recovers(pipe: Pipe) -> None:
    pipe.control("settings", {"burst_api_token": 3})
    statuses = [pipe.call("GET", PERSONS).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    pipe.advance(1)
    refused = pipe.call("GET", PERSONS)
    assert refused.status_code == 429
    assert refused.json().keys() == sample("error_429.json").keys()
    assert refused.json()["success"] is False
    assert refused.headers["retry-after"] == "1"
    assert refused.headers["x-ratelimit-remaining"] == "0"
    assert refused.headers["x-daily-ratelimit-token-remaining"] == "179970"  # refused: free
    pipe.advance(1)
    assert pipe.call("GET", PERSONS).status_code == 200


def test_search_has_its_own_window_of_ten_per_two_seconds(pipe: Pipe) -> None:
    statuses = [pipe.call("GET", SEARCH, term="nordic").status_code for _ in range(11)]
    assert statuses == [200] * 10 + [429]
    refused = pipe.call("GET", SEARCH, term="nordic")
    assert refused.headers["x-ratelimit-limit"] == "10"
    assert "retry-after" in refused.headers
    assert pipe.call("GET", PERSONS).status_code == 200  # the burst window still has room
    pipe.advance(2)
    assert pipe.call("GET", SEARCH, term="nordic").status_code == 200


def test_spent_daily_budget_answers_429_until_midnight(pipe: Pipe) -> None:
    pipe.control("settings", {"daily_token_budget": 25})
    assert [pipe.call("GET", PERSONS).status_code for _ in range(2)] == [200, 200]
    refused = pipe.call("GET", PERSONS)
    assert refused.status_code == 429
    assert refused.json()["error"].startswith("Daily API token budget exceeded")
    assert refused.headers["x-daily-ratelimit-token-remaining"] == "5"
    assert "retry-after" not in refused.headers  # waiting seconds does not help
    assert pipe.call("GET", f"{PERSONS}/101").status_code == 200  # 1 token still fits
    pipe.advance(14 * 3600)  # past 00:00 UTC
    assert pipe.call("GET", PERSONS).status_code == 200
    assert pipe.control("truth")["daily_tokens"] == {"used": 10, "budget": 25}


def test_fault_knobs(pipe: Pipe) -> None:
    pipe.control("faults", {"rate_limit_burst": 2, "rate_limit_retry_after": 3})
    burst = [pipe.call("GET", PERSONS) for _ in range(3)]
    assert [r.status_code for r in burst] == [429, 429, 200]
    assert burst[0].headers["retry-after"] == "3"
    assert burst[0].json()["success"] is False
    pipe.control("faults", {"rate_limit_burst": 0, "error_ratio": 1.0, "error_status": 503})
    failed = pipe.call("GET", PERSONS)
    assert failed.status_code == 503
    assert failed.json()["success"] is False
    pipe.control("faults", {"error_ratio": 0.0, "latency_ms": 150})
    started = time.monotonic()
    assert pipe.call("GET", PERSONS).ok
    assert time.monotonic() - started >= 0.15
    pipe.control("faults", {"latency_ms": 0, "clock_offset_seconds": 86_400})
    assert pipe.data("POST", PERSONS, {"name": "Tomorrow"})["add_time"] == "2026-11-21T10:00:00Z"


def test_timeouts_with_and_without_the_write_applied_and_resets(pipe: Pipe) -> None:
    faults = {"timeout_ratio": 1.0, "timeout_seconds": 0.4, "path_prefix": "/api/v2/persons/"}
    for applied in (False, True):
        pipe.control("faults", {**faults, "timeout_after_apply": applied})
        name = f"Renamed {applied}"
        with pytest.raises(requests.exceptions.ReadTimeout):
            requests.patch(
                f"{pipe.url}{PERSONS}/101",
                json={"name": name},
                headers={"x-api-token": pipe.creds["token"]},
                timeout=0.2,
            )
        pipe.control("faults", {})
        time.sleep(0.25)  # let the held connection finish
        assert (pipe.data("GET", f"{PERSONS}/101")["name"] == name) is applied
    pipe.control("faults", {"reset_ratio": 1.0})
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(pipe.url + PERSONS, headers={"x-api-token": pipe.creds["token"]}, timeout=5)
    assert pipe.control("requests")["by_route"]["GET /api/v2/persons"] == 1
