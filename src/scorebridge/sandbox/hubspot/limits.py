"""HubSpot's request limits for a private app (crm-apis.md §1.8): the 10-second rolling bucket,
the daily allowance and the search API's per-second limit, with their response headers.

Owns counting and the decision "allowed or which 429"; it never builds HTTP responses beyond
header values and reads time only from the ``now`` it is given. Search requests are exempt from
the 10-second bucket (``x-hubspot-rate-limit-exemptions: ["ten-secondly"]``) but count towards the
daily allowance. Rejected requests consume nothing. The daily allowance resets at midnight UTC
(the emulated account's time zone).
"""

from __future__ import annotations

from collections import deque
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime, timedelta
from typing import Any

#: Private-app limits by tier (burst per 10 s, daily), from the "increasing-our-api-limits" table.
TIERS: dict[str, tuple[int, int]] = {
    "starter": (100, 250_000),
    "professional": (190, 650_000),
    "enterprise": (190, 1_000_000),
}

WINDOW = timedelta(seconds=10)
SECOND = timedelta(seconds=1)


@dataclass
class LimitSettings:
    """The limits in force; ``POST /_sandbox/limits`` merges JSON into these."""

    ten_secondly: int = TIERS["starter"][0]
    daily: int = TIERS["starter"][1]
    search_per_second: int = 5
    search_lag_ms: int = 0  # how long a write takes to show up in search results

    def merged(self, data: dict[str, Any]) -> LimitSettings:
        """A copy with ``data`` applied (``tier`` picks a preset); unknown keys: ``ValueError``."""
        data = dict(data)
        values = asdict(self)
        tier = data.pop("tier", None)
        if tier is not None:
            if tier not in TIERS:
                raise ValueError(f"unknown tier {tier!r}; known: {sorted(TIERS)}")
            values["ten_secondly"], values["daily"] = TIERS[tier]
        known = {f.name for f in fields(self)}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown limit(s) {unknown}; known: {sorted(known | {'tier'})}")
        for name, value in data.items():
            if not isinstance(value, int) or value < 0:
                raise ValueError(f"limit {name} must be a non-negative integer")
            values[name] = value
        return LimitSettings(**values)


class RateLimiter:
    """Counts accepted requests and decides which limit, if any, a new request breaks."""

    def __init__(self, settings: LimitSettings | None = None) -> None:
        self.settings = settings or LimitSettings()
        self._burst: deque[datetime] = deque()
        self._search: deque[datetime] = deque()
        self._day: date | None = None
        self._daily_used = 0

    def clear(self) -> None:
        """Forget all usage."""
        self._burst.clear()
        self._search.clear()
        self._day = None
        self._daily_used = 0

    def admit(self, now: datetime, search: bool) -> str | None:
        """Count the request and return ``None``, or the broken policy without counting it:
        ``"DAILY"``, ``"TEN_SECONDLY_ROLLING"`` or ``"SECONDLY"``."""
        self._expire(now)
        if self._daily_used >= self.settings.daily:
            return "DAILY"
        if search:
            if len(self._search) >= self.settings.search_per_second:
                return "SECONDLY"
            self._search.append(now)
        else:
            if len(self._burst) >= self.settings.ten_secondly:
                return "TEN_SECONDLY_ROLLING"
            self._burst.append(now)
        self._daily_used += 1
        return None

    def daily_usage(self, now: datetime) -> tuple[int, int, datetime]:
        """(used today, the allowance, when it resets)."""
        self._expire(now)
        midnight = datetime.combine(now.date() + timedelta(days=1), datetime.min.time(), now.tzinfo)
        return self._daily_used, self.settings.daily, midnight

    def headers(self, now: datetime, search: bool) -> dict[str, str]:
        """The ``X-HubSpot-RateLimit-*`` headers for a response at ``now``.

        Search responses carry the daily pair and the search ``Secondly`` pair; everything else
        carries the daily pair, the 10-second bucket and its per-second share.
        """
        self._expire(now)
        limits = self.settings
        headers = {
            "X-HubSpot-RateLimit-Daily": str(limits.daily),
            "X-HubSpot-RateLimit-Daily-Remaining": str(max(0, limits.daily - self._daily_used)),
        }
        if search:
            remaining = limits.search_per_second - len(self._search)
            headers["X-HubSpot-RateLimit-Secondly"] = str(limits.search_per_second)
            headers["X-HubSpot-RateLimit-Secondly-Remaining"] = str(max(0, remaining))
            return headers
        per_second = max(1, limits.ten_secondly // 10)
        last_second = sum(1 for at in self._burst if at > now - SECOND)
        headers.update(
            {
                "X-HubSpot-RateLimit-Interval-Milliseconds": str(
                    int(WINDOW.total_seconds() * 1000)
                ),
                "X-HubSpot-RateLimit-Max": str(limits.ten_secondly),
                "X-HubSpot-RateLimit-Remaining": str(
                    max(0, limits.ten_secondly - len(self._burst))
                ),
                "X-HubSpot-RateLimit-Secondly": str(per_second),
                "X-HubSpot-RateLimit-Secondly-Remaining": str(max(0, per_second - last_second)),
            }
        )
        return headers

    def _expire(self, now: datetime) -> None:
        while self._burst and self._burst[0] <= now - WINDOW:
            self._burst.popleft()
        while self._search and self._search[0] <= now - SECOND:
            self._search.popleft()
        if self._day != now.date():
            self._day = now.date()
            self._daily_used = 0
