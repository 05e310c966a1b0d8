"""Reading scores back: one contact by Mautic id or e-mail, the leads table, a contact's explain.

Owns: :func:`find_contact` (the CLI's ``CONTACT`` argument), :func:`leads` (contacts by score,
with band/group filters and each contact's top groups) and :func:`explain_contact` (the pure
engine rerun with the ledger for one contact from its stored events and state).
Must not: write to the store or read the clock.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from scorebridge.bounds import MAX_STORED_ID
from scorebridge.errors import NotFoundError
from scorebridge.scoring.engine import score
from scorebridge.scoring.explain import ActionStatus, Episode, History, StageVisit, top_reasons
from scorebridge.scoring.matchers import CompiledRules
from scorebridge.scoring.model import ScoreResult
from scorebridge.store import outbox
from scorebridge.store.engine import Store
from scorebridge.store.tables import (
    STAGE_SCORE_KEY,
    TOTAL_KEY,
    Contact,
    Outbox,
    Score,
    StageEntry,
    TriggerState,
)
from scorebridge.sync.plan import STATE_OPS
from scorebridge.sync.score import score_everyone
from scorebridge.sync.score_load import load_engine_inputs

_contact = Contact.__table__  # type: ignore[attr-defined]
_score = Score.__table__  # type: ignore[attr-defined]
_entry = StageEntry.__table__  # type: ignore[attr-defined]
_state = TriggerState.__table__  # type: ignore[attr-defined]
_outbox = Outbox.__table__  # type: ignore[attr-defined]


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
) -> tuple[ContactRef, ScoreResult, History]:
    """Rerun the pure engine with the ledger for one contact, from its stored events and state,
    with its stage entries (and what made them) and its trigger episodes' actions."""
    with store.read() as conn:
        contact = find_contact(conn, ref)
        one = load_engine_inputs(conn, [contact.id])[contact.id]
        result = score(one.events, one.facts, rules, as_of, one.prior)
        visits = []
        for entry in conn.execute(
            sa.select(_entry)
            .where(_entry.c.contact_id == contact.id, _entry.c.entered_at <= as_of)
            .order_by(_entry.c.entered_at, _entry.c.stage)
        ):
            then = score(one.events, one.facts, rules, entry.entered_at, one.prior)
            reasons = tuple(top_reasons(then, 3, rules))
            visits.append(StageVisit(entry.stage, entry.entered_at, entry.score, reasons))
        episodes = _episodes(conn, contact.id)
    history = History(contact.mautic_id, contact.email, contact.name, tuple(visits), episodes)
    return contact, result, history


def _episodes(conn: Connection, contact_id: int) -> tuple[Episode, ...]:
    states = {
        r.trigger_id: r
        for r in conn.execute(sa.select(_state).where(_state.c.contact_id == contact_id))
    }
    actions: dict[tuple[str, int], list[tuple[int, ActionStatus, datetime | None]]] = {}
    rows = conn.execute(
        sa.select(_outbox)
        .where(_outbox.c.contact_id == contact_id, _outbox.c.op.not_in(STATE_OPS))
        .order_by(_outbox.c.id)
    )
    for row in rows:
        parts = row.idempotency_key.split(":")
        if len(parts) < 3 or not parts[2].isdigit() or parts[0] not in states:
            continue  # a manual-adjustment note or another op without a trigger
        status = _action_status(row)
        actions.setdefault((parts[0], int(parts[2])), []).append((row.id, status, row.created_at))
    episodes: list[Episode] = []
    for trigger_id, state in sorted(states.items()):
        for n in range(1, state.episode + 1):
            found = actions.get((trigger_id, n), [])
            silenced = bool(state.silenced) and not found
            fired_at = min((at for _, _, at in found if at is not None), default=None)
            if fired_at is None and n == state.episode:
                fired_at = state.fired_at
            episodes.append(
                Episode(trigger_id, n, fired_at, silenced, tuple(a for _, a, _ in found))
            )
    return tuple(episodes)


def _action_status(row: Any) -> ActionStatus:
    result = row.result or {}
    if row.status == outbox.DONE:
        if "skipped" in result:
            return ActionStatus(row.op, "skipped", f"switched off: {result['skipped']}")
        ids = [f"{k} {v}" for k, v in result.items() if k.endswith("_id") and v]
        return ActionStatus(row.op, "sent", ", ".join(ids))
    if row.status == outbox.DEAD:
        return ActionStatus(row.op, "dead-lettered", row.last_error or "")
    return ActionStatus(row.op, "pending", row.last_error or "")


def leads_at(
    store: Store,
    rules: CompiledRules,
    as_of: datetime,
    *,
    band: str | None = None,
    group: str | None = None,
    limit: int = 20,
) -> list[Lead]:
    """:func:`leads` with everyone scored at ``as_of`` (nothing saved): what the table would be
    at that instant under the current rules."""
    ranked: list[tuple[int, float, int, Lead]] = []
    column = rules.groups.index(group) if group else None
    stages = [s.key for s in rules.stages]
    for batch, result in score_everyone(store, rules, as_of):
        for row in range(len(batch.contact_ids)):
            if band and result.band[row] != band:
                continue
            key = (
                int(result.total_value[row])
                if column is None
                else int(result.group_values[row, column])
            )
            if column is not None and key <= 0:
                continue
            groups = {
                g: int(result.group_values[row, j])
                for j, g in enumerate(rules.groups)
                if result.group_values[row, j]
            }
            stage = int(result.stage[row])
            lead = Lead(
                contact_id=int(batch.contact_ids[row]),
                mautic_id=None,
                email=None,
                name="",
                total=int(result.total_value[row]),
                band=result.band[row],
                stage=stages[stage] if stage >= 0 else None,
                groups=dict(sorted(groups.items(), key=lambda kv: (-kv[1], kv[0]))),
                last_activity_at=None,
                stage_score=int(result.stage_score_value[row]),
            )
            exact = (
                float(result.total[row]) if column is None else float(result.groups[row, column])
            )
            ranked.append((-key, -exact, lead.contact_id, lead))
            if len(ranked) > 4 * limit:
                ranked = sorted(ranked)[:limit]
    top = [lead for *_, lead in sorted(ranked)[:limit]]
    with store.read() as conn:
        rows = {
            r.id: r
            for r in conn.execute(
                sa.select(
                    _contact.c.id,
                    _contact.c.mautic_id,
                    _contact.c.email,
                    _contact.c.fields,
                    _contact.c.last_activity_at,
                ).where(_contact.c.id.in_([lead.contact_id for lead in top]))
            )
        }
    return [
        replace(
            lead,
            mautic_id=rows[lead.contact_id].mautic_id,
            email=rows[lead.contact_id].email,
            name=_name(rows[lead.contact_id].fields),
            last_activity_at=rows[lead.contact_id].last_activity_at,
        )
        for lead in top
        if lead.contact_id in rows
    ]
