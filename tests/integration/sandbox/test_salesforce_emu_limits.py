"""Salesforce emulator limits and faults over real sockets: Sforce-Limit-Info on every response,
the rolling 24-hour allocation and its 403, /limits, and the shared fault knobs (Salesforce has
no 429: an injected burst answers REQUEST_LIMIT_EXCEEDED)."""

from __future__ import annotations

import time

import pytest
import requests
from salesforce_emu_support import API, Force, sample

LEADS = "SELECT Id FROM Lead"


def test_every_call_carries_its_usage_and_a_collection_counts_once(force: Force) -> None:
    first = force.call("GET", "/query", q=LEADS)
    assert first.headers["Sforce-Limit-Info"] == "api-usage=1/100000"
    failed = force.call("GET", "/sobjects/Lead/00QDn0000000999AAA")
    assert failed.status_code == 404
    assert failed.headers["Sforce-Limit-Info"] == "api-usage=2/100000"
    records = [{"attributes": {"type": "Account"}, "Name": f"A{n}"} for n in range(50)]
    collection = force.call("POST", "/composite/sobjects", {"records": records})
    assert collection.headers["Sforce-Limit-Info"] == "api-usage=3/100000"
    limits = force.call("GET", "/limits").json()
    assert limits["DailyApiRequests"] == {"Max": 100000, "Remaining": 99996}
    assert "Retry-After" not in first.headers


def test_spent_allocation_answers_403_until_the_window_rolls(force: Force) -> None:
    force.control("settings", {"daily_api_requests": 3})
    assert [force.call("GET", "/query", q=LEADS).status_code for _ in range(3)] == [200] * 3
    force.advance(3600)
    refused = force.call("GET", "/query", q=LEADS)
    assert refused.status_code == 403
    assert refused.json() == sample("error_403_request_limit.json")
    assert refused.headers["Sforce-Limit-Info"] == "api-usage=3/3"
    assert force.token().status_code == 200  # the token endpoint is not an API call
    force.advance(24 * 3600 - 3600)
    assert force.call("GET", "/query", q=LEADS).status_code == 401  # idle for hours
    assert force.login().call("GET", "/query", q=LEADS).status_code == 200


def test_versions_and_resources(force: Force) -> None:
    versions = requests.get(force.url + "/services/data/", timeout=10).json()
    by_number = {v["version"]: v for v in versions}
    assert by_number["62.0"] == {
        "label": "Winter '25",
        "url": "/services/data/v62.0",
        "version": "62.0",
    }
    assert force.call("GET", "/services/data/v12.0/limits").status_code == 404
    assert force.call("GET", f"{API}/").json()["query"] == f"{API}/query"


def test_fault_knobs(force: Force) -> None:
    force.control("faults", {"rate_limit_burst": 1})
    burst = force.call("GET", "/query", q=LEADS)
    assert burst.status_code == 403
    assert burst.json()[0]["errorCode"] == "REQUEST_LIMIT_EXCEEDED"
    assert force.call("GET", "/query", q=LEADS).status_code == 200
    force.control("faults", {"rate_limit_burst": 0, "error_ratio": 1.0, "error_status": 503})
    failed = force.call("GET", "/query", q=LEADS)
    assert failed.status_code == 503
    assert failed.json()[0]["errorCode"] == "SERVER_UNAVAILABLE"
    force.control("faults", {"error_ratio": 0.0, "latency_ms": 150})
    started = time.monotonic()
    assert force.call("GET", "/query", q=LEADS).ok
    assert time.monotonic() - started >= 0.15
    force.control("faults", {"latency_ms": 0, "clock_offset_seconds": 3600})
    created = force.call("POST", "/sobjects/Account", {"Name": "Later"}).json()["id"]
    stamp = force.call("GET", f"/sobjects/Account/{created}").json()["CreatedDate"]
    assert stamp == "2026-11-20T11:00:00.000+0000"


def test_timeouts_with_and_without_the_write_applied_and_resets(force: Force) -> None:
    account = force.call("POST", "/sobjects/Account", {"Name": "Before"}).json()["id"]
    faults = {"timeout_ratio": 1.0, "timeout_seconds": 0.4, "path_prefix": f"{API}/sobjects/"}
    for applied in (False, True):
        force.control("faults", {**faults, "timeout_after_apply": applied})
        name = f"Renamed {applied}"
        with pytest.raises(requests.exceptions.ReadTimeout):
            force.http.patch(
                f"{force.url}{API}/sobjects/Account/{account}", json={"Name": name}, timeout=0.2
            )
        force.control("faults", {})
        time.sleep(0.25)  # let the held connection finish
        read = force.call("GET", f"/sobjects/Account/{account}").json()
        assert (read["Name"] == name) is applied
    force.control("faults", {"reset_ratio": 1.0})
    with pytest.raises(requests.exceptions.ConnectionError):
        requests.get(force.url + API + "/limits", timeout=5)
    counted = force.control("requests")["by_route"]
    assert counted["GET /services/data/vXX.X/limits"] == 1
