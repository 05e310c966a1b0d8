"""The transactional outbox: remote writes waiting to be sent (DESIGN §6, engineering §B.2).

Owns: enqueueing operations (unique by idempotency key: enqueueing a key again is a no-op),
claiming the due ones for a system, and recording the outcome: ack, retry later, dead letter.
Every function works inside the caller's transaction, so the planner commits the new scores and
their operations together, and the pusher commits acks with the ``written`` rows.

Row life: ``pending`` → (claim) ``in_flight`` → ``done`` | ``pending`` again (retry) | ``dead``.
A claim holds a row for ``hold`` (default 5 min) by moving ``next_attempt_at``; if the process dies
before ack, the row becomes due again after the hold and is resent, which is safe because every
remote write is idempotent.
Must not: talk to remote systems, decide backoff delays or what an operation means.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from scorebridge.logging import redact
from scorebridge.store import deadletter
from scorebridge.store.engine import insert
from scorebridge.store.tables import Contact, Outbox

_outbox = Outbox.__table__  # type: ignore[attr-defined]
_contact = Contact.__table__  # type: ignore[attr-defined]

PENDING = "pending"
IN_FLIGHT = "in_flight"
DONE = "done"
DEAD = "dead"
DEFAULT_HOLD = timedelta(minutes=5)


@dataclass(frozen=True)
class NewOperation:
    """An operation to enqueue. ``idempotency_key`` must identify the intended remote effect."""

    idempotency_key: str
    system: str
    op: str
    payload: dict[str, Any] = field(default_factory=dict)
    contact_id: int | None = None


@dataclass(frozen=True)
class Operation:
    """A stored operation."""

    id: int
    idempotency_key: str
    system: str
    op: str
    payload: dict[str, Any]
    contact_id: int | None
    status: str
    attempts: int
    next_attempt_at: datetime | None
    last_error: str | None


def _operation(row: sa.Row[Any]) -> Operation:
    return Operation(
        id=row.id,
        idempotency_key=row.idempotency_key,
        system=row.system,
        op=row.op,
        payload=row.payload,
        contact_id=row.contact_id,
        status=row.status,
        attempts=row.attempts,
        next_attempt_at=row.next_attempt_at,
        last_error=row.last_error,
    )


def enqueue(conn: Connection, ops: Iterable[NewOperation], *, now: datetime) -> int:
    """Add ``ops`` (due now); keys already in the outbox are skipped. Returns how many were new."""
    rows = [
        {
            "idempotency_key": o.idempotency_key,
            "system": o.system,
            "op": o.op,
            "payload": o.payload,
            "contact_id": o.contact_id,
            "status": PENDING,
            "attempts": 0,
            "next_attempt_at": now,
            "result": {},
            "created_at": now,
        }
        for o in ops
    ]
    if not rows:
        return 0
    stmt = insert(conn, _outbox).on_conflict_do_nothing(index_elements=[_outbox.c.idempotency_key])
    return len(conn.execute(stmt.returning(_outbox.c.id), rows).all())


def claim_due(
    conn: Connection, system: str, limit: int, *, now: datetime, hold: timedelta = DEFAULT_HOLD
) -> list[Operation]:
    """Claim up to ``limit`` due operations of ``system``, oldest first, for ``hold``.

    Due means pending (or in flight with an expired hold) and ``next_attempt_at <= now``.
    """
    due = (
        sa.select(_outbox)
        .where(
            _outbox.c.system == system,
            _outbox.c.status.in_((PENDING, IN_FLIGHT)),
            _outbox.c.next_attempt_at <= now,
        )
        .order_by(_outbox.c.next_attempt_at, _outbox.c.id)
        .limit(limit)
    )
    claimed = [_operation(r) for r in conn.execute(due)]
    if claimed:
        conn.execute(
            sa.update(_outbox)
            .where(_outbox.c.id.in_([o.id for o in claimed]))
            .values(status=IN_FLIGHT, next_attempt_at=now + hold)
        )
    return claimed


def ack(
    conn: Connection,
    ids: Iterable[int],
    *,
    now: datetime,
    results: Mapping[int, Mapping[str, Any]] | None = None,
) -> None:
    """Mark operations done; ``results`` (by id) keeps what the remote answered (e.g. its id)."""
    results = results or {}
    params = [{"op_id": i, "op_result": dict(results.get(i, {}))} for i in ids]
    if params:
        conn.execute(
            sa.update(_outbox)
            .where(_outbox.c.id == sa.bindparam("op_id"))
            .values(status=DONE, done_at=now, last_error=None, result=sa.bindparam("op_result")),
            params,
        )


def retry_later(
    conn: Connection,
    op_id: int,
    error: str,
    next_attempt_at: datetime,
    *,
    count_attempt: bool = True,
) -> int:
    """Put an operation back as pending until ``next_attempt_at`` with a redacted ``error``.

    ``count_attempt=False`` postpones without counting a failure (e.g. the system's daily quota is
    spent). Returns the attempts so far, for the caller's dead-letter threshold.
    """
    attempts = _outbox.c.attempts + 1 if count_attempt else _outbox.c.attempts
    conn.execute(
        sa.update(_outbox)
        .where(_outbox.c.id == op_id)
        .values(
            status=PENDING,
            attempts=attempts,
            next_attempt_at=next_attempt_at,
            last_error=redact(error),
        )
    )
    return int(
        conn.execute(sa.select(_outbox.c.attempts).where(_outbox.c.id == op_id)).scalar_one()
    )


def to_dead_letter(conn: Connection, op_id: int, reason: str, *, now: datetime) -> int:
    """Give up on an operation: mark it dead and add a dead letter that can replay it.

    Returns the dead letter's id.
    """
    row = conn.execute(sa.select(_outbox).where(_outbox.c.id == op_id)).one()
    conn.execute(
        sa.update(_outbox)
        .where(_outbox.c.id == op_id)
        .values(status=DEAD, last_error=redact(reason), done_at=now)
    )
    who = None
    if row.contact_id is not None:
        who = conn.execute(
            sa.select(_contact.c.mautic_id, _contact.c.email).where(_contact.c.id == row.contact_id)
        ).first()
    return deadletter.add(
        conn,
        kind=deadletter.OPERATION,
        source=row.system,
        record_id=row.idempotency_key,
        reason=reason,
        payload={
            "idempotency_key": row.idempotency_key,
            "system": row.system,
            "op": row.op,
            "contact_id": row.contact_id,
            "mautic_id": who.mautic_id if who is not None else None,
            "email": who.email if who is not None else None,
            "payload": row.payload,
        },
        attempts=row.attempts,
        now=now,
    )


def requeue(conn: Connection, operation: Mapping[str, Any], *, now: datetime) -> None:
    """Make an operation (as stored in its dead letter) pending again, attempts reset."""
    values = {
        "system": operation["system"],
        "op": operation["op"],
        "contact_id": operation.get("contact_id"),
        "payload": operation.get("payload", {}),
        "status": PENDING,
        "attempts": 0,
        "next_attempt_at": now,
        "done_at": None,
    }
    stmt = insert(conn, _outbox).values(
        idempotency_key=operation["idempotency_key"], result={}, created_at=now, **values
    )
    conn.execute(
        stmt.on_conflict_do_update(index_elements=[_outbox.c.idempotency_key], set_=values)
    )


def depth(conn: Connection, system: str | None = None) -> dict[str, int]:
    """Operations not yet done or dead, by status (``pending``, ``in_flight``), for one system
    or all."""
    stmt = (
        sa.select(_outbox.c.status, sa.func.count())
        .where(_outbox.c.status.in_((PENDING, IN_FLIGHT)))
        .group_by(_outbox.c.status)
    )
    if system is not None:
        stmt = stmt.where(_outbox.c.system == system)
    counts = {PENDING: 0, IN_FLIGHT: 0}
    counts.update({str(status): int(n) for status, n in conn.execute(stmt)})
    return counts
