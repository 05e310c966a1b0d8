"""Identity: which local contact a CRM record belongs to (DESIGN §4).

The rules, applied inside the caller's transaction:

* A Mautic contact and a CRM record are linked by stored ids (``contact.crm_kind``/``crm_id``).
  Once linked, a record is always found by id: an e-mail change on either side never creates a
  second row or a second link.
* The (normalized) e-mail makes the **first** link only: an unlinked CRM record is linked to the
  Mautic contact without a CRM link whose e-mail equals the record's.
* A CRM record that matches no Mautic contact is kept as a CRM-only row (no ``mautic_id``). When a
  Mautic contact with that e-mail appears later (or the CRM e-mail is corrected to match one), the
  CRM-only row is folded into the Mautic contact: its link, CRM fields, events, outbox rows and
  write/trigger bookkeeping move over and the CRM-only row disappears, so nothing is duplicated.
* Conflicts are resolved deterministically and reported as dead letters (kind ``record``, source
  ``<crm kind>.contacts``), never merged silently: an e-mail shared by several unlinked Mautic
  contacts links the lowest Mautic id only; a CRM id already linked to another Mautic contact is
  not re-linked; a contact already linked to another CRM record keeps its link.

Owns: the link columns, a CRM-only row's e-mail, CRM-only rows (including placeholders for CRM ids
seen only through deals) and folding a CRM-only row into a Mautic contact.
Must not: talk to remote systems, read the clock (except :func:`link_crm_id`'s documented
default), move cursors, or touch Mautic-owned columns (``email`` of a Mautic contact, ``fields``).
"""

from __future__ import annotations

import logging
from collections.abc import Collection, Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any, Literal

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from scorebridge.clock import SystemClock
from scorebridge.errors import StateError
from scorebridge.store import deadletter, digests
from scorebridge.store.engine import insert
from scorebridge.store.tables import Contact, Event, Outbox, Score, TriggerState, Written

log = logging.getLogger(__name__)

_contact = Contact.__table__  # type: ignore[attr-defined]
_event = Event.__table__  # type: ignore[attr-defined]
_outbox = Outbox.__table__  # type: ignore[attr-defined]
_score = Score.__table__  # type: ignore[attr-defined]
_trigger = TriggerState.__table__  # type: ignore[attr-defined]
_written = Written.__table__  # type: ignore[attr-defined]
_CHUNK = 500

LinkOutcome = Literal["linked", "unchanged", "merged", "conflict"]
"""What :func:`link_crm_id` did: a new link, the same link again, a CRM-only row folded into the
contact, or nothing because of a conflict (dead-lettered)."""


@dataclass(frozen=True)
class CrmRecordRef:
    """A CRM record as identity sees it: its id and its normalized e-mail."""

    crm_id: str
    email: str | None


@dataclass
class Resolution:
    """The outcome of :func:`resolve_crm_records`."""

    local_ids: dict[str, int] = field(default_factory=dict)
    """Local contact id per CRM id."""
    linked: set[int] = field(default_factory=set)
    """Contacts that got their CRM link in this call (by e-mail, or by folding a CRM-only row)."""
    created: set[int] = field(default_factory=set)
    """CRM-only rows created in this call."""
    conflicts: int = 0


def source_of(kind: str) -> str:
    """The dead-letter source of identity conflicts for CRM ``kind``."""
    return f"{kind}.contacts"


def resolve_crm_records(
    conn: Connection, kind: str, records: Sequence[CrmRecordRef], now: datetime
) -> Resolution:
    """Find or make the local contact of each CRM record (linking by e-mail the first time).

    A record already linked is found by id; for a CRM-only row its e-mail follows the CRM's, and
    if the new e-mail matches an unlinked Mautic contact the row is folded into it.
    """
    latest = {r.crm_id: r for r in records}
    result = Resolution()
    known = _rows_by_crm_id(conn, kind, list(latest))
    unknown_emails = {r.email for r in latest.values() if r.crm_id not in known and r.email}
    candidates = _unlinked_mautic_by_email(conn, unknown_emails)
    claimed: dict[str, str] = {}
    email_changes: list[dict[str, Any]] = []
    new_rows: list[dict[str, Any]] = []
    for record in latest.values():
        row = known.get(record.crm_id)
        if row is not None:
            result.local_ids[record.crm_id] = row.id
            if row.mautic_id is None and row.email != record.email:
                email_changes.append({"cid": row.id, "email": record.email, "now": now})
            continue
        matches = candidates.pop(record.email, []) if record.email else []
        if matches and record.email:
            chosen = matches[0]
            if len(matches) > 1:
                result.conflicts += 1
                ids = [m for m, _ in matches]
                reason = (
                    f"e-mail {record.email} matches {len(ids)} unlinked Mautic contacts (mautic "
                    f"ids {', '.join(map(str, ids))}); linked the lowest only"
                )
                _report(conn, kind, record.crm_id, now, reason, email=record.email, mautic_ids=ids)
            _set_link(conn, chosen[1], kind, record.crm_id, now)
            claimed[record.email] = record.crm_id
            result.local_ids[record.crm_id] = chosen[1]
            result.linked.add(chosen[1])
            continue
        winner = claimed.get(record.email) if record.email else None
        if winner is not None:
            result.conflicts += 1
            reason = (
                f"e-mail {record.email} was just linked to {kind} record {winner}; record "
                f"{record.crm_id} is kept apart as a CRM-only contact"
            )
            _report(conn, kind, record.crm_id, now, reason, email=record.email, linked=winner)
        new_rows.append(_crm_only_row(kind, record.crm_id, record.email, now))
    if email_changes:
        conn.execute(
            sa.update(_contact)
            .where(_contact.c.id == sa.bindparam("cid"))
            .values(
                email=sa.bindparam("email"),
                updated_at=sa.bindparam("now", type_=_contact.c.updated_at.type),
            ),
            email_changes,
        )
    created = _insert_crm_only(conn, kind, new_rows)
    result.local_ids.update(created)
    result.created.update(created.values())
    changed = {str(c["email"]) for c in email_changes if c["email"]}
    if changed:
        folded = reconcile(conn, kind, now, emails=changed)
        for crm_id, local_id in list(result.local_ids.items()):
            if local_id in folded:
                result.local_ids[crm_id] = folded[local_id]
                result.linked.add(folded[local_id])
    return result


def local_ids_for(
    conn: Connection, kind: str, crm_ids: Iterable[str], now: datetime
) -> dict[str, int]:
    """Local contact id per CRM id; unknown ids get a CRM-only placeholder row (no e-mail yet:
    the contacts stream fills it in, and links it, when it reads the record)."""
    wanted = sorted(set(crm_ids))
    found = {crm_id: row.id for crm_id, row in _rows_by_crm_id(conn, kind, wanted).items()}
    missing = [c for c in wanted if c not in found]
    rows = [{**_crm_only_row(kind, c, None, now), "placeholder": True} for c in missing]
    found.update(_insert_crm_only(conn, kind, rows))
    return found


def reconcile(
    conn: Connection, kind: str, now: datetime, *, emails: Collection[str] | None = None
) -> dict[int, int]:
    """Fold CRM-only rows into the unlinked Mautic contacts with the same e-mail (all of them, or
    those with one of ``emails``). Returns folded CRM-only row id → Mautic contact id.

    Several candidates on either side are resolved by taking the lowest Mautic id and the lowest
    CRM id, and reported as a dead letter.
    """
    mautic, crm = _contact.alias("m"), _contact.alias("c")
    query = (
        sa.select(mautic.c.id, mautic.c.mautic_id, mautic.c.email, crm.c.id.label("crm_row"))
        .add_columns(crm.c.crm_id)
        .join_from(mautic, crm, mautic.c.email == crm.c.email)
        .where(
            mautic.c.mautic_id.is_not(None),
            mautic.c.crm_id.is_(None),
            mautic.c.deleted == sa.false(),
            crm.c.mautic_id.is_(None),
            crm.c.crm_kind == kind,
            crm.c.crm_id.is_not(None),
        )
    )
    pairs: list[Any] = []
    if emails is None:
        pairs = list(conn.execute(query))
    else:
        for chunk in _chunks(sorted(emails)):
            pairs.extend(conn.execute(query.where(mautic.c.email.in_(chunk))))
    by_email: dict[str, tuple[set[tuple[int, int]], set[tuple[str, int]]]] = {}
    for row in pairs:
        sides = by_email.setdefault(row.email, (set(), set()))
        sides[0].add((row.mautic_id, row.id))
        sides[1].add((row.crm_id, row.crm_row))
    folded: dict[int, int] = {}
    for email, (mautic_rows, crm_rows) in sorted(by_email.items()):
        survivor = sorted(mautic_rows)[0]
        crm_sorted = sorted(crm_rows, key=lambda c: (len(c[0]), c[0]))
        crm_id, crm_row = crm_sorted[0]
        if len(mautic_rows) > 1 or len(crm_rows) > 1:
            reason = (
                f"e-mail {email} is shared by {len(mautic_rows)} unlinked Mautic contacts and "
                f"{len(crm_rows)} CRM-only records; linked mautic id {survivor[0]} to {kind} "
                f"record {crm_id} only"
            )
            _report(conn, kind, crm_id, now, reason, email=email)
        fold(conn, survivor=survivor[1], crm_only=crm_row, now=now)
        folded[crm_row] = survivor[1]
    if folded:
        log.info("identity: linked %d CRM-only %s records to Mautic contacts", len(folded), kind)
    return folded


def link_crm_id(
    conn: Connection,
    contact_id: int,
    crm_kind: str,
    crm_id: str,
    *,
    now: datetime | None = None,
) -> LinkOutcome:
    """Record that local contact ``contact_id`` is CRM record ``crm_id`` (e.g. just created there).

    A CRM-only row holding ``crm_id`` (the CRM pull saw the record first) is folded into the
    contact. A conflict (the contact is linked to another record, or ``crm_id`` belongs to another
    Mautic contact) keeps the existing link, is dead-lettered and returns ``"conflict"``.
    ``now`` stamps the rows (default: the system clock).

    Raises:
        StateError: no contact has id ``contact_id``.
    """
    at = now or SystemClock().now()
    row = conn.execute(
        sa.select(
            _contact.c.id, _contact.c.mautic_id, _contact.c.crm_kind, _contact.c.crm_id
        ).where(_contact.c.id == contact_id)
    ).first()
    if row is None:
        raise StateError(f"no contact with id {contact_id} to link to {crm_kind} record {crm_id}")
    if row.crm_id is not None:
        if (row.crm_kind, row.crm_id) == (crm_kind, crm_id):
            return "unchanged"
        reason = (
            f"contact {contact_id} is already linked to {row.crm_kind} record {row.crm_id}; "
            f"record {crm_id} was not linked to it"
        )
        _report(conn, crm_kind, crm_id, at, reason, contact_id=contact_id, linked=row.crm_id)
        return "conflict"
    holder = _rows_by_crm_id(conn, crm_kind, [crm_id]).get(crm_id)
    if holder is None:
        _set_link(conn, contact_id, crm_kind, crm_id, at)
        return "linked"
    if holder.mautic_id is None:
        fold(conn, survivor=contact_id, crm_only=holder.id, now=at)
        return "merged"
    reason = (
        f"{crm_kind} record {crm_id} is already linked to contact {holder.id} (mautic id "
        f"{holder.mautic_id}); contact {contact_id} (mautic id {row.mautic_id}) stays unlinked"
    )
    _report(conn, crm_kind, crm_id, at, reason, contact_id=contact_id, linked=holder.id)
    return "conflict"


def fold(conn: Connection, *, survivor: int, crm_only: int, now: datetime) -> None:
    """Fold CRM-only row ``crm_only`` into contact ``survivor`` (which has no CRM link).

    The link and CRM fields move to the survivor (marked for rescoring); events and outbox rows
    are re-pointed; ``written`` and ``trigger_state`` rows move unless the survivor has its own
    (a trigger keeps the state with the higher episode, so a fired trigger does not fire again);
    the CRM-only row's scores are dropped (the survivor is rescored) and the row is deleted.
    """
    source = conn.execute(
        sa.select(
            _contact.c.crm_kind, _contact.c.crm_id, _contact.c.crm_fields, _contact.c.crm_owner_id
        ).where(_contact.c.id == crm_only)
    ).one()
    conn.execute(
        sa.update(_contact).where(_contact.c.id == crm_only).values(crm_kind=None, crm_id=None)
    )
    conn.execute(
        sa.update(_contact)
        .where(_contact.c.id == survivor)
        .values(
            crm_kind=source.crm_kind,
            crm_id=source.crm_id,
            crm_fields=source.crm_fields,
            crm_owner_id=source.crm_owner_id,
            rescore_needed=True,
            updated_at=now,
        )
    )
    for table in (_event, _outbox):
        conn.execute(
            sa.update(table).where(table.c.contact_id == crm_only).values(contact_id=survivor)
        )
    digests.rebuild(conn, [survivor, crm_only])
    _move_keyed(conn, _written, ("system", "target"), survivor, crm_only, prefer_moved=None)
    _move_keyed(conn, _trigger, ("trigger_id",), survivor, crm_only, prefer_moved="episode")
    conn.execute(sa.delete(_score).where(_score.c.contact_id == crm_only))
    conn.execute(sa.delete(_contact).where(_contact.c.id == crm_only))


def _move_keyed(
    conn: Connection,
    table: sa.Table,
    keys: tuple[str, ...],
    survivor: int,
    moved: int,
    *,
    prefer_moved: str | None,
) -> None:
    """Re-point ``moved``'s rows of a table keyed by (contact_id, *keys) to ``survivor``; where
    the survivor has its own row, keep it unless ``prefer_moved`` names a column in which the
    moved row is greater."""
    own = {
        tuple(r[k] for k in keys): r
        for r in conn.execute(sa.select(table).where(table.c.contact_id == survivor)).mappings()
    }
    rows = list(conn.execute(sa.select(table).where(table.c.contact_id == moved)).mappings())
    conn.execute(sa.delete(table).where(table.c.contact_id == moved))
    for row in rows:
        key = tuple(row[k] for k in keys)
        theirs = own.get(key)
        if theirs is None:
            conn.execute(sa.insert(table).values({**row, "contact_id": survivor}))
        elif prefer_moved is not None and row[prefer_moved] > theirs[prefer_moved]:
            where = [table.c.contact_id == survivor, *(table.c[k] == row[k] for k in keys)]
            conn.execute(
                sa.update(table)
                .where(*where)
                .values({k: v for k, v in row.items() if k not in ("contact_id", *keys)})
            )


def _report(
    conn: Connection, kind: str, crm_id: str, now: datetime, reason: str, **payload: Any
) -> None:
    log.warning("identity conflict on %s record %s: %s", kind, crm_id, reason)
    deadletter.add(
        conn,
        kind="record",
        source=source_of(kind),
        record_id=crm_id,
        reason=reason,
        payload={"crm_id": crm_id, **payload},
        now=now,
    )


def _set_link(conn: Connection, contact_id: int, kind: str, crm_id: str, now: datetime) -> None:
    conn.execute(
        sa.update(_contact)
        .where(_contact.c.id == contact_id)
        .values(crm_kind=kind, crm_id=crm_id, rescore_needed=True, updated_at=now)
    )


def _crm_only_row(kind: str, crm_id: str, email: str | None, now: datetime) -> dict[str, Any]:
    return {
        "crm_kind": kind,
        "crm_id": crm_id,
        "email": email,
        "fields": {},
        "crm_fields": {},
        "placeholder": False,
        "rescore_needed": True,
        "created_at": now,
        "updated_at": now,
    }


def _insert_crm_only(conn: Connection, kind: str, rows: list[dict[str, Any]]) -> dict[str, int]:
    if not rows:
        return {}
    conn.execute(
        insert(conn, _contact).on_conflict_do_nothing(index_elements=["crm_kind", "crm_id"]), rows
    )
    return {c: r.id for c, r in _rows_by_crm_id(conn, kind, [r["crm_id"] for r in rows]).items()}


def _rows_by_crm_id(conn: Connection, kind: str, crm_ids: Sequence[str]) -> dict[str, Any]:
    found: dict[str, Any] = {}
    for chunk in _chunks(crm_ids):
        rows = conn.execute(
            sa.select(
                _contact.c.id, _contact.c.crm_id, _contact.c.mautic_id, _contact.c.email
            ).where(_contact.c.crm_kind == kind, _contact.c.crm_id.in_(chunk))
        )
        found.update({r.crm_id: r for r in rows})
    return found


def _unlinked_mautic_by_email(
    conn: Connection, emails: Collection[str]
) -> dict[str, list[tuple[int, int]]]:
    """E-mail → [(mautic id, local id)] of Mautic contacts without a CRM link, lowest first."""
    found: dict[str, list[tuple[int, int]]] = {}
    for chunk in _chunks(sorted(emails)):
        rows = conn.execute(
            sa.select(_contact.c.email, _contact.c.mautic_id, _contact.c.id).where(
                _contact.c.email.in_(chunk),
                _contact.c.crm_id.is_(None),
                _contact.c.mautic_id.is_not(None),
                _contact.c.deleted == sa.false(),
            )
        )
        for email, mautic_id, local_id in rows:
            found.setdefault(email, []).append((mautic_id, local_id))
    return {email: sorted(rows) for email, rows in found.items()}


def _chunks(items: Sequence[Any]) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), _CHUNK):
        yield items[start : start + _CHUNK]
