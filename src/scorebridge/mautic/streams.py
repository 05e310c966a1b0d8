"""Incremental readers of Mautic's streams (DESIGN §4). A stream turns a cursor into pages of
neutral records plus the cursor to store with each page; it never touches the store and never
decides when to commit (the puller commits each page with its cursor in one transaction).

Cursors are JSON text so that a crash in the middle of a window resumes inside that window:

- id streams (point log, page hits, forms, downloads, do-not-contact, stage log) read
  ``where id gt <after>`` ordered by id. MySQL hands out auto-increment ids before commit, so a
  slow transaction can appear later under a lower id: an id gap next to a row newer than
  ``settle_before`` (cycle start minus ``[pull] settle``) stops the stored cursor before the
  gap, and the rows after it are read again next cycle (harmless: events are unique by id).
  Contiguous ids, and old gaps (deleted rows), move the cursor at once.
- time streams (e-mail opens by ``date_read``/``last_opened``, rows that change in place) read
  the window ``[since - overlap, ...)`` with keyset paging on id inside it
  (``{"since", "after"}``); when the window is done the next ``since`` is the newest server
  timestamp seen, never later than the cycle start.
- contacts keep a keyset cursor on (``date_modified`` or ``date_added``, id) instead:
  :mod:`scorebridge.mautic.contacts_stream`.

Rows that cannot be understood become :class:`Reject` entries (dead letters) and the stream
goes on.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from scorebridge.mautic.schemas import MauticContact, StatsPage, parse_mautic_datetime

MAUTIC_TIME = "%Y-%m-%d %H:%M:%S"


@dataclass(frozen=True)
class PulledEvent:
    """A behaviour event read from Mautic, before it is linked to a local contact."""

    stream: str
    external_id: str
    mautic_contact_id: int
    kind: str
    occurred_at: datetime
    attributes: dict[str, Any]


@dataclass(frozen=True)
class Reject:
    """A row the stream could not understand."""

    stream: str
    record_id: str
    reason: str
    payload: dict[str, Any]


@dataclass
class Page:
    """One page of a stream and the cursor that is true once it is stored."""

    stream: str
    cursor: str
    events: list[PulledEvent] = field(default_factory=list)
    contacts: list[MauticContact] = field(default_factory=list)
    rejects: list[Reject] = field(default_factory=list)
    rows: int = 0
    total: int | None = None
    """Rows the read matched when this page was served (Mautic's ``total``), if it said."""


class StatsSource(Protocol):
    """The part of the Mautic client the streams use."""

    def stats(
        self,
        table: str,
        *,
        where: list[dict[str, Any]] | None = ...,
        order: list[dict[str, str]] | None = ...,
        start: int = ...,
        limit: int = ...,
    ) -> StatsPage:
        """One page of ``/api/stats/{table}``."""
        ...


def fmt(ts: datetime) -> str:
    """A UTC datetime in Mautic's filter format."""
    return ts.astimezone(UTC).strftime(MAUTIC_TIME)


def _int(row: Mapping[str, Any], key: str) -> int:
    value = row.get(key)
    if value in (None, ""):
        raise ValueError(f"missing {key}")
    try:
        return int(str(value))
    except ValueError:
        raise ValueError(f"{key} is not an integer: {str(value)[:40]!r}") from None


def _opt_int(row: Mapping[str, Any], key: str) -> int | None:
    value = row.get(key)
    return None if value in (None, "", "0") else int(str(value))


def _when(row: Mapping[str, Any], key: str) -> datetime:
    value = row.get(key)
    if not value:
        raise ValueError(f"missing {key}")
    return parse_mautic_datetime(str(value))


def _event(
    row: Mapping[str, Any], stream: str, kind: str, time_column: str, attributes: dict[str, Any]
) -> PulledEvent:
    """The event of a stats row: its id, contact and time come from the same columns everywhere."""
    return PulledEvent(
        stream,
        str(_int(row, "id")),
        _int(row, "lead_id"),
        kind,
        _when(row, time_column),
        attributes,
    )


# ---- row -> event mappers (one per table; a ValueError makes the row a Reject) ----------------

RowMapper = Callable[[Mapping[str, Any], Mapping[int, str]], PulledEvent | None]


SCOREBRIDGE_EVENT_NAME = "scorebridge"
"""``eventName`` of the point-group scores scorebridge sets; their log rows are its own echo."""
GROUP_SET = "mautic.group_set"
"""Event kind of scorebridge's own point-group sets read back from the point log: never scored
(no rule may name it), kept so the planner knows what Mautic holds per group."""
_SET_TO = re.compile(r"set to (-?\d+)")


def group_set_action(value: int) -> str:
    """The ``actionName`` of a group set: it carries the value, so its log row says what Mautic
    held right after it (the row itself only has the signed delta)."""
    return f"scorebridge: set to {int(value)}"


def _points(row: Mapping[str, Any], groups: Mapping[int, str]) -> PulledEvent | None:
    group_id = _opt_int(row, "group_id")
    attributes: dict[str, Any] = {
        "delta": _int(row, "delta"),
        "group_id": group_id,
        "group": groups.get(group_id) if group_id else None,
    }
    if row.get("event_name") == SCOREBRIDGE_EVENT_NAME:
        # our own group-score write: scoring its delta would feed back forever; it is kept
        # (kind GROUP_SET) as the baseline of what Mautic holds in that group
        if group_id is None:
            return None
        found = _SET_TO.search(str(row.get("action_name") or ""))
        attributes["value"] = int(found[1]) if found else None
        return _event(row, "points", GROUP_SET, "date_added", attributes)
    attributes |= {
        "type": row.get("type") or "",
        "event_name": row.get("event_name") or "",
        "action_name": row.get("action_name") or "",
    }
    return _event(row, "points", "mautic.points", "date_added", attributes)


def _page_hit(row: Mapping[str, Any], _: Mapping[int, str]) -> PulledEvent:
    email_id = _opt_int(row, "email_id")
    attributes: dict[str, Any] = {"url": row.get("url") or "", "page_id": _opt_int(row, "page_id")}
    if email_id:
        attributes["email_id"] = email_id
    if row.get("user_agent"):
        attributes["user_agent"] = row["user_agent"]
    return _event(
        row,
        "page_hits",
        "email.click" if email_id else "page.hit",
        "date_hit",
        attributes,
    )


def _form(row: Mapping[str, Any], _: Mapping[int, str]) -> PulledEvent:
    return _event(
        row,
        "form_submissions",
        "form.submit",
        "date_submitted",
        {"form_id": _int(row, "form_id"), "page_id": _opt_int(row, "page_id")},
    )


def _download(row: Mapping[str, Any], _: Mapping[int, str]) -> PulledEvent:
    return _event(
        row,
        "asset_downloads",
        "asset.download",
        "date_download",
        {"asset_id": _int(row, "asset_id"), "email_id": _opt_int(row, "email_id")},
    )


DNC_KINDS = {1: "dnc.unsubscribed", 2: "dnc.bounced", 3: "dnc.manual"}


def _dnc(row: Mapping[str, Any], _: Mapping[int, str]) -> PulledEvent | None:
    reason = _int(row, "reason")
    if reason not in DNC_KINDS:
        return None
    return _event(
        row,
        "dnc",
        DNC_KINDS[reason],
        "date_added",
        {"channel": row.get("channel") or "email", "reason": reason},
    )


def _stage(row: Mapping[str, Any], _: Mapping[int, str]) -> PulledEvent:
    return _event(
        row,
        "stages",
        "mautic.stage",
        "date_added",
        {
            "stage_id": _opt_int(row, "stage_id"),
            "event_name": row.get("event_name") or "",
            "action_name": row.get("action_name") or "",
        },
    )


def _open(row: Mapping[str, Any], _: Mapping[int, str]) -> PulledEvent | None:
    if str(row.get("is_read") or "0") != "1" or not row.get("date_read"):
        return None
    attributes: dict[str, Any] = {"email_id": _opt_int(row, "email_id")}
    if row.get("date_sent"):
        sent = _when(row, "date_sent")
        read = _when(row, "date_read")
        attributes["date_sent"] = sent.isoformat()
        attributes["seconds_after_send"] = (read - sent).total_seconds()
    return _event(
        row,
        "email_stats",
        "email.open",
        "date_read",
        attributes,
    )


@dataclass(frozen=True)
class IdStream:
    """A stats table read by ascending id."""

    name: str
    table: str
    time_column: str
    mapper: RowMapper


@dataclass(frozen=True)
class TimeStream:
    """A stats table whose rows change in place, read by a time window."""

    name: str
    table: str
    time_columns: tuple[str, ...]
    mapper: RowMapper


ID_STREAMS: dict[str, IdStream] = {
    s.name: s
    for s in (
        IdStream("points", "lead_points_change_log", "date_added", _points),
        IdStream("page_hits", "page_hits", "date_hit", _page_hit),
        IdStream("form_submissions", "form_submissions", "date_submitted", _form),
        IdStream("asset_downloads", "asset_downloads", "date_download", _download),
        IdStream("dnc", "lead_donotcontact", "date_added", _dnc),
        IdStream("stages", "lead_stages_change_log", "date_added", _stage),
    )
}
TIME_STREAMS: dict[str, TimeStream] = {
    "email_stats": TimeStream("email_stats", "email_stats", ("date_read", "last_opened"), _open),
}
CONTACTS = "contacts"
ALL_STREAMS = (CONTACTS, *ID_STREAMS, *TIME_STREAMS)


def map_rows(
    stream: str, rows: list[dict[str, Any]], mapper: RowMapper, groups: Mapping[int, str]
) -> tuple[list[PulledEvent], list[Reject]]:
    events: list[PulledEvent] = []
    rejects: list[Reject] = []
    for row in rows:
        try:
            event = mapper(row, groups)
        except (ValueError, TypeError) as exc:
            rejects.append(Reject(stream, str(row.get("id", "")), f"{stream}: {exc}", dict(row)))
            continue
        if event is not None:
            events.append(event)
    return events, rejects


def read_id_stream(
    source: StatsSource,
    stream: IdStream,
    cursor: str,
    *,
    settle_before: datetime,
    page_size: int,
    groups: Mapping[int, str] | None = None,
) -> Iterator[Page]:
    """Yield pages of an id stream after ``cursor`` (JSON ``{"after": id}`` or empty)."""
    stored = int(json.loads(cursor).get("after", 0)) if cursor else 0
    after = stored
    settled = True
    while True:
        page = source.stats(
            stream.table,
            where=[{"col": "id", "expr": "gt", "val": str(after)}],
            order=[{"col": "id", "dir": "ASC"}],
            start=0,
            limit=page_size,
        )
        rows = page.rows
        if not rows:
            return
        events, rejects = map_rows(
            stream.name, rows, stream.mapper, {} if groups is None else groups
        )
        for row in rows:
            row_id = int(str(row.get("id") or after))
            if row_id <= after:
                continue
            if row_id != after + 1:  # a gap: deleted rows, or a transaction not committed yet
                moment = row.get(stream.time_column)
                fresh = bool(moment) and parse_mautic_datetime(str(moment)) >= settle_before
                settled = settled and not fresh
            after = row_id
            if settled:
                stored = row_id
        cursor_now = json.dumps({"after": stored})
        yield Page(stream.name, cursor_now, events, [], rejects, len(rows), page.total)
        if len(rows) < page_size:
            return


def _latest(values: list[datetime | None], current: datetime | None) -> datetime | None:
    present = [v for v in values if v is not None]
    if current is not None:
        present.append(current)
    return max(present) if present else None


def _window_where(columns: tuple[str, ...], since: datetime, after: int) -> list[dict[str, Any]]:
    return [
        {"expr": "orX", "val": [{"col": c, "expr": "gte", "val": fmt(since)} for c in columns]},
        {"col": "id", "expr": "gt", "val": str(after)},
    ]


Fetch = Callable[[list[dict[str, Any]], int], tuple[list[Any], list[int], list[datetime | None]]]


def read_window(
    fetch: Fetch,
    cursor: str,
    columns: tuple[str, ...],
    *,
    cycle_start: datetime,
    overlap: timedelta,
    backfill_from: datetime,
    page_size: int,
) -> Iterator[tuple[list[Any], str]]:
    """Keyset-page one time window and yield ``(items, cursor to store with them)``.

    ``fetch(where, limit)`` returns the items, their ids and their newest server timestamps.
    Cursor states: ``{"since": S}`` (window done; the next one reads from ``S - overlap``) and
    ``{"base": S, "from": F, "after": id, "newest": T}`` (inside the window that reads from F).
    """
    state = json.loads(cursor) if cursor else {}
    if "after" in state:
        base = datetime.fromisoformat(state["base"])
        window = datetime.fromisoformat(state["from"])
        after = int(state["after"])
        newest = datetime.fromisoformat(state["newest"]) if state.get("newest") else None
    else:
        base = datetime.fromisoformat(state["since"]) if state else backfill_from
        window = base - overlap if state else base
        after, newest = 0, None
    while True:
        items, ids, stamps = fetch(_window_where(columns, window, after), page_size)
        if ids:
            after = max(after, *ids)
        newest = _latest(stamps, newest)
        if len(items) < page_size:
            break
        mid = {"base": base.isoformat(), "from": window.isoformat(), "after": after}
        if newest is not None:
            mid["newest"] = newest.isoformat()
        yield items, json.dumps(mid)
    since = max(base, min(newest, cycle_start)) if newest else base
    yield items, json.dumps({"since": since.isoformat()})


def read_time_stream(
    source: StatsSource,
    stream: TimeStream,
    cursor: str,
    *,
    cycle_start: datetime,
    overlap: timedelta,
    backfill_from: datetime,
    page_size: int,
) -> Iterator[Page]:
    """Yield pages of a stats table whose rows change in place (e-mail opens)."""

    def fetch(where: list[dict[str, Any]], limit: int) -> tuple[list[Any], list[int], list[Any]]:
        rows = source.stats(
            stream.table, where=where, order=[{"col": "id", "dir": "ASC"}], start=0, limit=limit
        ).rows
        ids = [int(str(r["id"])) for r in rows if r.get("id")]
        stamps = [
            parse_mautic_datetime(str(r[c])) for r in rows for c in stream.time_columns if r.get(c)
        ]
        return rows, ids, stamps

    for rows, state in read_window(
        fetch,
        cursor,
        stream.time_columns,
        cycle_start=cycle_start,
        overlap=overlap,
        backfill_from=backfill_from,
        page_size=page_size,
    ):
        events, rejects = map_rows(stream.name, rows, stream.mapper, {})
        yield Page(stream.name, state, events, [], rejects, len(rows))
