"""Dead letters: records and operations that failed permanently (engineering §B.6).

Owns: adding an entry (kind ``record`` for a pulled row that cannot be stored, ``operation`` for
a remote write that keeps failing) with a **redacted** reason, listing, replaying and dropping.
Replaying an operation puts it back in the outbox (attempts reset); replaying a record marks it
for the next pull to fetch again (:func:`records_to_repull`, then :func:`resolve`).
Must not: talk to remote systems or decide when something is dead (the callers do).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from scorebridge.errors import StateError
from scorebridge.redaction import redact
from scorebridge.store import outbox
from scorebridge.store.tables import DeadLetter

_dead = DeadLetter.__table__  # type: ignore[attr-defined]

Kind = Literal["record", "operation"]
RECORD: Kind = "record"
OPERATION: Kind = "operation"
_REASON_LIMIT = 2000


@dataclass(frozen=True)
class DeadLetterEntry:
    """A stored dead letter. ``status`` is ``open``, ``replay`` (record waiting for re-pull) or
    ``resolved``."""

    id: int
    kind: str
    source: str
    record_id: str
    reason: str
    payload: dict[str, Any]
    attempts: int
    created_at: datetime | None
    replay_requested_at: datetime | None
    resolved_at: datetime | None

    @property
    def status(self) -> str:
        """``resolved``, ``replay`` or ``open``."""
        if self.resolved_at is not None:
            return "resolved"
        return "open" if self.replay_requested_at is None else "replay"


def _entry(row: sa.Row[Any]) -> DeadLetterEntry:
    return DeadLetterEntry(
        id=row.id,
        kind=row.kind,
        source=row.source,
        record_id=row.record_id,
        reason=row.reason,
        payload=row.payload,
        attempts=row.attempts,
        created_at=row.created_at,
        replay_requested_at=row.replay_requested_at,
        resolved_at=row.resolved_at,
    )


def add(
    conn: Connection,
    *,
    kind: Kind,
    source: str,
    record_id: str,
    reason: str,
    payload: dict[str, Any],
    now: datetime,
    attempts: int = 0,
) -> int:
    """Record a permanent failure; ``reason`` is redacted and truncated. Returns its id.

    ``source`` is where it came from or was going: ``"mautic.page_hits"`` for a pulled row, the
    system (``"hubspot"``) for an operation. Keep secrets out of ``payload``; it is stored as is.
    The same unresolved (kind, source, record_id) seen again (an overlap window re-reads a bad
    row) updates the existing entry and counts one more attempt instead of adding a duplicate.
    """
    values = {"reason": redact(reason)[:_REASON_LIMIT], "payload": payload}
    existing = conn.execute(
        sa.select(_dead.c.id, _dead.c.attempts).where(
            _dead.c.kind == kind,
            _dead.c.source == source,
            _dead.c.record_id == record_id,
            _dead.c.resolved_at.is_(None),
        )
    ).first()
    if existing is not None:
        conn.execute(
            sa.update(_dead)
            .where(_dead.c.id == existing.id)
            .values(attempts=max(attempts, existing.attempts + 1), **values)
        )
        return int(existing.id)
    result = conn.execute(
        sa.insert(_dead)
        .values(
            kind=kind,
            source=source,
            record_id=record_id,
            attempts=attempts,
            created_at=now,
            **values,
        )
        .returning(_dead.c.id)
    )
    return int(result.scalar_one())


def get(conn: Connection, entry_id: int) -> DeadLetterEntry:
    """One dead letter.

    Raises:
        StateError: no dead letter has that id.
    """
    row = conn.execute(sa.select(_dead).where(_dead.c.id == entry_id)).first()
    if row is None:
        raise StateError(f"no dead letter with id {entry_id}")
    return _entry(row)


def list_entries(
    conn: Connection,
    *,
    include_resolved: bool = False,
    kind: Kind | None = None,
    source: str | None = None,
    limit: int | None = None,
) -> list[DeadLetterEntry]:
    """Dead letters, newest first (unresolved only unless ``include_resolved``)."""
    stmt = sa.select(_dead).order_by(_dead.c.id.desc()).limit(limit)
    if not include_resolved:
        stmt = stmt.where(_dead.c.resolved_at.is_(None))
    if kind is not None:
        stmt = stmt.where(_dead.c.kind == kind)
    if source is not None:
        stmt = stmt.where(_dead.c.source == source)
    return [_entry(r) for r in conn.execute(stmt)]


def count_open(conn: Connection) -> int:
    """How many dead letters are unresolved (a health signal)."""
    stmt = sa.select(sa.func.count()).select_from(_dead).where(_dead.c.resolved_at.is_(None))
    return int(conn.execute(stmt).scalar_one())


def replay(conn: Connection, entry_id: int, *, now: datetime) -> DeadLetterEntry:
    """Retry a dead letter after the cause was fixed; returns it as updated.

    An operation goes back into the outbox as pending (attempts reset) and is resolved; a record
    is marked for re-pull and stays unresolved until the pull stores it.

    Raises:
        StateError: no such dead letter, or it is already resolved.
    """
    entry = get(conn, entry_id)
    if entry.resolved_at is not None:
        raise StateError(f"dead letter {entry_id} is already resolved")
    values: dict[str, Any] = {"replay_requested_at": now}
    if entry.kind == OPERATION:
        outbox.requeue(conn, entry.payload, now=now)
        values["resolved_at"] = now
    conn.execute(sa.update(_dead).where(_dead.c.id == entry_id).values(**values))
    return get(conn, entry_id)


def records_to_repull(conn: Connection, source: str) -> list[DeadLetterEntry]:
    """Records of ``source`` whose replay was requested (for the pull to fetch again)."""
    stmt = (
        sa.select(_dead)
        .where(
            _dead.c.kind == RECORD,
            _dead.c.source == source,
            _dead.c.replay_requested_at.is_not(None),
            _dead.c.resolved_at.is_(None),
        )
        .order_by(_dead.c.id)
    )
    return [_entry(r) for r in conn.execute(stmt)]


def resolve(conn: Connection, entry_id: int, *, now: datetime) -> None:
    """Mark a dead letter resolved (e.g. the re-pulled record was stored)."""
    conn.execute(sa.update(_dead).where(_dead.c.id == entry_id).values(resolved_at=now))


def drop(conn: Connection, entry_id: int) -> None:
    """Delete a dead letter for good (the failure is understood and accepted).

    Raises:
        StateError: no dead letter has that id.
    """
    if conn.execute(sa.delete(_dead).where(_dead.c.id == entry_id)).rowcount == 0:
        raise StateError(f"no dead letter with id {entry_id}")
