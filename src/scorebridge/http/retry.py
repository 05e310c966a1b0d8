"""Retry with full-jitter exponential backoff, ``Retry-After`` and two budgets (tenacity).

Owns: the backoff formula (AWS "full jitter"), parsing ``Retry-After`` (delay-seconds or
HTTP-date, RFC 9110 §10.2.3), the attempt and deadline budgets, and which failures may be
repeated: transient failures of requests safe to repeat, plus two cases that are safe for any
method because the server never processed the request (a 429 answer, a connect timeout).
Must not: send requests, classify statuses (that is :mod:`scorebridge.http.policy`), or read
the wall clock (all time goes through the injected :class:`~scorebridge.clock.Clock`).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import TypeVar

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception

from scorebridge.clock import Clock, utc
from scorebridge.errors import RateLimited, TransientError

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How long and how often to retry one request.

    ``max_attempts`` counts every send (1 = no retry); ``deadline`` bounds the whole call in
    seconds including waits; each wait is ``max(retry_after, U(0, base * 2**(n-1)))`` clamped to
    ``max_wait`` and to what is left of the deadline.
    """

    max_attempts: int = 5
    deadline: float = 120.0
    base: float = 0.5
    max_wait: float = 60.0

    def backoff(self, attempt: int, rng: random.Random) -> float:
        """Full-jitter backoff after the ``attempt``-th failed send (1-based)."""
        ceiling = min(self.max_wait, self.base * (2 ** (attempt - 1)))
        return rng.uniform(0.0, ceiling)

    def wait_for(self, attempt: int, exc: BaseException | None, rng: random.Random) -> float:
        """The wait before the next send: backoff, at least the server's ``Retry-After``."""
        wait = self.backoff(attempt, rng)
        retry_after = exc.retry_after if isinstance(exc, RateLimited) else None
        if retry_after is not None:
            wait = max(wait, retry_after)
        return min(wait, self.max_wait)


NO_RETRY = RetryPolicy(max_attempts=1)


def parse_retry_after(
    value: str | None, *, now: datetime, server_date: str | None = None
) -> float | None:
    """Seconds to wait from a ``Retry-After`` value: delay-seconds or an HTTP-date.

    An HTTP-date is measured against the response's ``Date`` header when present (so local
    clock skew does not matter), else against ``now``. Unparseable values give ``None``.
    """
    if not value:
        return None
    value = value.strip()
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = utc(parsedate_to_datetime(value))
    except (TypeError, ValueError, IndexError):
        return None
    reference = now
    if server_date:
        try:
            reference = utc(parsedate_to_datetime(server_date))
        except (TypeError, ValueError, IndexError):
            reference = now
    return max(0.0, (when - reference).total_seconds())


def safe_to_repeat(exc: BaseException, *, idempotent: bool) -> bool:
    """Whether a failed send may be repeated.

    Only transient failures qualify. Non-idempotent requests are repeated only when the server
    cannot have acted on them: a 429 answer or a connect timeout.
    """
    if not isinstance(exc, TransientError):
        return False
    if idempotent:
        return True
    if exc.status == 429:
        return True
    return isinstance(exc.__cause__, requests.exceptions.ConnectTimeout)


def call_with_retry(
    send: Callable[[], T],
    *,
    policy: RetryPolicy,
    clock: Clock,
    should_retry: Callable[[BaseException], bool],
    on_retry: Callable[[int, BaseException, float], None],
    on_exhausted: Callable[[BaseException, int, float], BaseException],
    rng: random.Random | None = None,
    sleep: Callable[[float], None] | None = None,
) -> T:
    """Call ``send`` until it succeeds, fails for good, or a budget runs out.

    ``on_retry(attempt, exc, wait)`` runs before each wait (for logging); when a budget runs out
    the exception returned by ``on_exhausted(last_exc, attempts, elapsed)`` is raised.
    A ``Retry-After`` longer than the remaining deadline stops at once instead of sleeping.
    ``sleep`` waits between attempts (default ``clock.sleep``; a cycle's bounds pass one that a
    stop request interrupts).
    """
    rng = rng or random.Random()  # noqa: S311 - jitter, not security
    started = clock.monotonic()

    def remaining() -> float:
        return policy.deadline - (clock.monotonic() - started)

    def last_exception(state: RetryCallState) -> BaseException | None:
        return state.outcome.exception() if state.outcome is not None else None

    def stop(state: RetryCallState) -> bool:
        if state.attempt_number >= policy.max_attempts or remaining() <= 0:
            return True
        exc = last_exception(state)
        retry_after = exc.retry_after if isinstance(exc, RateLimited) else None
        return retry_after is not None and retry_after > remaining()

    def wait(state: RetryCallState) -> float:
        wanted = policy.wait_for(state.attempt_number, last_exception(state), rng)
        return max(0.0, min(wanted, remaining()))

    def before_sleep(state: RetryCallState) -> None:
        exc = last_exception(state)
        if exc is not None:
            on_retry(state.attempt_number, exc, state.upcoming_sleep)

    def exhausted(state: RetryCallState) -> T:
        exc = last_exception(state)
        assert exc is not None  # tenacity only gives up after a failed attempt
        raise on_exhausted(exc, state.attempt_number, clock.monotonic() - started) from exc

    retrying = Retrying(
        stop=stop,
        wait=wait,
        retry=retry_if_exception(should_retry),
        sleep=sleep or clock.sleep,
        before_sleep=before_sleep,
        retry_error_callback=exhausted,
        reraise=True,
    )
    return retrying(send)
