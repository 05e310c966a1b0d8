"""HubSpot failures: 429 ten-secondly/search/daily, 401, correlation ids, never bodies or tokens."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone

import pytest
import responses
from hubspot_support import BASE, TOKEN, make_adapter, sample

from scorebridge.clock import FrozenClock
from scorebridge.crm import CrmError, WriteItem
from scorebridge.crm.hubspot import HubSpotAdapter
from scorebridge.errors import Action, AuthError, BridgeError, QuotaExhausted, RateLimited
from scorebridge.http import RetryPolicy

UPDATE = f"{BASE}/crm/v3/objects/contacts/batch/update"
SEARCH = f"{BASE}/crm/v3/objects/contacts/search"
OK = {"status": "COMPLETE", "results": [{"id": "151", "properties": {}}]}
TEN_SECOND_HEADERS = {
    "X-HubSpot-RateLimit-Max": "100",
    "X-HubSpot-RateLimit-Remaining": "0",
    "X-HubSpot-RateLimit-Interval-Milliseconds": "10000",
}


def test_ten_secondly_429_waits_out_the_window_then_succeeds(
    adapter: HubSpotAdapter, clock: FrozenClock, http: responses.RequestsMock
) -> None:
    http.post(UPDATE, status=429, json=sample("error_429_ten_secondly"), headers=TEN_SECOND_HEADERS)
    http.post(UPDATE, json=OK)
    results = adapter.update_contacts([WriteItem(crm_id="151", properties={"x": 1})])
    assert results[0].ok
    assert clock.monotonic() >= 10.0  # waited for the 10-second window, on the injected clock


def test_ten_secondly_429_exhausted_is_rate_limited_with_retry_after(
    clock: FrozenClock, http: responses.RequestsMock
) -> None:
    adapter = make_adapter(clock, retry=RetryPolicy(max_attempts=1))
    http.post(UPDATE, status=429, json=sample("error_429_ten_secondly"))
    with pytest.raises(CrmError) as caught:
        adapter.update_contacts([WriteItem(crm_id="151", properties={"x": 1})])
    exc = caught.value
    assert exc.kind == "rate_limited"
    assert isinstance(exc, RateLimited)
    assert exc.retry_after == 10.0
    assert exc.request_id == "3c0e0c8b-0000-4000-8000-000000000429"
    assert BridgeError.classify(exc) is Action.RETRY


def test_search_secondly_429_is_rate_limited_for_one_second(
    clock: FrozenClock, http: responses.RequestsMock
) -> None:
    adapter = make_adapter(clock, retry=RetryPolicy(max_attempts=1))
    http.post(SEARCH, status=429, json=sample("error_429_search_secondly"))
    with pytest.raises(CrmError) as caught:
        list(adapter.contacts_changed_since(None))
    assert caught.value.kind == "rate_limited"
    assert caught.value.retry_after == 1.0  # type: ignore[attr-defined]


def test_daily_429_is_quota_exhausted_until_the_accounts_midnight(
    clock: FrozenClock, http: responses.RequestsMock
) -> None:
    adapter = make_adapter(clock, daily_reset_tz=timezone(timedelta(hours=-5)))
    http.post(
        UPDATE,
        status=429,
        json={
            "status": "error",
            "message": "You have reached your daily limit.",
            "errorType": "RATE_LIMIT",
            "correlationId": "3c0e0c8b-0000-4000-8000-00000000da11",
            "policyName": "DAILY",
        },
        headers={"X-HubSpot-RateLimit-Daily": "250000", "X-HubSpot-RateLimit-Daily-Remaining": "0"},
    )
    with pytest.raises(CrmError) as caught:
        adapter.update_contacts([WriteItem(crm_id="151", properties={"x": 1})])
    exc = caught.value
    assert exc.kind == "quota_exhausted"
    assert isinstance(exc, QuotaExhausted)
    # 10:00 UTC on Nov 20 is 05:00 at UTC-5: the next reset is Nov 21 00:00 local = 05:00 UTC
    assert exc.reset_at == datetime(2026, 11, 21, 5, 0, tzinfo=UTC)
    assert len(http.calls) == 1  # never retried
    assert adapter.usage().daily_remaining == 0


def test_401_is_an_auth_error_with_the_correlation_id_and_no_secret(
    adapter: HubSpotAdapter, http: responses.RequestsMock
) -> None:
    http.post(UPDATE, status=401, json=sample("error_401"))
    with pytest.raises(CrmError) as caught:
        adapter.update_contacts([WriteItem(crm_id="151", properties={"x": 1})])
    exc = caught.value
    assert exc.kind == "auth"
    assert isinstance(exc, AuthError)
    assert BridgeError.classify(exc) is Action.FAIL
    assert exc.request_id == "3c0e0c8b-0000-4000-8000-000000000401"
    assert TOKEN not in str(exc)
    assert "credentials not found" not in str(exc)  # the body's message stays out
    assert len(http.calls) == 1


def test_5xx_is_retried_then_transient(clock: FrozenClock, http: responses.RequestsMock) -> None:
    adapter = make_adapter(clock, retry=RetryPolicy(max_attempts=2, deadline=30.0))
    http.post(UPDATE, status=502, body="<html>bad gateway</html>")
    http.post(UPDATE, status=503, body="")
    with pytest.raises(CrmError) as caught:
        adapter.update_contacts([WriteItem(crm_id="151", properties={"x": 1})])
    assert caught.value.kind == "transient"
    assert "bad gateway" not in str(caught.value)


def test_usage_reads_the_daily_remaining_header(
    adapter: HubSpotAdapter, http: responses.RequestsMock
) -> None:
    http.post(UPDATE, json=OK, headers={"X-HubSpot-RateLimit-Daily-Remaining": "249000"})
    assert adapter.usage().daily_remaining is None
    adapter.update_contacts([WriteItem(crm_id="151", properties={"x": 1})])
    usage = adapter.usage()
    assert usage.daily_remaining == 249000
    assert usage.reset_at == datetime(2026, 11, 21, 0, 0, tzinfo=UTC)


def test_search_requests_are_paced_to_five_per_second(
    adapter: HubSpotAdapter, clock: FrozenClock, http: responses.RequestsMock
) -> None:
    http.post(f"{BASE}/crm/v3/objects/contacts/search", json={"total": 0, "results": []})
    for _ in range(11):
        list(adapter.contacts_changed_since(None))
    assert len(http.calls) == 11
    assert clock.monotonic() >= 2.0  # 11 searches cannot fit in two seconds at 5/s
