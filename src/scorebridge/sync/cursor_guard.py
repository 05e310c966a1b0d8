"""Cursors found in the future: detected, logged and clamped before a pull reads from them.

A time cursor (``{"since": T}``, or a window in progress ``{"base", "from", "after",
"newest"}``, as :func:`~scorebridge.mautic.streams.read_window` and the CRM pull store them)
never passes the start of the cycle that wrote it (DESIGN §4). One that does anyway -- a clock
that ran ahead, a store restored from another machine, a cursor edited by hand -- makes every
later pull read an empty window and silently store nothing. So each pull first checks its
source's cursors against its own start: a cursor with any timestamp past it is put back to the
moment it was written (a cursor cannot truthfully cover anything newer), or to the cycle start
when that moment is in the future as well. Overlapping re-reads are free (events are unique by
external id), a skipped window is not.

Owns: the check, the clamp and the warning. Must not: read the clock (the pull passes its
start), commit (the caller's transaction), or touch id cursors (``{"after": N}`` is no time).
"""

from __future__ import annotations

import json
import logging
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy.engine import Connection

from scorebridge.clock import utc
from scorebridge.store import cursors

log = logging.getLogger(__name__)

TIME_KEYS = ("since", "base", "from", "newest")
"""The keys of a time cursor that hold an ISO timestamp."""


@dataclass(frozen=True)
class Clamped:
    """A cursor that was in the future, and where it was put back to."""

    source: str
    stream: str
    was: datetime
    now: datetime


def latest_time(value: str) -> datetime | None:
    """The latest timestamp a cursor value holds, or ``None`` (an id cursor, an owner list,
    or nothing readable: the stream's own reader reports those)."""
    try:
        state = json.loads(value) if value else None
    except ValueError:
        return None
    if not isinstance(state, dict):
        return None
    found: list[datetime] = []
    for key in TIME_KEYS:
        raw = state.get(key)
        if not isinstance(raw, str):
            continue
        try:
            found.append(utc(datetime.fromisoformat(raw)))
        except ValueError:
            continue
    return max(found) if found else None


def clamp_future_cursors(conn: Connection, source: str, started: datetime) -> list[Clamped]:
    """Put every time cursor of ``source`` that lies past ``started`` back (see the module
    docstring), in the caller's transaction; returns what was clamped, each also logged."""
    clamped: list[Clamped] = []
    for state in cursors.list_all(conn):
        if state.source != source:
            continue
        latest = latest_time(state.value)
        if latest is None or latest <= started:
            continue
        written = utc(state.updated_at) if state.updated_at is not None else started
        target = min(written, started)
        cursors.set(conn, source, state.stream, json.dumps({"since": target.isoformat()}), started)
        log.warning(
            "cursor %s/%s was in the future (%s, after this pull's start %s); clamped to %s. "
            "A clock that ran ahead, a restored store or a resync into the future does this; "
            "nothing is stored twice by the re-read",
            source,
            state.stream,
            latest.isoformat(),
            started.isoformat(),
            target.isoformat(),
            extra={"source": source, "stream": state.stream},
        )
        clamped.append(Clamped(source, state.stream, latest, target))
    return clamped
