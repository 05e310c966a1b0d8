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


# The 34 tables Mautic 5's stats subscribers expose (``*/EventListener/StatsSubscriber.php``),
# with their columns: the reference sample stats_available_tables.json (docs, 35 tables) without
# ``plugin_citrix_events`` (MauticCitrixBundle left in 5.0) and with 5.0's
# ``lead_points_change_log.group_id``. The first ten are filled by the world, the rest stay
# empty. Also: the columns MySQL holds as numbers (compared numerically in where clauses).
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
    # Exposed by Mautic 5's stats subscribers but not filled by the sandbox's world.
    "audit_log": (
        "action", "bundle", "date_added", "details", "id", "ip_address", "object", "object_id",
        "user_id", "user_name",
    ),
    "campaign_lead_event_log": (
        "campaign_id", "channel", "channel_id", "date_triggered", "event_id", "id", "ip_id",
        "is_scheduled", "lead_id", "metadata", "non_action_path_taken", "rotation",
        "system_triggered", "trigger_date",
    ),
    "campaign_leads": (
        "campaign_id", "date_added", "date_last_exited", "lead_id", "manually_added",
        "manually_removed", "rotation",
    ),
    "channel_url_trackables": (
        "channel", "channel_id", "hits", "redirect_id", "unique_hits",
    ),
    "companies_leads": (
        "company_id", "date_added", "is_primary", "lead_id", "manually_added", "manually_removed",
    ),
    "dynamic_content_lead_data": (
        "date_added", "dynamic_content_id", "id", "lead_id", "slot",
    ),
    "dynamic_content_stats": (
        "date_sent", "dynamic_content_id", "id", "last_sent", "lead_id", "sent_count",
        "sent_details", "source", "source_id", "tokens",
    ),
    "email_stat_replies": (
        "date_replied", "id", "message_id", "stat_id",
    ),
    "email_stats_devices": (
        "date_opened", "device_id", "id", "ip_id", "stat_id",
    ),
    "focus_stats": (
        "date_added", "focus_id", "id", "lead_id", "type", "type_id",
    ),
    "lead_categories": (
        "category_id", "date_added", "id", "lead_id", "manually_added", "manually_removed",
    ),
    "lead_companies_change_log": (
        "action_name", "company_id", "date_added", "event_name", "id", "lead_id", "type",
    ),
    "lead_devices": (
        "client_info", "date_added", "device", "device_brand", "device_fingerprint", "device_model",
        "device_os_name", "device_os_platform", "device_os_shortname", "device_os_version", "id",
        "lead_id", "tracking_id",
    ),
    "lead_event_log": (
        "action", "bundle", "date_added", "id", "lead_id", "object", "object_id", "properties",
        "user_id", "user_name",
    ),
    "lead_frequencyrules": (
        "channel", "date_added", "frequency_number", "frequency_time", "id", "lead_id",
        "pause_from_date", "pause_to_date", "preferred_channel",
    ),
    "lead_utmtags": (
        "date_added", "id", "lead_id", "query", "referer", "remote_host", "url", "user_agent",
        "utm_campaign", "utm_content", "utm_medium", "utm_source", "utm_term",
    ),
    "page_redirects": (
        "checked_out", "checked_out_by", "checked_out_by_user", "created_by", "created_by_user",
        "date_added", "date_modified", "hits", "id", "is_published", "modified_by",
        "modified_by_user", "redirect_id", "unique_hits", "url",
    ),
    "point_lead_event_log": (
        "date_fired", "event_id", "ip_id", "lead_id",
    ),
    "push_notification_stats": (
        "click_count", "click_details", "date_clicked", "date_read", "date_sent", "id", "ip_id",
        "is_clicked", "last_clicked", "lead_id", "list_id", "notification_id", "retry_count",
        "source", "source_id", "tokens", "tracking_hash",
    ),
    "sms_message_stats": (
        "date_sent", "id", "ip_id", "lead_id", "list_id", "sms_id", "source", "source_id", "tokens",
        "tracking_hash",
    ),
    "stage_lead_action_log": (
        "date_fired", "ip_id", "lead_id", "stage_id",
    ),
    "tweet_stats": (
        "date_sent", "favorite_count", "handle", "id", "is_failed", "lead_id", "response_details",
        "retry_count", "retweet_count", "source", "source_id", "tweet_id", "twitter_tweet_id",
    ),
    "video_hits": (
        "browser_languages", "channel", "channel_id", "city", "code", "country", "date_hit",
        "date_left", "duration", "guid", "id", "ip_id", "isp", "lead_id", "organization",
        "page_language", "query", "referer", "region", "remote_host", "time_watched", "url",
        "user_agent",
    ),
    "webhook_logs": (
        "date_added", "id", "note", "runtime", "status_code", "webhook_id",
    ),
}
_NUMERIC_COLUMNS = frozenset({
    "id", "delta", "code", "is_read", "is_failed", "viewed_in_browser", "retry_count",
    "open_count", "reason", "manually_removed", "manually_added", "hits", "unique_hits",
    "is_scheduled", "system_triggered", "rotation", "non_action_path_taken", "is_primary",
    "sent_count", "is_clicked", "click_count", "object_id", "user_id",
})
_TEXT_IDS = frozenset({"tracking_id", "message_id", "unique_id"})
# fmt: on


def _numeric(column: str) -> bool:
    return column in _NUMERIC_COLUMNS or (column.endswith("_id") and column not in _TEXT_IDS)


def new_tables() -> dict[str, Table]:
    """Empty stats tables."""
    return {
        name: Table(name, columns, [c for c in columns if _numeric(c)])
        for name, columns in TABLE_COLUMNS.items()
    }
