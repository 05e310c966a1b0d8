"""Client-side rate limiting: one token bucket per remote host, shared by every client of it.

Owns: the bucket arithmetic (steady rate + burst), pausing when the server says the window is
spent (``X-RateLimit-Remaining: 0`` until the reset), reading the common ``X-RateLimit-*``
headers, and the per-host registry.
Must not: sleep (it returns how long the caller must wait, so the caller can give up instead of
blocking for an hour-long window) or know any vendor beyond the common header names.
"""

from __future__ import annotations

import math
import threading
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime

from scorebridge.clock import Clock

# X-RateLimit-Reset values above this are Unix timestamps (Mautic), below it delta-seconds.
_EPOCH_THRESHOLD = 1_000_000_000


@dataclass(frozen=True)
class RateLimitInfo:
    """What a response said about the remaining budget (either part may be unknown)."""

    remaining: int | None = None
    reset_after: float | None = None


RateLimitReader = Callable[[Mapping[str, str], datetime], RateLimitInfo | None]
"""Reads a vendor's rate-limit headers; ``None`` when the response carries none."""


def read_standard_headers(headers: Mapping[str, str], now: datetime) -> RateLimitInfo | None:
    """``X-RateLimit-Remaining`` and ``X-RateLimit-Reset`` (Unix timestamp or delta-seconds)."""
    remaining_raw = headers.get("X-RateLimit-Remaining")
    reset_raw = headers.get("X-RateLimit-Reset")
    if remaining_raw is None and reset_raw is None:
        return None
    remaining: int | None = None
    reset_after: float | None = None
    try:
        remaining = int(float(remaining_raw)) if remaining_raw is not None else None
    except ValueError:
        remaining = None
    try:
        reset = float(reset_raw) if reset_raw is not None else None
    except ValueError:
        reset = None
    if reset is not None:
        reset_after = max(0.0, reset - now.timestamp()) if reset > _EPOCH_THRESHOLD else reset
    return RateLimitInfo(remaining=remaining, reset_after=reset_after)


@dataclass(frozen=True)
class RateLimit:
    """A client-side limit: ``per_second`` steady rate (``None`` = unlimited), ``burst`` size."""

    per_second: float | None = None
    burst: int = 10


class TokenBucket:
    """A thread-safe token bucket that also obeys the server's remaining/reset headers."""

    def __init__(self, limit: RateLimit, clock: Clock) -> None:
        self._limit = limit
        self._clock = clock
        self._lock = threading.Lock()
        self._capacity = float(limit.burst) if limit.per_second else math.inf
        self._tokens = self._capacity
        self._last = clock.monotonic()
        self._server_remaining: int | None = None
        self._server_reset_at = 0.0

    def reserve(self) -> float:
        """Take one token; return the seconds the caller must wait before sending (0 = now)."""
        with self._lock:
            now = self._clock.monotonic()
            if self._limit.per_second:
                self._tokens = min(
                    self._capacity, self._tokens + (now - self._last) * self._limit.per_second
                )
            self._last = now
            wait = 0.0
            if self._server_remaining is not None:
                if self._server_remaining <= 0 and now < self._server_reset_at:
                    wait = self._server_reset_at - now
                elif self._server_remaining <= 0:
                    self._server_remaining = None
                else:
                    self._server_remaining -= 1
            self._tokens -= 1
            if self._tokens < 0 and self._limit.per_second:
                wait = max(wait, -self._tokens / self._limit.per_second)
            return wait

    def observe(self, info: RateLimitInfo) -> None:
        """Feed what the server said about its window."""
        with self._lock:
            now = self._clock.monotonic()
            if info.remaining is not None:
                self._server_remaining = info.remaining
            if info.reset_after is not None:
                self._server_reset_at = now + info.reset_after


class BucketRegistry:
    """Buckets by host name; the first client of a host decides its limit."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._buckets: dict[str, TokenBucket] = {}

    def for_host(self, host: str, limit: RateLimit, clock: Clock) -> TokenBucket:
        """The bucket of ``host`` (created on first use)."""
        key = host.lower()
        with self._lock:
            bucket = self._buckets.get(key)
            if bucket is None:
                bucket = self._buckets[key] = TokenBucket(limit, clock)
            return bucket


SHARED_BUCKETS = BucketRegistry()
"""The process-wide registry, so every client of one host draws from one bucket."""
