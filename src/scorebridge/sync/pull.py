"""The pull half of a cycle: read each enabled Mautic stream from its cursor and store every page
together with its cursor in one transaction (DESIGN §4).

Owns: linking Mautic ids to local contacts (placeholders for contacts not seen yet), contact
upserts, event inserts (unique by source/stream/external id, so overlap re-reads are free),
marking contacts whose events or fields changed for rescoring, dead-lettering rows that cannot be
understood, and the cursor moves. Must not: score, plan or write to any remote.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from scorebridge.clock import Clock
from scorebridge.crashpoints import crash_point
from scorebridge.mautic.contacts_stream import ContactSource, read_contacts
from scorebridge.mautic.schemas import MauticContact
from scorebridge.mautic.streams import (
    ALL_STREAMS,
    CONTACTS,
    GROUP_SET,
    ID_STREAMS,
    TIME_STREAMS,
    Page,
    PulledEvent,
    Reject,
    StatsSource,
    map_rows,
    read_id_stream,
    read_time_stream,
)
from scorebridge.progress import track
from scorebridge.store import cursors, deadletter, digests, runs
from scorebridge.store.engine import Store, insert
from scorebridge.store.tables import Contact, Event
from scorebridge.sync.cursor_guard import clamp_future_cursors

log = logging.getLogger(__name__)

SOURCE = "mautic"
EPOCH = datetime(1970, 1, 1, tzinfo=UTC)
#: Event kinds that are history only: stored, but no reason to rescore (scorebridge's own stage
#: writes come back as stage-log rows, its group-score sets as point-log rows).
PASSIVE_KINDS = frozenset({"mautic.stage", GROUP_SET})
#: Event kinds that count as the lead being active (for inactivity rules).
ACTIVE_KINDS = frozenset({"page.hit", "email.open", "email.click", "form.submit", "asset.download"})

_contact = Contact.__table__  # type: ignore[attr-defined]
_event = Event.__table__  # type: ignore[attr-defined]


class MauticSource(StatsSource, ContactSource, Protocol):
    """What the pull needs from the Mautic client: the streams' reads plus these."""

    def get_contact(self, contact_id: int) -> MauticContact:
        """One contact."""
        ...

    def list_point_groups(self) -> Sequence[Any]:
        """Mautic's point groups (``id``, ``name``)."""
        ...


GROUP_NAMES = "point_groups"
"""The cursor row (``mautic``, this) that keeps Mautic's point-group names by id."""


class PointGroupNames(Mapping[int, str]):
    """Mautic's point-group names by id, kept in the store: Mautic is asked (at most once per
    pull) only when the point log names a group not known yet, so a cycle reading group rows
    of known groups (the echo of scorebridge's own sets) sends no extra request."""

    def __init__(self, source: MauticSource, store: Store, clock: Clock) -> None:
        self._source = source
        self._store = store
        self._clock = clock
        with store.read() as conn:
            stored = cursors.get(conn, SOURCE, GROUP_NAMES)
        self._names = {int(k): str(v) for k, v in json.loads(stored or "{}").items()}
        self._listed = False

    def _list(self) -> None:
        self._listed = True
        self._names = {g.id: g.name for g in self._source.list_point_groups()}
        with self._store.write() as conn:
            cursors.set(conn, SOURCE, GROUP_NAMES, json.dumps(self._names), self._clock.now())

    def __getitem__(self, group_id: int) -> str:
        if group_id not in self._names and not self._listed:
            self._list()
        return self._names[group_id]

    def __iter__(self) -> Iterator[int]:
        if not self._listed:
            self._list()
        return iter(self._names)

    def __len__(self) -> int:
        if not self._listed:
            self._list()
        return len(self._names)


@dataclass(frozen=True)
class PullOptions:
    """How to pull (from ``[pull]`` and ``[mautic]`` of the configuration)."""

    streams: Sequence[str] = ALL_STREAMS
    overlap: timedelta = timedelta(minutes=10)
    settle: timedelta = timedelta(minutes=2)
    commit_lag: timedelta = timedelta(seconds=10)
    backfill_days: int = 90
    contacts_page_size: int = 200
    stats_page_size: int = 1000
    ignore_fields: frozenset[str] = frozenset()  # aliases scorebridge writes itself (echoes)


@dataclass
class StreamReport:
    """What one stream did in one pull."""

    pages: int = 0
    rows: int = 0
    new_events: int = 0
    contacts: int = 0
    rejects: int = 0


@dataclass
class PullReport:
    """What a pull did, per stream."""

    started_at: datetime
    streams: dict[str, StreamReport] = field(default_factory=dict)

    def total(self, name: str) -> int:
        """Sum of one counter over the streams."""
        return sum(getattr(s, name) for s in self.streams.values())

    def as_dict(self) -> dict[str, Any]:
        """A JSON-ready summary."""
        return {
            "started_at": self.started_at.isoformat(),
            "streams": {k: vars(v) for k, v in self.streams.items()},
            "new_events": self.total("new_events"),
            "contacts": self.total("contacts"),
            "rejects": self.total("rejects"),
        }


def normalize_email(email: str | None) -> str | None:
    """Lower-cased, trimmed e-mail, or ``None`` when blank."""
    cleaned = (email or "").strip().lower()
    return cleaned or None


class Puller:
    """Runs the pull for every enabled stream; one instance per cycle or command."""

    def __init__(
        self, store: Store, source: MauticSource, clock: Clock, options: PullOptions
    ) -> None:
        self.store = store
        self.source = source
        self.clock = clock
        self.options = options

    def pull(self, should_stop: Any = None) -> PullReport:
        """Pull every enabled stream to its end (or until ``should_stop()`` between pages)."""
        self.let_echoes_settle(should_stop)
        started = self.clock.now()
        report = PullReport(started)
        with self.store.write() as conn:
            clamp_future_cursors(conn, SOURCE, started)
        groups = PointGroupNames(self.source, self.store, self.clock)
        self.replay_dead_letters(report, groups)
        for name in self.options.streams:
            stats = report.streams.setdefault(name, StreamReport())
            with track(f"pull mautic {name}") as bar:
                for page in self._pages(name, started, groups):
                    if bar.done == 0 and page.total is not None:
                        bar.total(page.total)  # rows after the cursor when the read began
                    self.store_page(page, stats)
                    bar.advance(page.rows)
                    crash_point("pull.after_page_commit")
                    if should_stop is not None and should_stop():
                        return report
        return report

    def let_echoes_settle(self, should_stop: Any = None) -> None:
        """Right after a cycle that wrote (it finished less than ``commit_lag`` ago), wait out
        the rest of the lag: the echo of those writes is then older than this read's commit lag
        and is passed by it, instead of being read again by the next cycle. Cycles an interval
        apart never wait."""
        with self.store.read() as conn:
            last = next(
                (r for r in runs.recent_runs(conn, 3, "cycle") if r.finished_at is not None), None
            )
        if last is None or last.finished_at is None:
            return
        systems = last.counts.get("steps", {}).get("push", {}).get("systems", {})
        if not any(s.get("ok") for s in systems.values()):
            return
        left = (last.finished_at + self.options.commit_lag - self.clock.now()).total_seconds()
        while left > 0 and not (should_stop is not None and should_stop()):
            step = min(1.0, left)
            self.clock.sleep(step)
            left -= step

    def replay_dead_letters(self, report: PullReport, groups: Mapping[int, str]) -> None:
        """Fetch again each record an operator asked to replay (``deadletter replay``); one
        that now parses is stored and resolved, one that still fails stays dead-lettered."""
        for name in self.options.streams:
            with self.store.read() as conn:
                entries = deadletter.records_to_repull(conn, f"{SOURCE}.{name}")
            if not entries:
                continue
            stats = report.streams.setdefault(name, StreamReport())
            for entry in entries:
                page = self._fetch_one(name, entry.record_id, groups)
                self.store_page(page, stats, keep_cursor=True)
                if not page.rejects:
                    with self.store.write() as conn:
                        deadletter.resolve(conn, entry.id, now=self.clock.now())

    def _fetch_one(self, name: str, record_id: str, groups: Mapping[int, str]) -> Page:
        if name == CONTACTS:
            return Page(name, "", [], [self.source.get_contact(int(record_id))], [], 1)
        stream = ID_STREAMS.get(name) or TIME_STREAMS[name]
        rows = self.source.stats(
            stream.table, where=[{"col": "id", "expr": "eq", "val": record_id}], limit=1
        ).rows
        events, rejects = map_rows(name, rows, stream.mapper, groups)
        return Page(name, "", events, [], rejects, len(rows))

    def _pages(self, name: str, started: datetime, groups: Mapping[int, str]) -> Iterator[Page]:
        opts = self.options
        with self.store.read() as conn:
            cursor = cursors.get(conn, SOURCE, name)
        if name == CONTACTS:
            # Contacts are the identity base and fit scoring reads their fields: the first
            # pull reads all of them, however old.
            return read_contacts(
                self.source,
                cursor,
                cycle_start=started,
                commit_lag=opts.commit_lag,
                backfill_from=EPOCH,
                page_size=opts.contacts_page_size,
                overlap=opts.overlap,
            )
        if name in TIME_STREAMS:
            return read_time_stream(
                self.source,
                TIME_STREAMS[name],
                cursor,
                cycle_start=started,
                overlap=opts.overlap,
                backfill_from=started - timedelta(days=opts.backfill_days),
                page_size=opts.stats_page_size,
            )
        if name in ID_STREAMS:
            return read_id_stream(
                self.source,
                ID_STREAMS[name],
                cursor,
                settle_before=started - opts.settle,
                page_size=opts.stats_page_size,
                groups=groups,
            )
        raise ValueError(f"unknown stream {name!r}; known: {', '.join(ALL_STREAMS)}")

    def store_page(self, page: Page, stats: StreamReport, *, keep_cursor: bool = False) -> None:
        """Store one page (contacts, events, dead letters) and its cursor in one transaction."""
        now = self.clock.now()
        with self.store.write() as conn:
            if page.contacts:
                upsert_contacts(conn, page.contacts, now, self.options.ignore_fields)
            new = store_events(conn, page.events, now) if page.events else 0
            for reject in page.rejects:
                _dead_letter(conn, reject, now)
            crash_point("pull.inside_page_transaction")
            if not keep_cursor:
                cursors.set(conn, SOURCE, page.stream, page.cursor, now)
        stats.pages += 1
        stats.rows += page.rows
        stats.new_events += new
        stats.contacts += len(page.contacts)
        stats.rejects += len(page.rejects)


def _dead_letter(conn: Connection, reject: Reject, now: datetime) -> None:
    log.warning("dead-lettered %s row %s: %s", reject.stream, reject.record_id, reject.reason)
    deadletter.add(
        conn,
        kind="record",
        source=f"{SOURCE}.{reject.stream}",
        record_id=reject.record_id,
        reason=reject.reason,
        payload=reject.payload,
        now=now,
    )


def link_contacts(conn: Connection, mautic_ids: Iterable[int], now: datetime) -> dict[int, int]:
    """Local contact id per Mautic id, creating placeholder contacts for unknown ids."""
    wanted = sorted(set(mautic_ids))
    found: dict[int, int] = {}
    for chunk in _chunks(wanted, 500):
        rows = conn.execute(
            sa.select(_contact.c.mautic_id, _contact.c.id).where(_contact.c.mautic_id.in_(chunk))
        )
        found.update({m: i for m, i in rows})
    missing = [m for m in wanted if m not in found]
    if missing:
        conn.execute(
            insert(conn, _contact).on_conflict_do_nothing(index_elements=["mautic_id"]),
            [_placeholder(m, now) for m in missing],
        )
        for chunk in _chunks(missing, 500):
            rows = conn.execute(
                sa.select(_contact.c.mautic_id, _contact.c.id).where(
                    _contact.c.mautic_id.in_(chunk)
                )
            )
            found.update({m: i for m, i in rows})
    return found


def _placeholder(mautic_id: int, now: datetime) -> dict[str, Any]:
    return {
        "mautic_id": mautic_id,
        "fields": {},
        "crm_fields": {},
        "placeholder": True,
        "rescore_needed": True,
        "created_at": now,
        "updated_at": now,
    }


def store_events(conn: Connection, events: Sequence[PulledEvent], now: datetime) -> int:
    """Insert events (duplicates ignored); mark their contacts for rescoring. Returns new rows.

    Existing rows are looked up first through the unique index, so the insert is a plain
    ``executemany`` (far cheaper than ``INSERT ... RETURNING`` row by row)."""
    ids = link_contacts(conn, (e.mautic_contact_id for e in events), now)
    seen: set[tuple[str, str]] = set()
    for stream in {e.stream for e in events}:
        keys = [e.external_id for e in events if e.stream == stream]
        for chunk in _chunks(keys, 500):
            seen.update(
                (stream, external_id)
                for external_id in conn.execute(
                    sa.select(_event.c.external_id).where(
                        _event.c.source == SOURCE,
                        _event.c.stream == stream,
                        _event.c.external_id.in_(chunk),
                    )
                ).scalars()
            )
    fresh: dict[tuple[str, str], PulledEvent] = {}
    for e in events:
        if (e.stream, e.external_id) not in seen:
            fresh.setdefault((e.stream, e.external_id), e)
    if not fresh:
        return 0
    conn.execute(
        insert(conn, _event).on_conflict_do_nothing(
            index_elements=["source", "stream", "external_id"]
        ),
        [
            {
                "source": SOURCE,
                "stream": e.stream,
                "external_id": e.external_id,
                "contact_id": ids[e.mautic_contact_id],
                "kind": e.kind,
                "occurred_at": e.occurred_at,
                "attributes": e.attributes,
            }
            for e in fresh.values()
        ],
    )
    digests.append(
        conn,
        [
            digests.NewEvent(ids[e.mautic_contact_id], e.occurred_at, e.kind, e.attributes)
            for e in fresh.values()
        ],
    )
    touched: dict[int, datetime | None] = {}
    for e in fresh.values():
        if e.kind in PASSIVE_KINDS:
            continue
        contact_id = ids[e.mautic_contact_id]
        latest = touched.get(contact_id)
        if e.kind in ACTIVE_KINDS and (latest is None or e.occurred_at > latest):
            touched[contact_id] = e.occurred_at
        else:
            touched.setdefault(contact_id, latest)
    _mark_touched(conn, touched, now)
    return len(fresh)


def _mark_touched(conn: Connection, touched: Mapping[int, datetime | None], now: datetime) -> None:
    for chunk in _chunks(sorted(touched), 500):
        conn.execute(
            sa.update(_contact)
            .where(_contact.c.id.in_(chunk))
            .values(rescore_needed=True, updated_at=now)
        )
    active = {cid: at for cid, at in touched.items() if at is not None}
    if active:
        latest = sa.bindparam("at", type_=_contact.c.last_activity_at.type)
        conn.execute(
            sa.update(_contact)
            .where(_contact.c.id == sa.bindparam("cid"))
            .where(
                sa.or_(_contact.c.last_activity_at.is_(None), _contact.c.last_activity_at < latest)
            )
            .values(last_activity_at=latest),
            [{"cid": cid, "at": at} for cid, at in active.items()],
        )


def upsert_contacts(
    conn: Connection, contacts: Sequence[MauticContact], now: datetime, ignore: frozenset[str]
) -> int:
    """Insert or update contacts from Mautic; mark them for rescoring when what scoring reads
    changed (fields other than scorebridge's own outputs, owner). Returns how many changed."""
    ids = link_contacts(conn, (c.id for c in contacts), now)
    current = {
        row.id: row
        for chunk in _chunks(sorted(ids.values()), 500)
        for row in conn.execute(
            sa.select(
                _contact.c.id, _contact.c.fields, _contact.c.mautic_owner_id, _contact.c.placeholder
            ).where(_contact.c.id.in_(chunk))
        )
    }
    updates = []
    for contact in contacts:
        local_id = ids[contact.id]
        fields = {k: v for k, v in contact.fields.items() if k not in ignore}
        owner_id = contact.owner.id if contact.owner else None
        before = current[local_id]
        changed = (
            before.placeholder or before.fields != fields or before.mautic_owner_id != owner_id
        )
        updates.append(
            {
                "cid": local_id,
                "email": normalize_email(contact.email),
                "fields": fields,
                "owner": owner_id,
                "points": contact.points,
                "modified": contact.changed_at,
                "active": contact.last_active,
                "dirty": changed,
                "now": now,
            }
        )
    if updates:
        conn.execute(
            sa.update(_contact)
            .where(_contact.c.id == sa.bindparam("cid"))
            .values(
                email=sa.bindparam("email"),
                fields=sa.bindparam("fields", type_=sa.JSON),
                mautic_owner_id=sa.bindparam("owner"),
                mautic_points=sa.bindparam("points"),
                mautic_date_modified=sa.bindparam("modified", type_=_contact.c.updated_at.type),
                last_activity_at=sa.case(
                    (
                        sa.and_(
                            sa.bindparam("active", type_=_contact.c.updated_at.type).is_not(None),
                            sa.or_(
                                _contact.c.last_activity_at.is_(None),
                                _contact.c.last_activity_at
                                < sa.bindparam("active", type_=_contact.c.updated_at.type),
                            ),
                        ),
                        sa.bindparam("active", type_=_contact.c.updated_at.type),
                    ),
                    else_=_contact.c.last_activity_at,
                ),
                rescore_needed=sa.or_(_contact.c.rescore_needed, sa.bindparam("dirty")),
                placeholder=False,
                updated_at=sa.bindparam("now", type_=_contact.c.updated_at.type),
            ),
            updates,
        )
    return sum(1 for u in updates if u["dirty"])


def _chunks(items: Sequence[Any], size: int) -> Iterator[Sequence[Any]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]
