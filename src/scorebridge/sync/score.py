"""Rescoring over the store (DESIGN §1 "score", §5): which contacts, in chunks, saved in bulk.

Owns: :func:`rescore` (the contacts flagged ``rescore_needed`` by the pull; everyone for the
daily decay/inactivity sweep, and whenever the rule-set version differs from the one recorded in
the cursor ``("scoring", "rule_version")`` after the last complete rescore), one write
transaction per chunk of contacts that reads their event digests (``store.digests``; checked
against the event rows, and rebuilt where stale, for flagged contacts always and for everyone
when the digests do not add up to the event rows) and state, scores them with
:mod:`scoring.batch` (the pure engine for the few contacts the batch hands back) and saves them
(:mod:`sync.score_save`: scores, stage, trigger states, the outbox operations of fired
triggers). A whole-store rescore on SQLite reads and scores the next chunk on another thread
while the current one is saved (:func:`_pipelined`). With ``notify_existing=False`` a contact
scored for the first time records the triggers that hold as fired (and silenced) but enqueues
none of their actions when the contact existed before the store's first completed sync, so the
first sync of an existing Mautic does not flood sales while a lead that arrives later is
notified. :func:`score_everyone` scores the whole store at an instant without saving anything
(``leads --as-of``).
Must not: read the clock (``as_of``/``now`` come in), talk to remote systems, or plan writes.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import numpy as np
from sqlalchemy.engine import Connection

from scorebridge.crashpoints import crash_point
from scorebridge.progress import track
from scorebridge.scoring.batch import BatchInput, BatchResult, score_batch
from scorebridge.scoring.engine import score
from scorebridge.scoring.matchers import CompiledRules
from scorebridge.store import cursors, digests, outbox
from scorebridge.store.engine import Store, data_version
from scorebridge.store.tables import Contact, Event, Score, TriggerState
from scorebridge.sync.score_load import (
    I64,
    Bools,
    ShapeCache,
    contacts_to_rescore,
    load_batch,
    load_engine_inputs,
)
from scorebridge.sync.score_save import (
    mark_silenced,
    operations,
    save_contacts,
    save_scores,
    save_stage_entries,
    save_triggers,
    silence_first_scores,
)

TOTAL = "total"
DEFAULT_CHUNK = 20_000
#: The rule-set version every stored score was computed with; a new version rescores everyone.
RULES_CURSOR = ("scoring", "rule_version")
#: When the store's first sync completed: contacts created after it are new leads (DESIGN §5).
FIRST_SYNC_CURSOR = ("scoring", "first_sync_completed")


def first_sync_completed(conn: Connection) -> datetime | None:
    """When the first sync completed (None: not yet)."""
    value = cursors.get(conn, *FIRST_SYNC_CURSOR)
    return datetime.fromisoformat(value) if value else None


def mark_first_sync(conn: Connection, now: datetime) -> None:
    """Record that a sync completed, unless one already did."""
    if not cursors.get(conn, *FIRST_SYNC_CURSOR):
        cursors.set(conn, *FIRST_SYNC_CURSOR, now.isoformat(), now)


_score = Score.__table__  # type: ignore[attr-defined]
_state = TriggerState.__table__  # type: ignore[attr-defined]
_contact = Contact.__table__  # type: ignore[attr-defined]
_event = Event.__table__  # type: ignore[attr-defined]


@dataclass
class RescoreReport:
    """What one rescore did."""

    mode: str
    rule_version: str
    as_of: datetime
    contacts: int = 0
    chunks: int = 0
    pure_engine: int = 0
    stage_changes: int = 0
    fired: int = 0
    silenced: int = 0
    enqueued: int = 0
    reread: int = 0
    """Chunks read ahead and read again because another connection wrote meanwhile."""
    bands: Counter[str] = field(default_factory=Counter)

    def as_dict(self) -> dict[str, Any]:
        """The report as plain JSON-ready data."""
        return {
            "mode": self.mode,
            "rule_version": self.rule_version,
            "as_of": self.as_of.isoformat(),
            "contacts": self.contacts,
            "chunks": self.chunks,
            "pure_engine": self.pure_engine,
            "stage_changes": self.stage_changes,
            "fired": self.fired,
            "silenced": self.silenced,
            "enqueued": self.enqueued,
            "reread": self.reread,
            "bands": dict(sorted(self.bands.items())),
        }


def rescore(
    store: Store,
    rules: CompiledRules,
    as_of: datetime,
    *,
    all: bool = False,  # noqa: A002 - the CLI flag's name
    chunk_size: int = DEFAULT_CHUNK,
    notify_existing: bool = False,
) -> RescoreReport:
    """Rescore flagged contacts (or ``all``) at ``as_of``; one transaction per chunk.

    ``notify_existing`` (``[scoring] notify_existing``): whether triggers that already hold when
    a contact is scored for the first time enqueue their actions (else they only count as fired).
    """
    if as_of.tzinfo is None:
        raise ValueError("as_of must be timezone-aware (UTC)")
    with store.read() as conn:
        applied = cursors.get(conn, *RULES_CURSOR)
        new_rules = applied != rules.version
        ids = contacts_to_rescore(conn, everyone=all or new_rules)
        verify = not (all or new_rules) or not digests.all_fresh(conn)
    mode = "all" if all else "new-rules" if new_rules else "changed"
    report = RescoreReport(mode, rules.version, as_of)
    work = _Chunks(rules, as_of, ShapeCache(), report, verify=verify, notify=notify_existing)
    chunks = [ids[start : start + chunk_size] for start in range(0, len(ids), chunk_size)]
    with track("rescore", total=len(ids), unit="contacts") as bar:
        if verify or store.dialect != "sqlite" or len(chunks) < 2:
            for chunk in chunks:
                with store.write() as conn:
                    work.save(conn, work.prepare(conn, chunk))
                report.chunks += 1
                bar.advance(len(chunk))
        else:
            _pipelined(store, chunks, work, bar.advance)
    if new_rules:
        with store.write() as conn:
            cursors.set(conn, *RULES_CURSOR, rules.version, as_of)
    return report


def _between_chunks() -> None:
    """Runs after one chunk's commit and before the next chunk's transaction (a test hook)."""


def _pipelined(store: Store, chunks: list[I64], work: _Chunks, done: Callable[[int], None]) -> None:
    """Save chunk N while another thread reads and scores chunk N+1 (SQLite, whole store).

    The halves overlap where they leave the GIL (SQLite steps, NumPy kernels); their Python
    row handling does not, so on 2 cores a full rescore gains 5-10 %. Chunk N+1 is read on its own
    connection while chunk N's write transaction holds the write lock, so nobody else can
    commit then; whatever another connection commits between two of our transactions changes
    ``PRAGMA data_version`` on our one write connection, and the chunk read ahead is then
    thrown away and read again inside its own transaction. Only a rescore that does not rebuild
    digests runs this way (rebuilding writes, which a read-ahead cannot do).
    """
    with ThreadPoolExecutor(1, thread_name_prefix="rescore-ahead") as pool, store.writer() as conn:
        ahead: Future[_Prepared] | None = None
        seen: int | None = None
        for n, chunk in enumerate(chunks):
            _between_chunks()
            with conn.begin():
                version = data_version(conn)
                prepared = ahead.result() if ahead is not None else None
                if prepared is None or version != seen:
                    work.report.reread += int(prepared is not None)
                    prepared = work.prepare(conn, chunk)
                seen = version
                ahead = None
                if n + 1 < len(chunks):
                    ahead = pool.submit(_read_ahead, store, work, chunks[n + 1])
                work.save(conn, prepared)
            work.report.chunks += 1
            done(len(chunk))


def _read_ahead(store: Store, work: _Chunks, chunk: I64) -> _Prepared:
    with store.read() as conn:
        return work.prepare(conn, chunk)


@dataclass
class _Prepared:
    """One chunk read and scored, ready to save."""

    batch: BatchInput
    flagged: Bools
    result: BatchResult
    pure_engine: int


@dataclass
class _Chunks:
    """Reading and scoring a chunk (:meth:`prepare`), and saving it (:meth:`save`)."""

    rules: CompiledRules
    as_of: datetime
    shapes: ShapeCache
    report: RescoreReport
    verify: bool
    notify: bool

    def prepare(self, conn: Connection, ids: I64) -> _Prepared:
        """Load and score contacts ``ids`` (the pure engine for the batch's fallbacks)."""
        rules, as_of = self.rules, self.as_of
        batch, flagged = load_batch(conn, ids, rules, self.shapes, verify=self.verify)
        result = score_batch(batch, rules, as_of)
        pending = np.flatnonzero(result.fallback).tolist()
        if pending:
            inputs = load_engine_inputs(conn, [int(batch.contact_ids[r]) for r in pending])
            for row in pending:
                one = inputs[int(batch.contact_ids[row])]
                pure = score(one.events, one.facts, rules, as_of, one.prior, with_ledger=False)
                result.put(row, pure, rules)
        return _Prepared(batch, flagged, result, len(pending))

    def save(self, conn: Connection, prepared: _Prepared) -> None:
        """Save a prepared chunk in ``conn``'s write transaction (see :mod:`sync.score_save`)."""
        batch, result, report = prepared.batch, prepared.result, self.report
        rules, as_of = self.rules, self.as_of
        if not len(batch.contact_ids):
            return
        report.pure_engine += prepared.pure_engine
        silenced: list[tuple[int, str]] = []
        if not self.notify and result.fired:
            silenced = silence_first_scores(conn, batch, result, first_sync_completed(conn))
            report.silenced += len(silenced)
        save_scores(conn, batch, result, rules, as_of)
        crash_point("rescore.inside_transaction")
        report.stage_changes += save_contacts(conn, batch, result, prepared.flagged, rules, as_of)
        save_stage_entries(conn, batch, result, rules, as_of)
        save_triggers(conn, batch, result, rules, as_of)
        mark_silenced(conn, silenced)
        report.fired += len(result.fired)
        report.enqueued += outbox.enqueue(conn, operations(batch, result, rules), now=as_of)
        report.contacts += len(batch.contact_ids)
        report.bands.update(result.band)


def score_everyone(
    store: Store, rules: CompiledRules, as_of: datetime, *, chunk_size: int = DEFAULT_CHUNK
) -> Iterator[tuple[BatchInput, BatchResult]]:
    """Every live contact scored at ``as_of``, chunk by chunk; nothing is saved."""
    report = RescoreReport("what-if", rules.version, as_of)
    work = _Chunks(rules, as_of, ShapeCache(), report, verify=False, notify=True)
    with store.read() as conn:
        ids = contacts_to_rescore(conn, everyone=True)
    for start in range(0, len(ids), chunk_size):
        with store.read() as conn:
            prepared = work.prepare(conn, ids[start : start + chunk_size])
        yield prepared.batch, prepared.result
