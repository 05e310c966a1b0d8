"""The stats tables of the Mautic emulator: raw rows as MySQL holds them.

Owns the table model (rows with an auto-increment ``id``, a per-contact index, id-range lookup
by bisection) and which tables and columns exist. No HTTP, no event semantics.
"""

from __future__ import annotations

import bisect
from collections.abc import Iterable, Iterator
from typing import Any

Row = dict[str, Any]


class Table:
    """One stats table: raw rows in insertion order with an auto-increment ``id``.

    Rows are appended with increasing ids, so id ranges are found by bisection; ``by_lead``
    indexes rows per contact for the activity timeline.
    """

    def __init__(self, name: str, columns: Iterable[str], numeric: Iterable[str]) -> None:
        self.name = name
        self.columns: tuple[str, ...] = tuple(columns)
        self.numeric: frozenset[str] = frozenset(numeric)
        self.has_id = "id" in self.columns
        self._blank: Row = dict.fromkeys(self.columns)
        self.rows: list[Row] = []
        self.by_lead: dict[int, list[Row]] = {}
        self.next_id = 1

    def insert(self, **values: Any) -> Row:
        """Append a row (missing columns are NULL) and return it."""
        row = self._blank.copy()
        if self.has_id:
            row["id"] = self.next_id
            self.next_id += 1
        row.update(values)
        self.rows.append(row)
        lead = row.get("lead_id")
        if lead is not None:
            self.by_lead.setdefault(lead, []).append(row)
        return row

    def delete(self, row: Row) -> None:
        """Remove a row."""
        self.rows.remove(row)
        lead = row.get("lead_id")
        if lead is not None:
            self.by_lead[lead].remove(row)

    def delete_lead(self, lead_id: int) -> None:
        """Remove every row of a contact (ON DELETE CASCADE)."""
        gone = self.by_lead.pop(lead_id, [])
        if gone:
            ids = {id(row) for row in gone}
            self.rows = [row for row in self.rows if id(row) not in ids]

    def id_range(self, low: int | None, high: int | None) -> list[Row]:
        """Rows with ``low <= id <= high`` (either bound optional), by bisection."""
        start = 0 if low is None else bisect.bisect_left(self.rows, low, key=_row_id)
        stop = len(self.rows) if high is None else bisect.bisect_right(self.rows, high, key=_row_id)
        return self.rows[start:stop]

    def __iter__(self) -> Iterator[Row]:
        return iter(self.rows)

    def __len__(self) -> int:
        return len(self.rows)


def _row_id(row: Row) -> int:
    return int(row["id"])


# Stats tables emulated, with their columns (sample stats_available_tables.json + group_id) and
# the columns MySQL holds as numbers (compared numerically in where clauses).
# fmt: off
TABLE_COLUMNS: dict[str, tuple[str, ...]] = {
    "lead_points_change_log": (
        "id", "lead_id", "ip_id", "type", "event_name", "action_name", "delta", "date_added",
        "group_id",
    ),
    "page_hits": (
        "id", "page_id", "redirect_id", "email_id", "lead_id", "ip_id", "device_id", "date_hit",
        "date_left", "country", "region", "city", "isp", "organization", "code", "referer", "url",
        "url_title", "user_agent", "remote_host", "page_language", "browser_languages",
        "tracking_id", "source", "source_id", "query",
    ),
    "email_stats": (
        "id", "email_id", "lead_id", "email_address", "ip_id", "date_sent", "is_read",
        "is_failed", "viewed_in_browser", "date_read", "tracking_hash", "retry_count", "source",
        "source_id", "tokens", "open_count", "last_opened", "open_details", "list_id", "copy_id",
    ),
    "form_submissions": (
        "id", "form_id", "ip_id", "lead_id", "page_id", "tracking_id", "date_submitted",
        "referer",
    ),
    "asset_downloads": (
        "id", "asset_id", "ip_id", "lead_id", "email_id", "date_download", "code", "referer",
        "tracking_id", "source", "source_id",
    ),
    "lead_donotcontact": (
        "id", "lead_id", "date_added", "reason", "channel", "channel_id", "comments",
    ),
    "lead_stages_change_log": (
        "id", "lead_id", "stage_id", "event_name", "action_name", "date_added",
    ),
    "lead_lists_leads": (
        "leadlist_id", "lead_id", "date_added", "manually_removed", "manually_added",
    ),
    "point_lead_action_log": ("point_id", "lead_id", "ip_id", "date_fired"),
    "ip_addresses": ("id", "ip_address", "ip_details"),
}
_NUMERIC_COLUMNS = frozenset({
    "id", "lead_id", "ip_id", "delta", "group_id", "page_id", "redirect_id", "email_id",
    "device_id", "code", "source_id", "is_read", "is_failed", "viewed_in_browser", "retry_count",
    "open_count", "list_id", "form_id", "asset_id", "reason", "channel_id", "stage_id",
    "leadlist_id", "manually_removed", "manually_added", "point_id",
})
# fmt: on


def new_tables() -> dict[str, Table]:
    """Empty stats tables."""
    return {
        name: Table(name, columns, _NUMERIC_COLUMNS.intersection(columns))
        for name, columns in TABLE_COLUMNS.items()
    }
