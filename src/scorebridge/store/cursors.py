"""Bookmarks: one cursor per (source, stream).

Used as ``cursors.get(conn, source, stream)`` / ``cursors.set(conn, source, stream, value, now)``.

Owns: reading and moving a cursor inside a transaction the caller provides, so that a page's
rows and the cursor that covers them commit together (DESIGN §4, engineering §B.2).
Must not: open or commit transactions, interpret cursor values (an id or a timestamp is the
stream's business), or read the clock.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from scorebridge.store.engine import insert
from scorebridge.store.tables import Cursor

_cursor = Cursor.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class CursorState:
    """A stored cursor."""

    source: str
    stream: str
    value: str
    updated_at: datetime | None


def get(conn: Connection, source: str, stream: str) -> str:
    """The cursor of ``(source, stream)``; ``""`` if the stream was never read."""
    row = conn.execute(
        sa.select(_cursor.c.value).where(_cursor.c.source == source, _cursor.c.stream == stream)
    ).first()
    return "" if row is None else str(row.value)


def set(conn: Connection, source: str, stream: str, value: str, now: datetime) -> None:
    """Move the cursor of ``(source, stream)`` to ``value`` in the caller's transaction."""
    stmt = insert(conn, _cursor).values(source=source, stream=stream, value=value, updated_at=now)
    conn.execute(
        stmt.on_conflict_do_update(
            index_elements=[_cursor.c.source, _cursor.c.stream],
            set_={"value": stmt.excluded.value, "updated_at": stmt.excluded.updated_at},
        )
    )


def delete(conn: Connection, source: str, streams: Sequence[str] | None = None) -> int:
    """Forget the cursors of ``source`` (all streams, or the given ones); returns how many.

    A forgotten cursor makes the next pull re-read that stream from the beginning (resync).
    """
    stmt = sa.delete(_cursor).where(_cursor.c.source == source)
    if streams is not None:
        stmt = stmt.where(_cursor.c.stream.in_(streams))
    return conn.execute(stmt).rowcount


def list_all(conn: Connection) -> list[CursorState]:
    """Every cursor, ordered by source and stream (for ``scorebridge status``)."""
    rows = conn.execute(sa.select(_cursor).order_by(_cursor.c.source, _cursor.c.stream))
    return [CursorState(r.source, r.stream, r.value, r.updated_at) for r in rows]


def updated_at(conn: Connection, source: str, stream: str) -> datetime | None:
    """When the cursor of ``(source, stream)`` last moved (None if it never did)."""
    row = conn.execute(
        sa.select(_cursor.c.updated_at).where(
            _cursor.c.source == source, _cursor.c.stream == stream
        )
    ).first()
    return None if row is None else row.updated_at
