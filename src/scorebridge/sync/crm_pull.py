"""The CRM half of the pull: owners, contacts changed since the cursor, closed deals (DESIGN §4).

Streams, each with one cursor per (CRM kind, stream) in the cursor table:

* ``owners`` — the whole owner list, stored as JSON in the cursor row (the push maps a contact's
  owner to a CRM owner id through :func:`stored_owners`);
* ``contacts`` — records changed since ``cursor - overlap``, linked to local contacts by
  :mod:`scorebridge.sync.identity`; their CRM fields (what fit rules read as ``crm.<name>``) and
  owner are stored, and a contact is marked for rescoring only when those changed (properties
  scorebridge writes itself are ignored, so our own writes do not echo back as changes);
* ``deals`` — closed deals changed since ``cursor - overlap`` become one event per associated
  contact (``crm.deal.won`` / ``crm.deal.lost``, unique by deal and contact, updated in place when
  the outcome changes), the material of backtesting and ``crm.*`` rules.

Every page is stored with its cursor in one transaction; a cursor never moves past the cycle's
start nor backwards, and re-read overlaps change nothing.
Owns: the CRM streams and their cursors. Must not: score, plan, write to the CRM, or decide who is
who (that is :mod:`scorebridge.sync.identity`).
"""

from __future__ import annotations

import json
import logging
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from dataclasses import asdict, dataclass, field
from datetime import datetime, timedelta
from typing import Any, TypeVar

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from scorebridge.clock import Clock
from scorebridge.crashpoints import crash_point
from scorebridge.crm.base import ClosedDeal, CrmAdapter, CrmContact, Owner, Page
from scorebridge.progress import track
from scorebridge.store import cursors, digests
from scorebridge.store.engine import Store, insert
from scorebridge.store.tables import Contact, Event
from scorebridge.sync import identity
from scorebridge.sync.cursor_guard import clamp_future_cursors
from scorebridge.sync.pull import normalize_email

log = logging.getLogger(__name__)

OWNERS, CONTACTS, DEALS = "owners", "contacts", "deals"
WON, LOST = "crm.deal.won", "crm.deal.lost"
#: CRM contact properties never stored as fit fields (the e-mail is identity, not a fit field).
_NOT_FIT = frozenset({"email"})

T = TypeVar("T")

_contact = Contact.__table__  # type: ignore[attr-defined]
_event = Event.__table__  # type: ignore[attr-defined]


@dataclass
class CrmStreamReport:
    """What one CRM stream did in one pull."""

    pages: int = 0
    rows: int = 0
    changed: int = 0
    """Contacts marked for rescoring (contacts) or new/changed deal events (deals)."""
    linked: int = 0
    created: int = 0
    conflicts: int = 0


@dataclass
class CrmPullReport:
    """What one CRM pull did."""

    kind: str
    started_at: datetime
    owners: int = 0
    reconciled: int = 0
    streams: dict[str, CrmStreamReport] = field(default_factory=dict)

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "kind": self.kind,
            "started_at": self.started_at.isoformat(),
            "owners": self.owners,
            "reconciled": self.reconciled,
            "streams": {name: asdict(s) for name, s in self.streams.items()},
        }


def pull_crm(
    store: Store,
    adapter: CrmAdapter,
    clock: Clock,
    *,
    kind: str,
    overlap: timedelta,
    ignore_properties: Collection[str] = (),
    should_stop: Callable[[], bool] | None = None,
    lag: timedelta | None = None,
) -> CrmPullReport:
    """Pull owners, changed contacts and closed deals of the CRM ``kind`` into the store.

    With ``lag``, each read starts where the last one ended (so an idle cycle right after a
    large write-back reads one page), and a cursor never passes ``lag`` before the pull
    started: what changed that recently may not be in the CRM's search yet and is read again.
    Without it, each read starts ``overlap`` before the cursor.

    ``ignore_properties`` names the CRM properties scorebridge writes itself (score, band, group
    scores, stage): they are not stored as fit fields and never mark a contact for rescoring.
    ``should_stop()`` is asked between pages. CRM errors propagate; what was committed stays.
    """
    started = clock.now()
    report = CrmPullReport(kind, started)
    back, cap = (overlap, started) if lag is None else (timedelta(0), started - lag)
    ignore = frozenset(ignore_properties) | _NOT_FIT
    with store.write() as conn:
        clamp_future_cursors(conn, kind, started)
        report.reconciled = len(identity.reconcile(conn, kind, started))
    owners = adapter.owners()
    with store.write() as conn:
        save_owners(conn, kind, owners, clock.now())
    report.owners = len(owners)

    contacts = report.streams.setdefault(CONTACTS, CrmStreamReport())
    pages = adapter.contacts_changed_since(_since(store, kind, CONTACTS, back))

    def store_contacts(conn: Connection, items: Sequence[CrmContact], now: datetime) -> None:
        _store_contacts(conn, kind, items, ignore, now, contacts)

    if not _drain(
        store, clock, cap, (kind, CONTACTS), pages, store_contacts, contacts, should_stop
    ):
        return report
    deals = report.streams.setdefault(DEALS, CrmStreamReport())
    pages_of_deals = adapter.closed_deals_since(_since(store, kind, DEALS, back))

    def store_deals(conn: Connection, items: Sequence[ClosedDeal], now: datetime) -> None:
        _store_deals(conn, kind, items, now, deals)

    _drain(store, clock, cap, (kind, DEALS), pages_of_deals, store_deals, deals, should_stop)
    return report


def _drain(
    store: Store,
    clock: Clock,
    cap: datetime,
    bookmark: tuple[str, str],
    pages: Iterable[Page[T]],
    store_items: Callable[[Connection, Sequence[T], datetime], None],
    stats: CrmStreamReport,
    should_stop: Callable[[], bool] | None,
) -> bool:
    """Store every page with the cursor ``bookmark`` = (kind, stream) in one transaction (the
    cursor never passes ``cap``); ``False`` when told to stop."""
    kind, stream = bookmark
    with track(f"pull {kind} {stream}") as bar:
        for page in pages:
            with store.write() as conn:
                store_items(conn, page.items, clock.now())
                crash_point("crm_pull.inside_page_transaction")
                _move_cursor(conn, kind, stream, page.cursor, cap, clock.now())
            stats.pages += 1
            bar.advance(len(page.items))
            crash_point("crm_pull.after_page_commit")
            if should_stop is not None and should_stop():
                return False
    return True


# -- owners ------------------------------------------------------------------------------------


def save_owners(conn: Connection, kind: str, owners: Sequence[Owner], now: datetime) -> None:
    """Keep the CRM's owner list (JSON in the ``(kind, "owners")`` cursor row)."""
    value = json.dumps([asdict(o) for o in sorted(owners, key=lambda o: o.id)], sort_keys=True)
    cursors.set(conn, kind, OWNERS, value, now)


def stored_owners(conn: Connection, kind: str) -> list[Owner]:
    """The owners of CRM ``kind`` as of the last pull (empty before the first)."""
    raw = cursors.get(conn, kind, OWNERS)
    return [Owner(**item) for item in json.loads(raw)] if raw else []


def owner_ids_by_email(conn: Connection, kind: str) -> dict[str, str]:
    """Active CRM owner id per lower-cased owner e-mail (to map a Mautic owner to the CRM)."""
    return {
        email: owner.id
        for owner in stored_owners(conn, kind)
        if owner.active and (email := normalize_email(owner.email))
    }


# -- cursors -----------------------------------------------------------------------------------


def _since(store: Store, kind: str, stream: str, overlap: timedelta) -> datetime | None:
    with store.read() as conn:
        stored = _cursor_time(conn, kind, stream)
    return None if stored is None else stored - overlap


def _cursor_time(conn: Connection, kind: str, stream: str) -> datetime | None:
    raw = cursors.get(conn, kind, stream)
    return datetime.fromisoformat(json.loads(raw)["since"]) if raw else None


def _move_cursor(
    conn: Connection, kind: str, stream: str, seen: datetime, started: datetime, now: datetime
) -> None:
    """Move to the page's high-water mark, never past the cycle start and never backwards."""
    target = min(seen, started)
    previous = _cursor_time(conn, kind, stream)
    if previous is not None and previous >= target:
        return
    cursors.set(conn, kind, stream, json.dumps({"since": target.isoformat()}), now)


# -- contacts ----------------------------------------------------------------------------------


def crm_fields_of(contact: CrmContact, ignore: Collection[str]) -> dict[str, str]:
    """The fit fields of a CRM contact: its properties by logical name plus ``lifecycle`` and
    ``owner_id``, without the ignored (scorebridge-written) ones."""
    values = dict(contact.properties)
    if contact.lifecycle:
        values["lifecycle"] = contact.lifecycle
    if contact.owner_id:
        values["owner_id"] = contact.owner_id
    return {k: v for k, v in sorted(values.items()) if k not in ignore}


def _store_contacts(
    conn: Connection,
    kind: str,
    contacts: Sequence[CrmContact],
    ignore: Collection[str],
    now: datetime,
    stats: CrmStreamReport,
) -> None:
    refs = [identity.CrmRecordRef(c.id, normalize_email(c.email)) for c in contacts]
    resolved = identity.resolve_crm_records(conn, kind, refs, now)
    stats.rows += len(contacts)
    stats.linked += len(resolved.linked)
    stats.created += len(resolved.created)
    stats.conflicts += resolved.conflicts
    ids = resolved.local_ids
    current = {
        row.id: row
        for chunk in _chunks(sorted(set(ids.values())))
        for row in conn.execute(
            sa.select(
                _contact.c.id,
                _contact.c.crm_fields,
                _contact.c.crm_owner_id,
                _contact.c.placeholder,
            ).where(_contact.c.id.in_(chunk))
        )
    }
    updates = []
    for contact in {c.id: c for c in contacts}.values():
        local_id = ids[contact.id]
        before = current[local_id]
        fields = crm_fields_of(contact, ignore)
        dirty = (
            local_id in resolved.linked
            or local_id in resolved.created
            or before.placeholder
            or before.crm_fields != fields
            or before.crm_owner_id != contact.owner_id
        )
        updates.append(
            {
                "cid": local_id,
                "crm_fields": fields,
                "owner": contact.owner_id,
                "dirty": dirty,
                "now": now,
            }
        )
    stats.changed += sum(1 for u in updates if u["dirty"])
    if updates:
        conn.execute(
            sa.update(_contact)
            .where(_contact.c.id == sa.bindparam("cid"))
            .values(
                crm_fields=sa.bindparam("crm_fields", type_=sa.JSON),
                crm_owner_id=sa.bindparam("owner"),
                placeholder=sa.case(
                    (_contact.c.mautic_id.is_(None), sa.false()), else_=_contact.c.placeholder
                ),
                rescore_needed=sa.or_(_contact.c.rescore_needed, sa.bindparam("dirty")),
                updated_at=sa.bindparam("now", type_=_contact.c.updated_at.type),
            ),
            updates,
        )


# -- deals -------------------------------------------------------------------------------------


def _deal_events(
    kind: str, deals: Sequence[ClosedDeal], local_ids: Mapping[str, int]
) -> dict[str, dict[str, Any]]:
    """One event per (deal, associated contact), by external id."""
    rows: dict[str, dict[str, Any]] = {}
    for deal in deals:
        for crm_contact in deal.contact_ids:
            external_id = f"{deal.id}:{crm_contact}"
            rows[external_id] = {
                "source": kind,
                "stream": DEALS,
                "external_id": external_id,
                "contact_id": local_ids[crm_contact],
                "kind": WON if deal.won else LOST,
                "occurred_at": deal.closed_at or deal.updated_at,
                "attributes": {
                    "deal_id": deal.id,
                    "amount": deal.amount,
                    "crm_contact_id": crm_contact,
                },
            }
    return rows


def _store_deals(
    conn: Connection, kind: str, deals: Sequence[ClosedDeal], now: datetime, stats: CrmStreamReport
) -> None:
    stats.rows += len(deals)
    local_ids = identity.local_ids_for(conn, kind, (c for d in deals for c in d.contact_ids), now)
    rows = _deal_events(kind, deals, local_ids)
    existing = {
        row.external_id: row
        for chunk in _chunks(sorted(rows))
        for row in conn.execute(
            sa.select(
                _event.c.external_id, _event.c.kind, _event.c.occurred_at, _event.c.attributes
            ).where(
                _event.c.source == kind, _event.c.stream == DEALS, _event.c.external_id.in_(chunk)
            )
        )
    }
    fresh = [r for key, r in rows.items() if key not in existing]
    changed = [
        r
        for key, r in rows.items()
        if key in existing
        and (existing[key].kind, existing[key].occurred_at, existing[key].attributes)
        != (r["kind"], r["occurred_at"], r["attributes"])
    ]
    if fresh:
        conn.execute(
            insert(conn, _event).on_conflict_do_nothing(
                index_elements=["source", "stream", "external_id"]
            ),
            fresh,
        )
    if changed:
        conn.execute(
            sa.update(_event)
            .where(
                _event.c.source == kind,
                _event.c.stream == DEALS,
                _event.c.external_id == sa.bindparam("key"),
            )
            .values(
                kind=sa.bindparam("new_kind"),
                occurred_at=sa.bindparam("at", type_=_event.c.occurred_at.type),
                attributes=sa.bindparam("attrs", type_=sa.JSON),
            ),
            [
                {
                    "key": r["external_id"],
                    "new_kind": r["kind"],
                    "at": r["occurred_at"],
                    "attrs": r["attributes"],
                }
                for r in changed
            ],
        )
    digests.append(
        conn,
        [
            digests.NewEvent(r["contact_id"], r["occurred_at"], r["kind"], r["attributes"])
            for r in fresh
        ],
    )
    digests.rebuild(conn, (r["contact_id"] for r in changed))
    touched = sorted({r["contact_id"] for r in (*fresh, *changed)})
    for chunk in _chunks(touched):
        conn.execute(
            sa.update(_contact)
            .where(_contact.c.id.in_(chunk))
            .values(rescore_needed=True, updated_at=now)
        )
    stats.changed += len(fresh) + len(changed)


def _chunks(items: Sequence[Any], size: int = 500) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
