"""Re-reading history on request (``scorebridge resync``): point the Mautic cursors back in time,
or re-read one contact's record and rows without moving any cursor. Nothing is duplicated by a
re-read: events are unique by external id and contacts by Mautic id."""

from __future__ import annotations

import json
from datetime import datetime

from scorebridge.clock import FrozenClock
from scorebridge.mautic.streams import CONTACTS, ID_STREAMS, TIME_STREAMS, Page, fmt, map_rows
from scorebridge.store import cursors
from scorebridge.store.engine import Store
from scorebridge.sync.pull import EPOCH, SOURCE, MauticSource, Puller, PullOptions, StreamReport


def reset_cursors(
    store: Store, source: MauticSource, *, since: datetime | None, now: datetime
) -> dict[str, str]:
    """Point every Mautic cursor at ``since`` (or the beginning of time) so that the next pull
    re-reads history from there. Returns the new cursors. Nothing is duplicated by the re-read:
    events are unique by external id and contacts by Mautic id."""
    if since is not None and since > now:
        raise ValueError(f"cannot re-read from {since.isoformat()}: it is after now ({now})")
    start = since or EPOCH
    new: dict[str, str] = {CONTACTS: json.dumps({"since": start.isoformat()})}
    for name in TIME_STREAMS:
        new[name] = json.dumps({"since": start.isoformat()})
    for name, stream in ID_STREAMS.items():
        after = 0
        if since is not None:
            first = source.stats(
                stream.table,
                where=[{"col": stream.time_column, "expr": "gte", "val": fmt(since)}],
                order=[{"col": "id", "dir": "ASC"}],
                start=0,
                limit=1,
            ).rows
            if not first:
                continue  # nothing since then: the stream's cursor stays where it is
            after = int(str(first[0]["id"])) - 1
        new[name] = json.dumps({"after": after})
    with store.write() as conn:
        for name, value in new.items():
            cursors.set(conn, SOURCE, name, value, now)
    return new


def pull_one_contact(
    store: Store, source: MauticSource, mautic_id: int, options: PullOptions, now: datetime
) -> StreamReport:
    """Re-read everything Mautic has about one contact (its record and its rows in every
    enabled stats stream) without moving any cursor."""
    report = StreamReport()
    puller = Puller(store, source, FrozenClock(now), options)
    contact = source.get_contact(mautic_id)
    puller.store_page(Page(CONTACTS, "", [], [contact], [], 1), report, keep_cursor=True)
    groups = {g.id: g.name for g in source.list_point_groups()}
    tables = [(s.name, s.table, s.mapper) for s in ID_STREAMS.values()]
    tables += [(s.name, s.table, s.mapper) for s in TIME_STREAMS.values()]
    for name, table, mapper in tables:
        if name not in options.streams:
            continue
        start = 0
        while True:
            rows = source.stats(
                table,
                where=[{"col": "lead_id", "expr": "eq", "val": str(mautic_id)}],
                order=[{"col": "id", "dir": "ASC"}],
                start=start,
                limit=options.stats_page_size,
            ).rows
            events, rejects = map_rows(name, rows, mapper, groups)
            puller.store_page(
                Page(name, "", events, [], rejects, len(rows)), report, keep_cursor=True
            )
            if len(rows) < options.stats_page_size:
                break
            start += len(rows)
    return report
