"""The HubSpot wire: :class:`~scorebridge.http.HttpClient` plus HubSpot's limits and error bodies.

Owns: the bearer token, the two client-side buckets (the app's 10-second burst, shared per host
by the HTTP layer, and the separate 5 requests/s search bucket), reading the
``X-HubSpot-RateLimit-*`` headers (10-second window and daily remaining), classifying a 429 by its
``policyName`` (``DAILY`` → quota exhausted until the account's midnight), and turning every
failure into a :class:`~scorebridge.crm.errors.CrmError` carrying HubSpot's ``correlationId``.
Must not: know any endpoint's JSON beyond the error body, or let a body or the token reach an
error message.
"""

from __future__ import annotations

import re
import threading
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime, time, timedelta, tzinfo
from typing import Any

import requests

from scorebridge.clock import Clock, SystemClock
from scorebridge.crm.base import Usage
from scorebridge.crm.errors import CrmError
from scorebridge.crm.hubspot.mapping import SYSTEM
from scorebridge.crm.upstream import json_of, to_crm_error
from scorebridge.errors import UpstreamError
from scorebridge.http import (
    SHARED_BUCKETS,
    BucketRegistry,
    HttpClient,
    RateLimit,
    RateLimitInfo,
    ResponseAction,
    RetryPolicy,
    SecretRegistry,
    TokenBucket,
    VendorHooks,
    make_session,
)

DAILY_POLICY = "DAILY"
#: Waits HubSpot's own SDK uses when the answer names no delay (RetryDecorator.ts).
TEN_SECONDLY_WAIT = 10.0
SEARCH_SECONDLY_WAIT = 1.0
_EXISTING_ID = re.compile(r"Existing ID:\s*(\d+)")


@dataclass(frozen=True)
class Failure:
    """The safe parts of a HubSpot error body (no message text except the existing id)."""

    status: int
    category: str | None = None
    policy: str | None = None
    correlation_id: str | None = None
    existing_id: str | None = None
    secondly: bool = False

    @classmethod
    def from_response(cls, response: requests.Response) -> Failure:
        """Parse an error answer; a body that is not HubSpot JSON gives only the status."""
        try:
            body = response.json()
        except ValueError:
            body = None
        if not isinstance(body, dict):
            return cls(status=response.status_code)
        message = str(body.get("message") or "")
        existing = _EXISTING_ID.search(message)
        return cls(
            status=response.status_code,
            category=_text(body.get("category") or body.get("errorType")),
            policy=_text(body.get("policyName")),
            correlation_id=_text(body.get("correlationId"))
            or response.headers.get("X-HubSpot-Correlation-Id"),
            existing_id=existing.group(1) if existing else None,
            secondly="secondly limit" in message.lower(),
        )

    def detail(self) -> str:
        """A short, body-free description for error messages."""
        parts = [p for p in (self.category, self.policy) if p]
        if self.existing_id:
            parts.append(f"existing id {self.existing_id}")
        return ", ".join(parts)


def _text(value: object) -> str | None:
    return str(value) if value not in (None, "") else None


class BearerToken:
    """Private-app authentication: a static ``Authorization: Bearer`` token that never renews."""

    def __init__(self, token: str) -> None:
        self._token = token

    def headers(self, http: HttpClient) -> dict[str, str]:
        """The bearer header."""
        return {"Authorization": f"Bearer {self._token}"}

    def renew(self, http: HttpClient) -> bool:
        """A static token cannot be renewed: a 401 is final."""
        return False


class HubSpotTransport:
    """Send HubSpot requests; answers are parsed JSON, failures are :class:`CrmError`."""

    def __init__(
        self,
        *,
        token: str,
        base_url: str,
        clock: Clock | None = None,
        session: requests.Session | None = None,
        retry: RetryPolicy | None = None,
        burst_per_10s: int = 100,
        search_per_second: int = 5,
        buckets: BucketRegistry = SHARED_BUCKETS,
        daily_reset_tz: tzinfo = UTC,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self._daily_reset_tz = daily_reset_tz
        self._daily_remaining: int | None = None
        self._failure = threading.local()
        per_10s = max(1, burst_per_10s)
        self.http = HttpClient(
            system=SYSTEM,
            base_url=base_url,
            session=session or make_session(user_agent="scorebridge"),
            auth=BearerToken(token),
            clock=self.clock,
            retry=retry,
            # burst b + rate 0.9*N/10 per second never exceeds N in any 10-second window
            rate_limit=RateLimit(per_second=0.09 * per_10s, burst=max(1, per_10s // 10)),
            hooks=VendorHooks(
                error_detail=self._error_detail,
                classify=self._classify,
                rate_limit=self._read_limits,
            ),
            buckets=buckets,
            secrets=SecretRegistry([token]),
        )
        search_rate = max(1, search_per_second)
        self.search_bucket = TokenBucket(
            RateLimit(per_second=float(max(1, search_rate - 1)), burst=1), self.clock
        )

    # -- requests ---------------------------------------------------------------------------

    def get(self, path: str, *, params: Mapping[str, str] | None = None) -> Any:
        """``GET path`` → parsed JSON."""
        return self.send("GET", path, params=params)[1]

    def send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        search: bool = False,
        route: str | None = None,
    ) -> tuple[int, Any]:
        """Send one request → ``(status, parsed JSON or None)``; raise :class:`CrmError`.

        ``search=True`` also waits for the search bucket (5 requests/s per account).
        """
        if search:
            self.clock.sleep(self.search_bucket.reserve())
        self._failure.value = None
        try:
            response = self.http.request(
                method, path, json=json, params=params, idempotent=idempotent, route=route
            )
        except UpstreamError as exc:
            raise self._to_crm_error(exc, search=search) from exc
        if response.status_code == 204 or not response.content:
            return response.status_code, None
        return response.status_code, json_of(response, system=SYSTEM, method=method, url=path)

    def usage(self) -> Usage:
        """The last seen daily remaining count and the next daily reset."""
        return Usage(daily_remaining=self._daily_remaining, reset_at=self.next_daily_reset())

    def next_daily_reset(self) -> datetime:
        """The next midnight in the account's time zone (HubSpot resets daily limits then)."""
        local = self.clock.now().astimezone(self._daily_reset_tz)
        midnight = datetime.combine(local.date() + timedelta(days=1), time(0), local.tzinfo)
        return midnight.astimezone(UTC)

    # -- VendorHooks ------------------------------------------------------------------------

    def _classify(self, response: requests.Response) -> ResponseAction | None:
        if response.status_code < 400:
            return None
        failure = Failure.from_response(response)
        self._failure.value = failure
        if response.status_code == 429 and failure.policy == DAILY_POLICY:
            return ResponseAction.QUOTA
        return None

    def _error_detail(self, response: requests.Response) -> str:
        failure: Failure | None = getattr(self._failure, "value", None)
        return failure.detail() if failure is not None else ""

    def _read_limits(self, headers: Mapping[str, str], now: datetime) -> RateLimitInfo | None:
        daily = _int(headers.get("X-HubSpot-RateLimit-Daily-Remaining"))
        if daily is not None:
            self._daily_remaining = daily
        remaining = _int(headers.get("X-HubSpot-RateLimit-Remaining"))
        interval_ms = _int(headers.get("X-HubSpot-RateLimit-Interval-Milliseconds"))
        if remaining is None:
            return None
        reset_after = interval_ms / 1000 if interval_ms is not None else TEN_SECONDLY_WAIT
        return RateLimitInfo(remaining=remaining, reset_after=reset_after)

    # -- errors -----------------------------------------------------------------------------

    def _to_crm_error(self, exc: UpstreamError, *, search: bool) -> CrmError:
        failure: Failure | None = getattr(self._failure, "value", None)
        if failure is not None and failure.status != exc.status:
            failure = None
        is_search = search or (failure is not None and failure.secondly)
        return to_crm_error(
            exc,
            system=SYSTEM,
            request_id=failure.correlation_id if failure else None,
            existing_id=failure.existing_id if failure else None,
            default_retry_after=SEARCH_SECONDLY_WAIT if is_search else TEN_SECONDLY_WAIT,
            reset_at=self.next_daily_reset(),
        )


def _int(raw: str | None) -> int | None:
    try:
        return int(float(raw)) if raw is not None else None
    except ValueError:
        return None
