"""Manual scoring (``scorebridge adjust``): an event of kind ``manual`` with its reason.

Owns: validating and recording one adjustment (the event, the contact's digest, the rescore
flag). Must not: score (the next rescore does) or read the clock (``now`` comes in).
"""

from __future__ import annotations

import math
import uuid
from datetime import datetime

import sqlalchemy as sa

from scorebridge.store import digests
from scorebridge.store.engine import Store, insert
from scorebridge.store.tables import Contact, Event
from scorebridge.sync.leads import find_contact

_contact = Contact.__table__  # type: ignore[attr-defined]
_event = Event.__table__  # type: ignore[attr-defined]


def adjust(
    store: Store,
    contact: str,
    points: float,
    reason: str,
    group: str | None,
    *,
    now: datetime,
) -> int:
    """Record a manual adjustment of ``contact`` (Mautic id or e-mail); returns the contact id.

    The adjustment is an ``event`` (source ``manual``, stream ``adjust``, kind ``manual``) with
    ``delta``, ``reason`` and ``group`` in its attributes; the contact is flagged for rescoring.
    """
    if not reason.strip():
        raise ValueError("a manual adjustment needs a reason")
    if not math.isfinite(points):
        raise ValueError(f"a manual adjustment needs a finite number of points, got {points}")
    with store.write() as conn:
        contact_id = find_contact(conn, contact).id
        attributes = {"delta": points, "reason": reason, "group": group}
        conn.execute(
            insert(conn, _event).values(
                source="manual",
                stream="adjust",
                external_id=uuid.uuid4().hex,
                contact_id=contact_id,
                kind="manual",
                occurred_at=now,
                attributes=attributes,
            )
        )
        digests.append(conn, [digests.NewEvent(contact_id, now, "manual", attributes)])
        conn.execute(
            sa.update(_contact).where(_contact.c.id == contact_id).values(rescore_needed=True)
        )
    return contact_id
