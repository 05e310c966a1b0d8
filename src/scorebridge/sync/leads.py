"""Reading scores back: one contact by Mautic id or e-mail, the leads table, a contact's explain.

Owns: :func:`find_contact` (the CLI's ``CONTACT`` argument), :func:`leads` (contacts by score,
with band/group filters and each contact's top groups) and :func:`explain_contact` (the pure
engine rerun with the ledger for one contact from its stored events and state).
Must not: write to the store or read the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from scorebridge.bounds import MAX_STORED_ID
from scorebridge.errors import NotFoundError
from scorebridge.scoring.engine import score
from scorebridge.scoring.matchers import CompiledRules
from scorebridge.scoring.model import ScoreResult
from scorebridge.store.engine import Store
from scorebridge.store.tables import STAGE_SCORE_KEY, TOTAL_KEY, Contact, Score
from scorebridge.sync.score_load import load_engine_inputs

_contact = Contact.__table__  # type: ignore[attr-defined]
_score = Score.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class ContactRef:
    """The identity of one stored contact."""

    id: int
    mautic_id: int | None
    email: str | None
    name: str


def _name(fields: dict[str, Any] | None) -> str:
    fields = fields or {}
    parts = [str(fields.get(k) or "").strip() for k in ("firstname", "lastname")]
    return " ".join(p for p in parts if p)


def find_contact(conn: Connection, ref: str) -> ContactRef:
    """The contact named by a Mautic id (digits) or an e-mail address.

    Raises:
        NotFoundError: no live contact has that id or e-mail (the message says what to try).
    """
    text = ref.strip()
    if text.isascii() and text.isdigit():
        if not 0 < int(text) <= MAX_STORED_ID:
            raise NotFoundError(f"no contact {ref!r}: Mautic ids run from 1 to {MAX_STORED_ID}")
        where = _contact.c.mautic_id == int(text)
    elif "@" in text:
        where = _contact.c.email == text.casefold()
    else:
        raise NotFoundError(
            f"{ref!r} is neither a Mautic contact id nor an e-mail address; "
            "give the id shown in Mautic (digits) or the contact's e-mail"
        )
    row = conn.execute(
        sa.select(_contact.c.id, _contact.c.mautic_id, _contact.c.email, _contact.c.fields)
        .where(where, _contact.c.deleted.is_(False))
        .order_by(_contact.c.id)
        .limit(1)
    ).first()
    if row is None:
        raise NotFoundError(
            f"no contact {ref!r} in the store; run `scorebridge pull` (or `scorebridge sync`) to "
            "fetch it from Mautic, or check the id/e-mail with `scorebridge leads`"
        )
    return ContactRef(row.id, row.mautic_id, row.email, _name(row.fields))


@dataclass(frozen=True)
class Lead:
    """One line of the leads table."""

    contact_id: int
    mautic_id: int | None
    email: str | None
    name: str
    total: int
    band: str | None
    stage: str | None
    groups: dict[str, int]
    last_activity_at: datetime | None
    stage_score: int | None = None
    """The score since the entry into a ``reset_score`` stage (the total elsewhere)."""

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready form."""
        last = self.last_activity_at
        return {
            "contact_id": self.contact_id,
            "mautic_id": self.mautic_id,
            "email": self.email,
            "name": self.name,
            "total": self.total,
            "band": self.band,
            "stage": self.stage,
            "stage_score": self.total if self.stage_score is None else self.stage_score,
            "groups": self.groups,
            "last_activity_at": None if last is None else last.isoformat(),
        }


def leads(
    store: Store, *, band: str | None = None, group: str | None = None, limit: int = 20
) -> list[Lead]:
    """Contacts by total score (or by ``group``'s score), highest first, with their top groups."""
    total = _score.alias("total")
    key = _score.alias("ranked") if group else total
    query = (
        sa.select(
            _contact.c.id,
            _contact.c.mautic_id,
            _contact.c.email,
            _contact.c.fields,
            _contact.c.stage,
            _contact.c.last_activity_at,
            total.c.value,
            total.c.band,
        )
        .join(total, sa.and_(total.c.contact_id == _contact.c.id, total.c.group_key == TOTAL_KEY))
        .where(_contact.c.deleted.is_(False))
    )
    if group:
        query = query.join(
            key, sa.and_(key.c.contact_id == _contact.c.id, key.c.group_key == group)
        ).where(key.c.value > 0)
    if band:
        query = query.where(total.c.band == band)
    query = query.order_by(key.c.value.desc(), key.c.exact.desc(), _contact.c.id).limit(limit)
    with store.read() as conn:
        rows = conn.execute(query).all()
        ids = [r.id for r in rows]
        groups: dict[int, dict[str, int]] = {i: {} for i in ids}
        staged: dict[int, int] = {}
        if ids:
            for cid, gkey, value in conn.execute(
                sa.select(_score.c.contact_id, _score.c.group_key, _score.c.value).where(
                    _score.c.contact_id.in_(ids), _score.c.group_key != TOTAL_KEY
                )
            ):
                if gkey == STAGE_SCORE_KEY:
                    staged[cid] = value
                elif value != 0:
                    groups[cid][gkey] = value
    return [
        Lead(
            contact_id=r.id,
            mautic_id=r.mautic_id,
            email=r.email,
            name=_name(r.fields),
            total=r.value,
            band=r.band,
            stage=r.stage,
            groups=dict(sorted(groups[r.id].items(), key=lambda kv: (-kv[1], kv[0]))),
            last_activity_at=r.last_activity_at,
            stage_score=staged.get(r.id),
        )
        for r in rows
    ]


def explain_contact(
    store: Store, rules: CompiledRules, ref: str, as_of: datetime
) -> tuple[ContactRef, ScoreResult]:
    """Rerun the pure engine with the ledger for one contact, from its stored events and state."""
    with store.read() as conn:
        contact = find_contact(conn, ref)
        one = load_engine_inputs(conn, [contact.id])[contact.id]
    return contact, score(one.events, one.facts, rules, as_of, one.prior)
