"""What ``scorebridge status`` reports: cursors, stored rows per stream, dead letters, outbox
depth and the next operations due (with their next attempt), the lease holder and the last runs
(a run whose process died shows ``interrupted``). Read-only."""

from __future__ import annotations

from datetime import datetime
from typing import Any

import sqlalchemy as sa

from scorebridge.store import cursors, deadletter, outbox
from scorebridge.store.engine import Store
from scorebridge.store.lease import current_lease
from scorebridge.store.runs import recent_runs
from scorebridge.store.tables import Contact, Event

_event = Event.__table__  # type: ignore[attr-defined]
_contact = Contact.__table__  # type: ignore[attr-defined]


def gather_status(store: Store, now: datetime, runs: int = 5) -> dict[str, Any]:
    """A JSON-ready snapshot of the store's state."""
    with store.read() as conn:
        events = {
            f"{source}.{stream}": int(n)
            for source, stream, n in conn.execute(
                sa.select(_event.c.source, _event.c.stream, sa.func.count())
                .group_by(_event.c.source, _event.c.stream)
                .order_by(_event.c.source, _event.c.stream)
            )
        }
        contacts = conn.execute(
            sa.select(
                sa.func.count(),
                sa.func.sum(sa.case((_contact.c.placeholder, 1), else_=0)),
                sa.func.sum(sa.case((_contact.c.rescore_needed, 1), else_=0)),
                sa.func.sum(sa.case((_contact.c.crm_id.is_not(None), 1), else_=0)),
            )
        ).one()
        lease = current_lease(conn)
        return {
            "now": now.isoformat(),
            "contacts": {
                "total": int(contacts[0] or 0),
                "placeholders": int(contacts[1] or 0),
                "awaiting_rescore": int(contacts[2] or 0),
                "linked_to_crm": int(contacts[3] or 0),
            },
            "events": events,
            "cursors": {
                f"{c.source}.{c.stream}": {
                    "value": c.value,
                    "updated_at": c.updated_at.isoformat() if c.updated_at else None,
                }
                for c in cursors.list_all(conn)
            },
            "dead_letters": deadletter.count_open(conn),
            "outbox": outbox.depth(conn),
            "outbox_next": [
                {
                    "id": op.id,
                    "system": op.system,
                    "op": op.op,
                    "contact_id": op.contact_id,
                    "status": op.status,
                    "attempts": op.attempts,
                    "next_attempt_at": op.next_attempt_at.isoformat()
                    if op.next_attempt_at
                    else None,
                    "last_error": op.last_error,
                }
                for op in outbox.waiting(conn, limit=10)
            ],
            "lease": None
            if lease is None
            else {
                "holder": lease.holder,
                "heartbeat_at": lease.heartbeat_at.isoformat() if lease.heartbeat_at else None,
                "expires_at": lease.expires_at.isoformat() if lease.expires_at else None,
                "expired": bool(lease.expires_at and lease.expires_at < now),
            },
            "runs": [
                {
                    "id": r.id,
                    "command": r.command,
                    "started_at": r.started_at.isoformat() if r.started_at else None,
                    "seconds": r.duration_seconds,
                    "outcome": r.shown_outcome(lease, now),
                    "counts": r.counts,
                    "requests": sum(int(v) for v in r.requests.values()) if r.requests else 0,
                    "error": r.error,
                }
                for r in recent_runs(conn, runs)
            ],
        }
