"""The Pipedrive wire: :class:`~scorebridge.http.HttpClient` plus Pipedrive's limits, envelopes
and cursor paging (crm-apis.md §2.1, §2.3, §2.8).

Owns: the company's API base (the configured ``https://{company}.pipedrive.com``, or the
``api_domain`` an OAuth token answer names), the client-side burst bucket (requests per 2-second
window of the plan), reading ``x-ratelimit-*`` (window remaining, seconds to its reset) and the
daily figures (``x-daily-ratelimit-token-remaining``: the company's token budget;
``x-daily-requests-left``: the user's POST/PUT allowance), classifying a 429 (window → retry
after ``x-ratelimit-reset``; a spent daily budget → quota exhausted until 00:00 UTC), the
``{success, data, additional_data}`` envelope and ``next_cursor`` paging, and turning every
failure into a :class:`~scorebridge.crm.errors.CrmError`.
Must not: know any endpoint's JSON beyond the envelope, or let a token reach an error message.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator, Mapping
from datetime import UTC, datetime, time, timedelta
from typing import Any

import requests

from scorebridge.clock import Clock, SystemClock
from scorebridge.crm.base import Usage
from scorebridge.crm.errors import CrmError, crm_error
from scorebridge.crm.pipedrive.auth import SYSTEM, PipedriveAuth
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
    VendorHooks,
    make_session,
)

WINDOW_SECONDS = 2.0
PAGE_LIMIT = 500
_WRITES = frozenset({"POST", "PUT", "PATCH"})
_DETAIL_LIMIT = 120


class PipedriveTransport:
    """Send Pipedrive requests; answers are the parsed envelope, failures are :class:`CrmError`.

    ``burst_per_2s`` is the plan's burst limit per token (api_token: 20 Essential … 120
    Enterprise; OAuth: four times that); the bucket keeps 10 % below it.
    """

    def __init__(
        self,
        *,
        base_url: str,
        auth: PipedriveAuth,
        clock: Clock | None = None,
        session: requests.Session | None = None,
        retry: RetryPolicy | None = None,
        burst_per_2s: int = 20,
        buckets: BucketRegistry = SHARED_BUCKETS,
    ) -> None:
        self.clock: Clock = clock or SystemClock()
        self.api_base = base_url.rstrip("/")
        self._auth = auth
        self._lock = threading.Lock()
        self._daily_tokens_left: int | None = None
        self._daily_writes_left: int | None = None
        burst = max(1, burst_per_2s)
        self.http = HttpClient(
            system=SYSTEM,
            base_url=self.api_base,
            session=session or make_session(user_agent="scorebridge"),
            auth=auth,
            clock=self.clock,
            retry=retry,
            rate_limit=RateLimit(per_second=0.9 * burst / WINDOW_SECONDS, burst=max(1, burst // 4)),
            hooks=VendorHooks(
                error_detail=_error_detail, classify=self._classify, rate_limit=self._read_limits
            ),
            buckets=buckets,
        )

    def use_domain(self, api_domain: str) -> None:
        """Send the API calls to ``api_domain`` from now on (an OAuth token answer names it)."""
        self.api_base = api_domain.rstrip("/")

    # -- requests ---------------------------------------------------------------------------

    def get(self, path: str, params: Mapping[str, str] | None = None) -> Any:
        """``GET path`` → the envelope's ``data``."""
        return data_of(self.send("GET", path, params=params))

    def send(
        self,
        method: str,
        path: str,
        *,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
    ) -> Any:
        """Send one request → the parsed envelope; raise :class:`CrmError`."""
        self._auth.headers(self.http)  # a token first: an OAuth answer names the API domain
        try:
            response = self.http.request(
                method,
                self.api_base + path,
                route=path.split("?", 1)[0],
                json=json,
                params=params,
                idempotent=idempotent,
            )
        except CrmError:
            raise
        except UpstreamError as exc:
            raise self._to_crm_error(exc) from exc
        body = json_of(response, system=SYSTEM, method=method, url=path)
        if not isinstance(body, dict) or body.get("success") is False:
            raise crm_error(
                "contract", f"{method} {path}: answer is not a success envelope", system=SYSTEM
            )
        return body

    def pages(self, path: str, params: Mapping[str, str]) -> Iterator[list[dict[str, Any]]]:
        """The ``data`` lists of a v2 list, following ``additional_data.next_cursor``."""
        query = {"limit": str(PAGE_LIMIT), **params}
        seen: set[str] = set()
        while True:
            body = self.send("GET", path, params=query)
            data = body.get("data")
            if not isinstance(data, list):
                raise crm_error("contract", f"GET {path}: data is not a list", system=SYSTEM)
            yield [item for item in data if isinstance(item, dict)]
            extra = body.get("additional_data")
            cursor = extra.get("next_cursor") if isinstance(extra, dict) else None
            if not cursor:
                return
            if cursor in seen:
                raise crm_error("contract", f"GET {path}: paging repeats a cursor", system=SYSTEM)
            seen.add(str(cursor))
            query = {**query, "cursor": str(cursor)}

    def usage(self) -> Usage:
        """The company's daily token budget left (as last reported) and its next reset."""
        with self._lock:
            left = self._daily_tokens_left
        return Usage(daily_remaining=left, reset_at=self.next_daily_reset())

    def next_daily_reset(self) -> datetime:
        """The next 00:00 UTC (the daily budget resets at the start of the next day)."""
        today = self.clock.now().astimezone(UTC).date()
        return datetime.combine(today + timedelta(days=1), time(0), UTC)

    # -- VendorHooks ------------------------------------------------------------------------

    def _classify(self, response: requests.Response) -> ResponseAction | None:
        if response.status_code != 429:
            return None
        headers = response.headers
        budget_spent = _int(headers.get("x-daily-ratelimit-token-remaining")) == 0
        write = (response.request.method or "").upper() in _WRITES
        allowance_spent = write and _int(headers.get("x-daily-requests-left")) == 0
        return ResponseAction.QUOTA if budget_spent or allowance_spent else None

    def _read_limits(self, headers: Mapping[str, str], now: datetime) -> RateLimitInfo | None:
        tokens = _int(headers.get("x-daily-ratelimit-token-remaining"))
        writes = _int(headers.get("x-daily-requests-left"))
        with self._lock:
            if tokens is not None:
                self._daily_tokens_left = tokens
            if writes is not None:
                self._daily_writes_left = writes
        remaining = _int(headers.get("x-ratelimit-remaining"))
        reset = _float(headers.get("x-ratelimit-reset"))
        if remaining is None and reset is None:
            return None
        return RateLimitInfo(remaining=remaining, reset_after=reset)

    def _to_crm_error(self, exc: UpstreamError) -> CrmError:
        return to_crm_error(
            exc,
            system=SYSTEM,
            default_retry_after=WINDOW_SECONDS,
            reset_at=self.next_daily_reset(),
        )


def data_of(body: Any) -> Any:
    """The ``data`` of a success envelope."""
    return body.get("data") if isinstance(body, dict) else None


def _error_detail(response: requests.Response) -> str:
    """Pipedrive's own short error text (``error``, e.g. ``Scope and URL mismatch``)."""
    try:
        body = response.json()
    except ValueError:
        return ""
    text = body.get("error") if isinstance(body, dict) else None
    return str(text)[:_DETAIL_LIMIT] if text else ""


def _int(raw: str | None) -> int | None:
    value = _float(raw)
    return int(value) if value is not None else None


def _float(raw: str | None) -> float | None:
    try:
        return float(raw) if raw is not None else None
    except ValueError:
        return None
