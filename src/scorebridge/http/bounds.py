"""The bounds one cycle puts on every request it sends: a stop request, and a retry budget.

A cycle (or a CLI command doing a cycle's work) runs inside ``with request_bounds(...)``; every
:class:`~scorebridge.http.client.HttpClient` sending on that thread meanwhile

* asks ``should_stop()`` before each send and raises
  :class:`~scorebridge.errors.ShutdownRequested` instead of sending, so a stop waits for at most
  the request in flight, never for the rest of a batch (callers ack what was sent and put the
  rest back);
* waits (``Retry-After``, backoff, the rate limiter) in slices of at most :data:`SLICE` seconds,
  asking ``should_stop()`` between them;
* shares one retry budget: the seconds the whole cycle may spend waiting to retry failed
  requests (429s, 5xx, timeouts), instead of each request's own deadline. A burst of 429s is
  waited out as long as the budget lasts, then the request gives up and its work waits for the
  next cycle.

The bounds travel in a :class:`~contextvars.ContextVar`: no client, adapter or writer needs a
new argument, and requests outside any bounds (tests, ``doctor``) keep their per-request policy.
Owns: the bounds and the interruptible wait. Must not: send requests or decide what is retried.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field

from scorebridge.clock import Clock
from scorebridge.errors import ShutdownRequested

SLICE = 0.5
"""The longest a wait goes without asking whether to stop (seconds)."""
DEFAULT_RETRY_BUDGET = 300.0
"""Seconds of retry waiting a cycle allows unless ``[http] retry_budget`` says otherwise."""


def _never() -> bool:
    return False


@dataclass
class RequestBounds:
    """A stop check and a retry budget shared by the requests of one cycle."""

    clock: Clock
    retry_budget: float
    should_stop: Callable[[], bool] = _never
    name: str = "the cycle's retry budget ([http] retry_budget)"
    waited: float = field(default=0.0, init=False)

    def check_stop(self) -> None:
        """Raise :class:`ShutdownRequested` when a stop was requested (before a send)."""
        if self.should_stop():
            raise ShutdownRequested("stop requested; the request was not sent")

    def remaining(self) -> float:
        """Seconds of retry waiting left to the cycle."""
        return self.retry_budget - self.waited

    def sleep(self, seconds: float) -> None:
        """Wait before a retry, spending the budget; a stop request ends the wait."""
        self.pause(seconds, spend=True)

    def pause(self, seconds: float, *, spend: bool = False) -> None:
        """Wait ``seconds`` in slices, raising :class:`ShutdownRequested` as soon as a stop is
        requested; ``spend`` counts the wait against the retry budget."""
        left = seconds
        while left > 0:
            self.check_stop()
            step = min(SLICE, left)
            self.clock.sleep(step)
            left -= step
            if spend:
                self.waited += step


_current: ContextVar[RequestBounds | None] = ContextVar("scorebridge_request_bounds", default=None)


def current_bounds() -> RequestBounds | None:
    """The bounds in force on this thread, if any."""
    return _current.get()


@contextmanager
def request_bounds(
    *,
    clock: Clock,
    retry_budget: float = DEFAULT_RETRY_BUDGET,
    should_stop: Callable[[], bool] | None = None,
) -> Iterator[RequestBounds]:
    """Put every request sent inside the block (on this thread) under one set of bounds."""
    bounds = RequestBounds(clock, retry_budget, should_stop or _never)
    token = _current.set(bounds)
    try:
        yield bounds
    finally:
        _current.reset(token)
