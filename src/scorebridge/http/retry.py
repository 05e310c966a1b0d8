"""Retry with full-jitter exponential backoff, ``Retry-After`` and two budgets (tenacity).

Owns: the backoff formula (AWS "full jitter"), parsing ``Retry-After`` (delay-seconds or
HTTP-date, RFC 9110 §10.2.3), the attempt and time budgets, and which failures may be
repeated: transient failures of requests safe to repeat, plus two cases that are safe for any
method because the server never processed the request (a 429 answer, a connect timeout).

The two budgets: failed sends other than rate limiting count against ``max_attempts``; a 429
(or a 503 with ``Retry-After``) never does -- it is waited out for as long as its server asks
(capped at ``max_wait`` per wait) while the time budget lasts. The time budget is the request's
own ``deadline``, or inside a cycle the cycle's shared retry budget
(:class:`~scorebridge.http.bounds.RequestBounds`), so a burst of 429s costs the cycle at most
that budget in total instead of failing after five attempts.
Must not: send requests, classify statuses (that is :mod:`scorebridge.http.policy`), or read
the wall clock (all time goes through the injected :class:`~scorebridge.clock.Clock`).
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from email.utils import parsedate_to_datetime
from typing import Protocol, TypeVar

import requests
from tenacity import RetryCallState, Retrying, retry_if_exception

from scorebridge.clock import Clock, utc
from scorebridge.errors import RateLimited, TransientError

T = TypeVar("T")


@dataclass(frozen=True)
class RetryPolicy:
    """How long and how often to retry one request.

    ``max_attempts`` counts the failed sends other than rate limiting (1 = no retry);
    ``deadline`` bounds the waits of a call made outside any cycle (inside one, the cycle's
    retry budget does). Each wait is the server's ``Retry-After`` plus ``U(0, base)`` of jitter
    when it sent one, else ``U(0, base * 2**(n-1))``; clamped to ``max_wait`` and to what is
    left of the time budget.
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
        """The wait before the next send: the server's ``Retry-After`` (a little jitter keeps
        clients that were refused together from returning together), else the backoff."""
        retry_after = exc.retry_after if isinstance(exc, RateLimited) else None
        if retry_after is not None:
            wait = retry_after + rng.uniform(0.0, self.base)
        else:
            wait = self.backoff(attempt, rng)
        return min(wait, self.max_wait)


NO_RETRY = RetryPolicy(max_attempts=1)


class RetryBudget(Protocol):
    """Time that retry waits may spend; ``name`` says whose it is in a give-up message."""

    name: str

    def remaining(self) -> float:
        """Seconds left."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait ``seconds`` before the next attempt, spending them."""
        ...


@dataclass
class CallDeadline:
    """The budget of one request outside any cycle: ``seconds`` from its first send."""

    clock: Clock
    seconds: float
    name: str = "the request's retry deadline"
    started: float = field(init=False)

    def __post_init__(self) -> None:
        self.started = self.clock.monotonic()

    def remaining(self) -> float:
        """Seconds left of the deadline."""
        return self.seconds - (self.clock.monotonic() - self.started)

    def sleep(self, seconds: float) -> None:
        """``clock.sleep``."""
        self.clock.sleep(seconds)


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
    on_exhausted: Callable[[BaseException, int, float, str], BaseException],
    rng: random.Random | None = None,
    budget: RetryBudget | None = None,
) -> T:
    """Call ``send`` until it succeeds, fails for good, or a budget runs out.

    ``on_retry(attempt, exc, wait)`` runs before each wait (for logging); when a budget runs out
    the exception returned by ``on_exhausted(last_exc, attempts, elapsed, why)`` is raised.
    A ``Retry-After`` longer than what is left of the time budget stops at once instead of
    sleeping. ``budget`` is the time budget (default: ``policy.deadline`` for this call).
    """
    rng = rng or random.Random()  # noqa: S311 - jitter, not security
    started = clock.monotonic()
    time_budget = budget or CallDeadline(clock, policy.deadline)
    failures = 0  # failed sends that count against max_attempts (rate limiting does not)
    why = ""

    def counted() -> T:
        nonlocal failures
        try:
            return send()
        except RateLimited:
            raise
        except BaseException:
            failures += 1
            raise

    def last_exception(state: RetryCallState) -> BaseException | None:
        return state.outcome.exception() if state.outcome is not None else None

    def stop(state: RetryCallState) -> bool:
        nonlocal why
        left = time_budget.remaining()
        exc = last_exception(state)
        retry_after = exc.retry_after if isinstance(exc, RateLimited) else None
        if failures >= policy.max_attempts:
            why = "the attempt budget is spent"
        elif left <= 0:
            why = f"{time_budget.name} is spent"
        elif retry_after is not None and retry_after > left:
            why = f"Retry-After {retry_after:.0f}s is more than the {left:.0f}s left of "
            why += time_budget.name
        return bool(why)

    def wait(state: RetryCallState) -> float:
        wanted = policy.wait_for(state.attempt_number, last_exception(state), rng)
        return max(0.0, min(wanted, time_budget.remaining()))

    def before_sleep(state: RetryCallState) -> None:
        exc = last_exception(state)
        if exc is not None:
            on_retry(state.attempt_number, exc, state.upcoming_sleep)

    def exhausted(state: RetryCallState) -> T:
        exc = last_exception(state)
        assert exc is not None  # tenacity only gives up after a failed attempt
        elapsed = clock.monotonic() - started
        raise on_exhausted(exc, state.attempt_number, elapsed, why) from exc

    retrying = Retrying(
        stop=stop,
        wait=wait,
        retry=retry_if_exception(should_retry),
        sleep=time_budget.sleep,
        before_sleep=before_sleep,
        retry_error_callback=exhausted,
        reraise=True,
    )
    return retrying(counted)
