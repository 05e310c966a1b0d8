"""Session, status table, redaction, Retry-After parsing and the token bucket."""

from __future__ import annotations

import logging
import random
import threading
from collections.abc import Callable
from datetime import UTC, datetime

import pytest
import requests
import responses

from scorebridge.clock import FrozenClock
from scorebridge.errors import AuthError, QuotaExhausted, TerminalError
from scorebridge.http import (
    BucketRegistry,
    HttpClient,
    RateLimit,
    RateLimitInfo,
    ResponseAction,
    RetryPolicy,
    SecretRegistry,
    Timeouts,
    TokenBucket,
    VendorHooks,
    action_for_exception,
    action_for_status,
    make_session,
    parse_retry_after,
    read_standard_headers,
    redact_headers,
    redact_url,
    scrub,
)

START = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
BASE = "https://crm.example.test"


def test_session_verifies_tls_and_never_retries_in_urllib3() -> None:
    session = make_session(user_agent="ua/1")
    assert session.verify is True
    assert session.headers["User-Agent"] == "ua/1"
    adapter = session.get_adapter("https://x.test")
    assert isinstance(adapter, requests.adapters.HTTPAdapter)
    assert adapter.max_retries.total == 0


def test_session_uses_the_ca_bundle(tmp_path: object) -> None:
    assert make_session(user_agent="ua", ca_bundle="/etc/ca.pem").verify == "/etc/ca.pem"


def test_insecure_session_warns(caplog: pytest.LogCaptureFixture) -> None:
    with caplog.at_level(logging.WARNING):
        session = make_session(user_agent="ua", insecure=True)
    assert session.verify is False
    assert "verification is OFF" in caplog.text


@responses.activate
def test_every_request_carries_connect_and_read_timeouts() -> None:
    responses.get(f"{BASE}/x", json={})
    session = make_session(user_agent="ua", timeouts=Timeouts(connect=3, read=11))
    session.get(f"{BASE}/x")
    assert responses.calls[0].request.req_kwargs["timeout"] == (3, 11)


@pytest.mark.parametrize(
    ("status", "action"),
    [
        (200, ResponseAction.SUCCESS),
        (204, ResponseAction.SUCCESS),
        (302, ResponseAction.FAIL),
        (400, ResponseAction.FAIL),
        (401, ResponseAction.REFRESH_AUTH),
        (403, ResponseAction.AUTH_FAILED),
        (404, ResponseAction.FAIL),
        (408, ResponseAction.RETRY),
        (418, ResponseAction.FAIL),
        (422, ResponseAction.FAIL),
        (429, ResponseAction.RATE_LIMITED),
        (500, ResponseAction.RETRY),
        (503, ResponseAction.RETRY),
        (599, ResponseAction.RETRY),
    ],
)
def test_status_table(status: int, action: ResponseAction) -> None:
    assert action_for_status(status) is action


def test_exception_table() -> None:
    assert action_for_exception(requests.exceptions.ReadTimeout()) is ResponseAction.RETRY
    assert action_for_exception(requests.exceptions.ConnectionError()) is ResponseAction.RETRY
    assert action_for_exception(requests.exceptions.SSLError()) is ResponseAction.FAIL
    assert action_for_exception(ValueError()) is ResponseAction.FAIL


def test_redact_url_hides_secret_params_and_user_info() -> None:
    url = (
        "https://bob:pw@h.test/p?access_token=AAA&client_secret=BBB&password=CCC&token=DDD"
        "&api_key=EEE&hapikey=FFF&limit=5"
    )
    red = redact_url(url)
    for secret in ("AAA", "BBB", "CCC", "DDD", "EEE", "FFF", "bob", "pw@"):
        assert secret not in red
    assert "limit=5" in red
    assert red.startswith("https://***@h.test/p?")


def test_redact_headers() -> None:
    red = redact_headers(
        {
            "Authorization": "Bearer x",
            "Cookie": "s=1",
            "X-Api-Token": "t",
            "Accept": "application/json",
        }
    )
    assert red == {
        "Authorization": "***",
        "Cookie": "***",
        "X-Api-Token": "***",
        "Accept": "application/json",
    }


def test_scrub_replaces_known_secrets_everywhere() -> None:
    text = "token tok-123456 failed; again tok-123456 and pw hunter22"
    assert scrub(text, ["tok-123456", "hunter22", "a"]) == "token *** failed; again *** and pw ***"
    registry = SecretRegistry()
    registry.add("hunter22")
    registry.add(None)
    assert registry.scrub("x hunter22 y") == "x *** y"


def test_parse_retry_after() -> None:
    assert parse_retry_after("120", now=START) == 120
    assert parse_retry_after("Sun, 22 Nov 2026 12:00:30 GMT", now=START) == 30
    assert (
        parse_retry_after(
            "Sun, 22 Nov 2026 12:00:30 GMT", now=START, server_date="Sun, 22 Nov 2026 12:00:20 GMT"
        )
        == 10
    )
    assert parse_retry_after("Sun, 22 Nov 2026 11:00:00 GMT", now=START) == 0
    assert parse_retry_after("soon", now=START) is None
    assert parse_retry_after(None, now=START) is None


def test_standard_rate_limit_headers_epoch_or_delta() -> None:
    epoch = str(int(START.timestamp()) + 90)
    assert read_standard_headers(
        {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": epoch}, START
    ) == RateLimitInfo(remaining=0, reset_after=90)
    assert read_standard_headers({"X-RateLimit-Reset": "15"}, START) == RateLimitInfo(
        remaining=None, reset_after=15
    )
    assert read_standard_headers({}, START) is None


def test_token_bucket_paces_to_its_rate() -> None:
    clock = FrozenClock(START)
    bucket = TokenBucket(RateLimit(per_second=2, burst=2), clock)
    waits = [bucket.reserve() for _ in range(4)]
    assert waits[:2] == [0, 0]
    assert waits[2] == pytest.approx(0.5)
    assert waits[3] == pytest.approx(1.0)


def test_token_bucket_obeys_an_exhausted_server_window() -> None:
    clock = FrozenClock(START)
    bucket = TokenBucket(RateLimit(), clock)
    assert bucket.reserve() == 0
    bucket.observe(RateLimitInfo(remaining=0, reset_after=40))
    assert bucket.reserve() == pytest.approx(40)
    clock.advance(40)
    assert bucket.reserve() == 0


def test_token_bucket_is_thread_safe() -> None:
    clock = FrozenClock(START)
    bucket = TokenBucket(RateLimit(per_second=1, burst=800), clock)

    def take() -> None:
        for _ in range(100):
            bucket.reserve()

    threads = [threading.Thread(target=take) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert bucket.reserve() == pytest.approx(1.0)  # exactly 800 tokens were taken


def test_one_bucket_per_host_shared_by_clients() -> None:
    clock = FrozenClock(START)
    registry = BucketRegistry()
    a = registry.for_host("Mautic.example", RateLimit(per_second=1), clock)
    b = registry.for_host("mautic.example", RateLimit(per_second=50), clock)
    assert a is b


@responses.activate
def test_client_waits_for_the_host_bucket(
    clock: FrozenClock, make_client: Callable[..., HttpClient]
) -> None:
    responses.get(f"{BASE}/x", json={})
    http = make_client(rate_limit=RateLimit(per_second=1, burst=1))
    for _ in range(3):
        http.request("GET", "/x")
    assert clock.monotonic() == pytest.approx(2.0)


@responses.activate
def test_server_window_header_pauses_the_next_request(
    clock: FrozenClock, make_client: Callable[..., HttpClient]
) -> None:
    reset = str(int(START.timestamp()) + 25)
    responses.get(
        f"{BASE}/x", json={}, headers={"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset}
    )
    http = make_client()
    http.request("GET", "/x")
    http.request("GET", "/x")
    assert clock.monotonic() == pytest.approx(25)


class _RenewingAuth:
    def __init__(self) -> None:
        self.token = "first-token"
        self.renewals = 0

    def headers(self, http: HttpClient) -> dict[str, str]:
        return {"Authorization": f"Bearer {self.token}"}

    def renew(self, http: HttpClient) -> bool:
        self.renewals += 1
        self.token = "second-token"
        return True


@responses.activate
def test_401_renews_credentials_once_then_succeeds(
    make_client: Callable[..., HttpClient],
) -> None:
    responses.get(f"{BASE}/x", status=401)
    responses.get(f"{BASE}/x", json={"ok": 1})
    auth = _RenewingAuth()
    assert make_client(auth=auth).request("GET", "/x").json() == {"ok": 1}
    assert auth.renewals == 1
    assert responses.calls[1].request.headers["Authorization"] == "Bearer second-token"


@responses.activate
def test_401_after_renewal_is_an_auth_error(make_client: Callable[..., HttpClient]) -> None:
    responses.get(f"{BASE}/x", status=401)
    auth = _RenewingAuth()
    with pytest.raises(AuthError) as info:
        make_client(auth=auth).request("GET", "/x")
    assert auth.renewals == 1
    assert info.value.failure_type == "config"
    assert len(responses.calls) == 2


@responses.activate
def test_vendor_hooks_classify_quota_and_describe_errors(
    make_client: Callable[..., HttpClient],
) -> None:
    responses.get(f"{BASE}/x", status=429, json={"policyName": "DAILY"})
    responses.get(f"{BASE}/y", status=400, json={"category": "VALIDATION_ERROR"})

    def classify(response: requests.Response) -> ResponseAction | None:
        return ResponseAction.QUOTA if "DAILY" in response.text else None

    hooks = VendorHooks(classify=classify, error_detail=lambda r: "validation")
    http = make_client(hooks=hooks)
    with pytest.raises(QuotaExhausted):
        http.request("GET", "/x")
    with pytest.raises(TerminalError, match="400 Bad Request: validation"):
        http.request("GET", "/y")
    assert len(responses.calls) == 2


def test_jittered_backoff_stays_within_its_ceiling() -> None:
    policy = RetryPolicy(base=1, max_wait=10)
    rng = random.Random(1)
    for attempt in range(1, 10):
        wait = policy.backoff(attempt, rng)
        assert 0 <= wait <= min(10, 2 ** (attempt - 1))
