"""Salesforce's API request allocation (crm-apis.md §3.8): a rolling 24-hour count of REST calls
per org; every response carries ``Sforce-Limit-Info: api-usage=<used>/<max>``; once spent, calls
answer 403 ``REQUEST_LIMIT_EXCEEDED`` (no 429, no Retry-After). ``/limits`` reports it.

Owns counting; reads time only from the ``now`` it is given. Refused calls do not count; an
sObject collection counts once; OAuth endpoints do not count. There is no per-second limit.
"""

from __future__ import annotations

from collections import deque
from datetime import datetime, timedelta
from typing import Any

WINDOW = timedelta(hours=24)
DEFAULT_DAILY = 100_000  # Enterprise Edition base allocation (crm-apis.md §3.8)


class ApiUsage:
    """The calls of the last 24 hours."""

    def __init__(self, daily: int = DEFAULT_DAILY) -> None:
        self.daily = daily
        self._calls: deque[datetime] = deque()

    def admit(self, now: datetime) -> bool:
        """Count a call, or ``False`` (not counted) when the allocation is spent."""
        self._expire(now)
        if len(self._calls) >= self.daily:
            return False
        self._calls.append(now)
        return True

    def used(self, now: datetime) -> int:
        """Calls in the window ending at ``now``."""
        self._expire(now)
        return len(self._calls)

    def header(self, now: datetime) -> dict[str, str]:
        """``Sforce-Limit-Info``."""
        return {"Sforce-Limit-Info": f"api-usage={self.used(now)}/{self.daily}"}

    def clear(self) -> None:
        """Forget every call."""
        self._calls.clear()

    def limits(self, now: datetime) -> dict[str, Any]:
        """The ``/limits`` resource (the request allocation plus a few static org limits)."""
        return {
            "DailyApiRequests": {"Max": self.daily, "Remaining": self.daily - self.used(now)},
            "DailyBulkV2QueryJobs": {"Max": 10000, "Remaining": 10000},
            "DailyBulkApiBatches": {"Max": 15000, "Remaining": 15000},
            "DataStorageMB": {"Max": 5120, "Remaining": 5100},
            "FileStorageMB": {"Max": 20480, "Remaining": 20480},
            "SingleEmail": {"Max": 5000, "Remaining": 5000},
        }

    def _expire(self, now: datetime) -> None:
        while self._calls and self._calls[0] <= now - WINDOW:
            self._calls.popleft()
