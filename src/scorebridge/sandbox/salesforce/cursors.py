"""Query locators (crm-apis.md §3.3): a result bigger than one batch answers its first batch and
``nextRecordsUrl`` = ``/services/data/vXX.X/query/<locator>-<offset>``; following it returns the
next batch, until ``done: true``.

Owns the open locators: each holds the rendered result of its query as it was when the query ran
(later writes do not change the pages), its batch size (2000 by default; ``Sforce-Query-Options:
batchSize=n`` asks for 200..2000) and when it was last used. A locator idle for longer than
``idle_seconds`` (15 minutes) is gone: ``INVALID_QUERY_LOCATOR``.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from scorebridge.sandbox.salesforce import errors, ids

DEFAULT_BATCH = 2000
MIN_BATCH = 200
_BATCH = re.compile(r"batchSize\s*=\s*(\d+)", re.IGNORECASE)


def batch_size(header: str | None) -> int:
    """The batch size a ``Sforce-Query-Options`` header asks for (clamped to 200..2000)."""
    found = _BATCH.search(header or "")
    if not found:
        return DEFAULT_BATCH
    return max(MIN_BATCH, min(DEFAULT_BATCH, int(found.group(1))))


@dataclass
class _Cursor:
    records: list[dict[str, Any]]
    batch: int
    last_used: datetime


@dataclass
class Cursors:
    """The open query locators of an org."""

    idle_seconds: int = 900
    _open: dict[str, _Cursor] = field(default_factory=dict)

    def page(
        self,
        version: str,
        records: list[dict[str, Any]],
        total: int,
        batch: int,
        now: datetime,
        tooling: bool = False,
    ) -> dict[str, Any]:
        """The first page of a result (and a locator for the rest, if any)."""
        if len(records) <= batch:
            return {"totalSize": total, "done": True, "records": records}
        locator = ids.random_id("01g")
        self._open[locator] = _Cursor(records, batch, now)
        return self._answer(version, locator, 0, total, tooling)

    def more(
        self, version: str, token: str, now: datetime, tooling: bool = False
    ) -> dict[str, Any]:
        """The page at ``<locator>-<offset>``."""
        self._expire(now)
        locator, _, offset = token.rpartition("-")
        cursor = self._open.get(locator)
        if cursor is None or not offset.isdigit() or int(offset) > len(cursor.records):
            raise errors.bad("INVALID_QUERY_LOCATOR", "invalid query locator")
        cursor.last_used = now
        return self._answer(version, locator, int(offset), len(cursor.records), tooling)

    def _answer(
        self, version: str, locator: str, offset: int, total: int, tooling: bool
    ) -> dict[str, Any]:
        cursor = self._open[locator]
        end = offset + cursor.batch
        body: dict[str, Any] = {"totalSize": total, "done": end >= len(cursor.records)}
        if not body["done"]:
            prefix = f"/services/data/v{version}/{'tooling/' if tooling else ''}query"
            body["nextRecordsUrl"] = f"{prefix}/{locator}-{end}"
        body["records"] = cursor.records[offset:end]
        return body

    def _expire(self, now: datetime) -> None:
        idle = timedelta(seconds=self.idle_seconds)
        for locator in [k for k, c in self._open.items() if now - c.last_used > idle]:
            del self._open[locator]
