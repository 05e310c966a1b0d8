"""HubSpot emulator rate limits over real sockets: headers, the three 429 bodies, recovery,
fault-injected 429/5xx, and the usage endpoint."""

from __future__ import annotations

import pytest
from hubspot_emu_support import Hub, sample

CONTACTS = "/crm/v3/objects/contacts"
SEARCH = "/crm/v3/objects/contacts/search"


@pytest.fixture
def hub(served: Hub) -> Hub:
    return served.fresh()


def test_every_response_carries_the_rate_limit_headers(hub: Hub) -> None:
    first = hub.call("GET", CONTACTS)
    second = hub.call("GET", CONTACTS)
    headers = second.headers
    assert headers["X-HubSpot-RateLimit-Daily"] == "250000"
    assert headers["X-HubSpot-RateLimit-Daily-Remaining"] == "249998"
    assert headers["X-HubSpot-RateLimit-Interval-Milliseconds"] == "10000"
    assert headers["X-HubSpot-RateLimit-Max"] == "100"
    assert first.headers["X-HubSpot-RateLimit-Remaining"] == "99"
    assert headers["X-HubSpot-RateLimit-Remaining"] == "98"
    assert headers["X-HubSpot-RateLimit-Secondly"] == "10"
    assert headers["X-HubSpot-RateLimit-Secondly-Remaining"] == "8"
    assert "Retry-After" not in headers
    search = hub.call("POST", SEARCH, {})
    assert search.headers["X-HubSpot-RateLimit-Secondly"] == "5"
    assert search.headers["X-HubSpot-RateLimit-Secondly-Remaining"] == "4"
    assert search.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "249997"
    assert "X-HubSpot-RateLimit-Max" not in search.headers


def test_ten_secondly_bucket_429_body_and_recovery(hub: Hub) -> None:
    hub.call("POST", "/_sandbox/limits", {"ten_secondly": 3})
    statuses = [hub.call("GET", CONTACTS).status_code for _ in range(4)]
    assert statuses == [200, 200, 200, 429]
    refused = hub.call("GET", CONTACTS)
    body = refused.json()
    assert body.keys() == sample("error_429_ten_secondly.json").keys()
    assert body["policyName"] == "TEN_SECONDLY_ROLLING"
    assert body["message"] == sample("error_429_ten_secondly.json")["message"]
    assert refused.headers["X-HubSpot-RateLimit-Remaining"] == "0"
    assert hub.call("POST", SEARCH, {}).status_code == 200  # search is metered apart
    hub.advance(10)
    assert hub.call("GET", CONTACTS).status_code == 200


def test_search_secondly_limit_answers_the_secondly_body(hub: Hub) -> None:
    statuses = [hub.call("POST", SEARCH, {}).status_code for _ in range(6)]
    assert statuses == [200] * 5 + [429]
    body = hub.call("POST", SEARCH, {}).json()
    expected = sample("error_429_search_secondly.json")
    assert body["message"] == expected["message"]
    assert body["category"] == expected["category"]
    assert body["policyName"] == "SECONDLY"
    assert hub.call("GET", CONTACTS).status_code == 200
    hub.advance(1)
    assert hub.call("POST", SEARCH, {}).status_code == 200


def test_daily_limit_answers_daily_until_midnight(hub: Hub) -> None:
    hub.call("POST", "/_sandbox/limits", {"daily": 2})
    assert [hub.call("GET", CONTACTS).status_code for _ in range(2)] == [200, 200]
    refused = hub.call("POST", SEARCH, {})
    assert refused.status_code == 429
    assert refused.json()["policyName"] == "DAILY"
    assert refused.json()["errorType"] == "RATE_LIMIT"
    assert refused.headers["X-HubSpot-RateLimit-Daily-Remaining"] == "0"
    hub.advance(14 * 3600)  # 10:00 -> 00:00 the next day
    assert hub.call("GET", CONTACTS).status_code == 200


def test_usage_endpoint_reports_the_daily_allowance(hub: Hub) -> None:
    hub.call("POST", "/_sandbox/limits", {"tier": "professional"})
    hub.call("GET", CONTACTS)
    usage = hub.call("GET", "/account-info/v3/api-usage/daily/private-apps").json()
    result = usage["results"][0]
    assert result["name"] == "private-apps-api-calls-daily"
    assert result["usageLimit"] == 650_000
    assert result["currentUsage"] == 2
    assert result["resetsAt"] == "2026-11-21T00:00:00.000Z"


def test_injected_429_and_5xx_use_hubspot_bodies(hub: Hub) -> None:
    hub.call("POST", "/_sandbox/faults", {"rate_limit_burst": 1})
    limited = hub.call("GET", CONTACTS)
    assert limited.status_code == 429
    assert limited.json()["policyName"] == "TEN_SECONDLY_ROLLING"
    assert hub.call("GET", CONTACTS).status_code == 200
    hub.call(
        "POST", "/_sandbox/faults", {"rate_limit_burst": 0, "error_ratio": 1.0, "error_status": 503}
    )
    failed = hub.call("GET", CONTACTS)
    assert failed.status_code == 503
    assert failed.json()["status"] == "error"
    assert hub.server.request_counts()["GET /crm/v3/objects/{objectType}"] == 3


def test_limits_control_rejects_unknown_settings(hub: Hub) -> None:
    assert hub.call("POST", "/_sandbox/limits", {"hourly": 3}).status_code == 400
    assert hub.call("POST", "/_sandbox/limits", {"tier": "platinum"}).status_code == 400
    settings = hub.call("GET", "/_sandbox/limits").json()
    assert settings == {
        "ten_secondly": 100,
        "daily": 250_000,
        "search_per_second": 5,
        "search_lag_ms": 0,
    }
