"""The only place that reads the time. Everything else receives a :class:`Clock`.

Tests and the sandbox inject :class:`FrozenClock`; production uses :class:`SystemClock`.
All datetimes are timezone-aware UTC.
"""

from __future__ import annotations

import logging
import os
import time
from datetime import UTC, datetime, timedelta
from typing import Protocol


class Clock(Protocol):
    """What scorebridge needs from time."""

    def now(self) -> datetime:
        """The current time, aware UTC."""
        ...

    def monotonic(self) -> float:
        """Seconds from an arbitrary origin that never goes backwards."""
        ...

    def sleep(self, seconds: float) -> None:
        """Wait (a frozen clock advances instead)."""
        ...


class SystemClock:
    """The real clock."""

    def now(self) -> datetime:
        """The current time, aware UTC."""
        return datetime.now(UTC)

    def monotonic(self) -> float:
        """``time.monotonic()``."""
        return time.monotonic()

    def sleep(self, seconds: float) -> None:
        """``time.sleep()``."""
        if seconds > 0:
            time.sleep(seconds)


class FrozenClock:
    """A clock that moves only when told to (or when something sleeps on it)."""

    def __init__(self, start: datetime) -> None:
        if start.tzinfo is None:
            raise ValueError("FrozenClock needs an aware datetime")
        self._now = start.astimezone(UTC)
        self._mono = 0.0

    def now(self) -> datetime:
        """The frozen time."""
        return self._now

    def monotonic(self) -> float:
        """Seconds advanced so far."""
        return self._mono

    def sleep(self, seconds: float) -> None:
        """Advance instead of waiting."""
        self.advance(seconds)

    def advance(self, seconds: float) -> None:
        """Move time forward."""
        self._now += timedelta(seconds=seconds)
        self._mono += seconds


def utc(dt: datetime) -> datetime:
    """Return ``dt`` as aware UTC; naive datetimes are taken to be UTC already."""
    return dt.replace(tzinfo=UTC) if dt.tzinfo is None else dt.astimezone(UTC)


#: Pins the instant scores are computed at (decay, expiry, inactivity, day caps) for a process;
#: a test hook like ``SCOREBRIDGE_CRASH_AT``: runs minutes apart against the same recorded world
#: then give the same scores. Everything else (cursors, leases, schedules) keeps the real clock.
SCORING_AS_OF_ENV = "SCOREBRIDGE_SCORING_AS_OF"


def scoring_time(clock: Clock) -> datetime:
    """The instant to score at: ``clock.now()``, unless :data:`SCORING_AS_OF_ENV` pins it."""
    pinned = os.environ.get(SCORING_AS_OF_ENV)
    if not pinned:
        return clock.now()
    try:
        at = utc(datetime.fromisoformat(pinned))
    except ValueError as exc:
        raise ValueError(
            f"{SCORING_AS_OF_ENV}={pinned!r} is not an ISO 8601 instant; unset it to score at now"
        ) from exc
    logging.getLogger(__name__).warning("scoring as of %s (%s is set)", at, SCORING_AS_OF_ENV)
    return at
