"""Pipedrive's token-based rate limits (crm-apis.md §2.8): a burst window of 2 s per token, a
search window of 10 requests per 2 s per token, the company's daily token budget, the daily
POST/PUT/PATCH allowance per user of API-token requests, and the response headers of all four.

Owns counting and the decision "allowed, or which 429"; reads time only from the ``now`` it is
given. A request costs the tokens of its route (x-token-cost of the v2 spec: get 1, list 10,
write 5, delete 3, search 20; v1 twice that). Rejected requests consume nothing. A search request
counts in both windows. The daily budget and allowance reset at 00:00 UTC.
"""

from __future__ import annotations

import math
from collections import deque
from dataclasses import asdict, dataclass, fields
from datetime import date, datetime, timedelta
from typing import Any

#: Burst per 2 s by plan: (api_token, OAuth access token), from the rate-limiting page.
PLANS: dict[str, tuple[int, int]] = {
    "essential": (20, 80),
    "advanced": (40, 160),
    "professional": (80, 320),
    "power": (100, 400),
    "enterprise": (120, 480),
}
WINDOW = timedelta(seconds=2)


@dataclass
class LimitSettings:
    """The limits in force; ``POST /_sandbox/settings`` merges JSON into these."""

    plan: str = "essential"
    burst_api_token: int = PLANS["essential"][0]
    burst_oauth: int = PLANS["essential"][1]
    search_burst: int = 10
    daily_token_budget: int = 180_000  # 30,000 base tokens x plan multiplier 1 x 6 seats
    daily_post_put: int = 10_000  # per user, reported as x-daily-requests-left

    def merged(self, data: dict[str, Any]) -> LimitSettings:
        """A copy with ``data`` applied (``plan`` sets both bursts); unknown keys raise
        ``ValueError``."""
        values = asdict(self)
        data = dict(data)
        if "plan" in data:
            plan = data.pop("plan")
            if plan not in PLANS:
                raise ValueError(f"unknown plan {plan!r}; known: {sorted(PLANS)}")
            values["plan"] = plan
            values["burst_api_token"], values["burst_oauth"] = PLANS[plan]
        known = {f.name for f in fields(self)} - {"plan"}
        unknown = sorted(set(data) - known)
        if unknown:
            raise ValueError(f"unknown limit(s) {unknown}; known: {sorted(known | {'plan'})}")
        for name, value in data.items():
            if not isinstance(value, int) or isinstance(value, bool) or value < 0:
                raise ValueError(f"limit {name} must be a non-negative integer")
            values[name] = value
        return LimitSettings(**values)


@dataclass(frozen=True)
class Caller:
    """Who a request counts against: the token (burst windows) and the user (daily POST/PUT)."""

    token_key: str
    user_id: int
    oauth: bool


class RateLimiter:
    """Counts admitted requests and decides which limit, if any, a new one breaks."""

    def __init__(self, settings: LimitSettings | None = None) -> None:
        self.settings = settings or LimitSettings()
        self._burst: dict[str, deque[datetime]] = {}
        self._search: dict[str, deque[datetime]] = {}
        self._day: date | None = None
        self._tokens_used = 0
        self._writes: dict[int, int] = {}

    def clear(self) -> None:
        """Forget all usage."""
        self._burst.clear()
        self._search.clear()
        self._day = None
        self._tokens_used = 0
        self._writes.clear()

    def admit(
        self, now: datetime, caller: Caller, cost: int, search: bool, write: bool
    ) -> str | None:
        """Count the request, or return the broken limit without counting it:
        ``"daily"``, ``"burst"`` or ``"search"``."""
        self._expire(now)
        if self._tokens_used + cost > self.settings.daily_token_budget:
            return "daily"
        burst = self._burst.setdefault(caller.token_key, deque())
        if len(burst) >= self._burst_limit(caller):
            return "burst"
        searches = self._search.setdefault(caller.token_key, deque())
        if search and len(searches) >= self.settings.search_burst:
            return "search"
        burst.append(now)
        if search:
            searches.append(now)
        self._tokens_used += cost
        if write and not caller.oauth:
            self._writes[caller.user_id] = self._writes.get(caller.user_id, 0) + 1
        return None

    def daily_usage(self, now: datetime) -> tuple[int, int]:
        """(tokens used today, the budget)."""
        self._expire(now)
        return self._tokens_used, self.settings.daily_token_budget

    def retry_after(self, now: datetime, caller: Caller, search: bool) -> int:
        """Whole seconds until the caller's (search) window has room again."""
        self._expire(now)
        window = (self._search if search else self._burst).get(caller.token_key)
        if not window:
            return math.ceil(WINDOW.total_seconds())
        return max(1, math.ceil((window[0] + WINDOW - now).total_seconds()))

    def headers(self, now: datetime, caller: Caller, search: bool) -> dict[str, str]:
        """``x-ratelimit-*`` of the caller's window, the daily token budget, and for API-token
        requests ``x-daily-requests-left``."""
        self._expire(now)
        limits = self.settings
        if search:
            limit, used = limits.search_burst, len(self._search.get(caller.token_key, ()))
        else:
            limit, used = self._burst_limit(caller), len(self._burst.get(caller.token_key, ()))
        headers = {
            "x-ratelimit-limit": str(limit),
            "x-ratelimit-remaining": str(max(0, limit - used)),
            "x-ratelimit-reset": str(self.retry_after(now, caller, search)),
            "x-daily-ratelimit-token-limit": str(limits.daily_token_budget),
            "x-daily-ratelimit-token-remaining": str(
                max(0, limits.daily_token_budget - self._tokens_used)
            ),
        }
        if not caller.oauth:
            left = limits.daily_post_put - self._writes.get(caller.user_id, 0)
            headers["x-daily-requests-left"] = str(max(0, left))
        return headers

    def _burst_limit(self, caller: Caller) -> int:
        return self.settings.burst_oauth if caller.oauth else self.settings.burst_api_token

    def _expire(self, now: datetime) -> None:
        for windows in (self._burst, self._search):
            for window in windows.values():
                while window and window[0] <= now - WINDOW:
                    window.popleft()
        if self._day != now.date():
            self._day = now.date()
            self._tokens_used = 0
            self._writes.clear()
