"""A vendor-neutral HTTP client: session + policy + retry + rate limit + auth + counting.

Owns: sending one logical request (possibly several sends), renewing credentials once on a 401,
waiting for the host's token bucket, counting sends per (method, route template), and raising
:mod:`scorebridge.errors` exceptions that carry a redacted URL and never a body.
Must not: know any vendor's paths, paging or JSON; vendors plug in through :class:`VendorHooks`
(error detail, rate-limit headers) and an :class:`Authenticator`.
"""

from __future__ import annotations

import logging
import random
import threading
from collections import Counter
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol
from urllib.parse import urlsplit

import requests

from scorebridge.clock import Clock, SystemClock
from scorebridge.errors import RateLimited, UpstreamError
from scorebridge.http import observers
from scorebridge.http.bounds import current_bounds
from scorebridge.http.policy import (
    RequestInfo,
    ResponseAction,
    action_for_status,
    error_for_exception,
    error_for_status,
)
from scorebridge.http.ratelimit import (
    SHARED_BUCKETS,
    BucketRegistry,
    RateLimit,
    RateLimitReader,
    read_standard_headers,
)
from scorebridge.http.requestlog import SendTrace
from scorebridge.http.retry import RetryPolicy, call_with_retry, parse_retry_after, safe_to_repeat
from scorebridge.redaction import SecretRegistry, log_url, redact_url

log = logging.getLogger(__name__)

IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})
REQUEST_ID_HEADERS = ("X-Request-Id", "X-Correlation-Id", "Request-Id")


class Authenticator(Protocol):
    """Credentials for one remote system."""

    def headers(self, http: HttpClient) -> dict[str, str]:
        """Headers to add to a request (may fetch a token through ``http``)."""
        ...

    def renew(self, http: HttpClient) -> bool:
        """Drop cached credentials after a 401; ``True`` if a resend may now succeed."""
        ...


def _no_detail(response: requests.Response) -> str:
    return ""


def _no_override(response: requests.Response) -> ResponseAction | None:
    return None


@dataclass(frozen=True)
class VendorHooks:
    """Small vendor plug-ins; every hook must be cheap and must never return body text.

    ``error_detail``: a short, safe description of an error answer (e.g. an error type).
    ``classify``: an action overriding the status table (e.g. a daily-quota 429 → QUOTA).
    ``rate_limit``: reads the vendor's rate-limit headers.
    """

    error_detail: Callable[[requests.Response], str] = _no_detail
    classify: Callable[[requests.Response], ResponseAction | None] = _no_override
    rate_limit: RateLimitReader = read_standard_headers


@dataclass
class RequestCounter:
    """Sends per ``"METHOD /route/{template}"``, thread-safe."""

    _counts: Counter[str] = field(default_factory=Counter)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, method: str, route: str) -> None:
        """Count one send."""
        with self._lock:
            self._counts[f"{method} {route}"] += 1

    def snapshot(self) -> dict[str, int]:
        """A copy of the counts."""
        with self._lock:
            return dict(self._counts)

    def total(self) -> int:
        """All sends so far."""
        with self._lock:
            return sum(self._counts.values())


@dataclass(frozen=True)
class _Call:
    """Everything needed to send one logical request again."""

    method: str
    url: str
    route: str
    params: Any
    json: Any
    data: Mapping[str, str] | None
    headers: Mapping[str, str] | None
    authenticate: bool


class HttpClient:
    """Send requests to one base URL with the house rules (see module docstring)."""

    def __init__(
        self,
        *,
        system: str,
        base_url: str,
        session: requests.Session,
        auth: Authenticator | None = None,
        clock: Clock | None = None,
        retry: RetryPolicy | None = None,
        rate_limit: RateLimit | None = None,
        hooks: VendorHooks | None = None,
        buckets: BucketRegistry = SHARED_BUCKETS,
        secrets: SecretRegistry | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self.system = system
        self.base_url = base_url.rstrip("/")
        self.session = session
        self.auth = auth
        self.clock: Clock = clock or SystemClock()
        self.retry = retry or RetryPolicy()
        self.hooks = hooks or VendorHooks()
        self.secrets = secrets or SecretRegistry()
        self.counter = RequestCounter()
        self._rng = rng
        host = urlsplit(self.base_url).netloc
        self.bucket = buckets.for_host(host, rate_limit or RateLimit(), self.clock)

    def url_for(self, path: str) -> str:
        """Absolute URL of ``path`` (absolute URLs are kept)."""
        if path.startswith(("http://", "https://")):
            return path
        return f"{self.base_url}/{path.lstrip('/')}"

    def request(
        self,
        method: str,
        path: str,
        *,
        route: str | None = None,
        params: Any = None,
        json: Any = None,
        data: Mapping[str, str] | None = None,
        idempotent: bool | None = None,
        authenticate: bool = True,
        headers: Mapping[str, str] | None = None,
    ) -> requests.Response:
        """Send ``method path`` and return the successful response, or raise.

        ``route`` is the path template used for counting (defaults to ``path``); ``idempotent``
        marks a write safe to repeat (GET/HEAD/PUT/DELETE are by default). Failures raise
        :class:`~scorebridge.errors.UpstreamError` subclasses naming the system, the method and
        the redacted URL.
        """
        method = method.upper()
        repeatable = method in IDEMPOTENT_METHODS if idempotent is None else idempotent
        url = self.url_for(path)
        prepared_url = requests.Request(method, url, params=params).prepare().url or url
        redacted = redact_url(prepared_url)

        def info() -> RequestInfo:
            # scrubbed at use: a token fetched during this call is a known secret by then
            return RequestInfo(self.system, method, self.secrets.scrub(redacted))

        call = _Call(
            method, url, route or urlsplit(url).path, params, json, data, headers, authenticate
        )
        renewed = False
        trace = SendTrace(self.system, method, call.route, self.clock)

        def traced_send() -> requests.Response:
            trace.begin()
            try:
                response = self._send(call, info)
            except UpstreamError as exc:
                trace.answered(None, short_reason(exc))
                raise
            trace.answered(response.status_code)
            return response

        def send_once() -> requests.Response:
            nonlocal renewed
            response = traced_send()
            action = self._classify(response)
            if action is ResponseAction.REFRESH_AUTH and authenticate and self.auth and not renewed:
                renewed = True
                if self.auth.renew(self):
                    trace.decide("renew the credentials and resend")
                    response = traced_send()
                    action = self._classify(response)
            if action is ResponseAction.SUCCESS:
                trace.decide("ok")
                return response
            raise self._error(info(), action, response)

        def on_retry(attempt: int, exc: BaseException, wait: float) -> None:
            observers.notify_retry(self.system)
            trace.decide(f"retry in {wait:.1f}s")
            limit = "" if isinstance(exc, RateLimited) else f"/{self.retry.max_attempts}"
            log.warning(
                "%s %s %s: attempt %d%s failed (%s); retrying in %.1fs",
                self.system,
                method,
                log_url(info().url),
                attempt,
                limit,
                _reason(exc),
                wait,
            )

        def on_exhausted(
            exc: BaseException, attempts: int, elapsed: float, why: str
        ) -> BaseException:
            trace.decide(f"give up ({why})")
            return _exhausted(info(), exc, attempts, elapsed, why)

        try:
            return call_with_retry(
                send_once,
                policy=self.retry,
                clock=self.clock,
                budget=current_bounds(),
                should_retry=lambda exc: safe_to_repeat(exc, idempotent=repeatable),
                on_retry=on_retry,
                on_exhausted=on_exhausted,
                rng=self._rng,
            )
        finally:
            trace.decide("fail, not retried")  # only a send no decision was logged for

    def _send(self, call: _Call, info: Callable[[], RequestInfo]) -> requests.Response:
        bounds = current_bounds()
        if bounds is not None:
            bounds.check_stop()
        wait = self.bucket.reserve()
        if wait > 0:
            if wait > self.retry.deadline:
                raise RateLimited(
                    f"client-side rate limit: next slot in {wait:.0f}s",
                    retry_after=wait,
                    system=self.system,
                    method=call.method,
                    url=info().url,
                )
            (bounds.pause if bounds is not None else self.clock.sleep)(wait)
        headers = dict(call.headers or {})
        if call.authenticate and self.auth is not None:
            headers.update(self.auth.headers(self))
        self.counter.add(call.method, call.route)
        try:
            response = self.session.request(
                call.method,
                call.url,
                params=call.params,
                json=call.json,
                data=call.data,
                headers=headers,
                allow_redirects=call.method in ("GET", "HEAD"),
            )
        except requests.exceptions.RequestException as exc:
            observers.notify_sent(self.system, call.method, call.route, None)
            raise error_for_exception(info(), exc) from exc
        observers.notify_sent(self.system, call.method, call.route, response.status_code)
        limits = self.hooks.rate_limit(response.headers, self.clock.now())
        if limits is not None:
            self.bucket.observe(limits)
        return response

    def _classify(self, response: requests.Response) -> ResponseAction:
        override = self.hooks.classify(response)
        return override if override is not None else action_for_status(response.status_code)

    def _error(
        self, info: RequestInfo, action: ResponseAction, response: requests.Response
    ) -> UpstreamError:
        retry_after = parse_retry_after(
            response.headers.get("Retry-After"),
            now=self.clock.now(),
            server_date=response.headers.get("Date"),
        )
        if retry_after is None and action is ResponseAction.RATE_LIMITED:
            limits = self.hooks.rate_limit(response.headers, self.clock.now())
            retry_after = limits.reset_after if limits is not None else None
        request_id = next(
            (response.headers[h] for h in REQUEST_ID_HEADERS if h in response.headers), None
        )
        detail = self.secrets.scrub(self.hooks.error_detail(response))
        return error_for_status(
            info,
            action,
            response.status_code,
            detail=detail,
            request_id=request_id,
            retry_after=retry_after,
        )


def _reason(exc: BaseException) -> str:
    return short_reason(exc) if isinstance(exc, UpstreamError) else type(exc).__name__


def _exhausted(
    info: RequestInfo, exc: BaseException, attempts: int, elapsed: float, why: str
) -> BaseException:
    if not isinstance(exc, UpstreamError):
        return exc
    message = (
        f"gave up after {attempts} attempt(s) in {elapsed:.1f}s ({why}); last: {short_reason(exc)}"
    )
    kwargs: dict[str, Any] = {
        "system": info.system,
        "method": info.method,
        "url": info.url,
        "status": exc.status,
        "request_id": exc.request_id,
    }
    if isinstance(exc, RateLimited):
        return RateLimited(message, retry_after=exc.retry_after, **kwargs)
    return type(exc)(message, **kwargs)


def short_reason(exc: UpstreamError) -> str:
    """The reason part of an error's message, without the system/URL/status decoration."""
    text = str(exc)
    prefix = f"{exc.system}: "
    text = text.removeprefix(prefix)
    return text.split(f" ({exc.method}", 1)[0]
