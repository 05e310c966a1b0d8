"""Draining the outbox (DESIGN §6, engineering §B.2/§B.3/§B.6): claim, write, record.

Owns: :func:`push` — per system, claim the due operations in batches of the writer's
``batch_size`` (the largest batch its API takes), hand them to the system's :class:`Writer`,
then record the outcome in ONE transaction: ack the successes and upsert the ``written`` values
they carry (and link a contact the CRM writer created, through
:func:`~scorebridge.sync.identity.link_crm_id`), put transient failures back with exponential
backoff, and dead-letter permanent ones (or those past :data:`MAX_ATTEMPTS`) without blocking the
rest. The named crash point ``push.after_remote_write`` sits between the remote call and the
recording: a crash there resends the batch, which is safe because every write is absolute or
looked up before it is created. :class:`~scorebridge.errors.QuotaExhausted` pauses that system
until the reset (every queued op waits, no attempt counted) while other systems go on; an
authentication or contract failure stops that system for this push and is reported
(``SystemReport.error``; the cycle fails on an auth error once every system was pushed).
``dry_run`` lists the due operations and sends nothing.

A stop request (SIGTERM) is checked before every request, not only between batches (see
:mod:`scorebridge.http.bounds`): an operation whose request was refused by the stop comes back
``released`` and goes back to pending, due at once, with no attempt counted, while the acks of
what was sent are recorded as usual; a writer that cannot say which of its ops were sent raises
:class:`~scorebridge.errors.ShutdownRequested` and the whole batch is put back the same way
(every write is absolute or looked up before it is created, so resending is safe).
Per-item operations (a writer's ``concurrent_ops``: point-group sets, notes, tasks, deals) go
out after the batched ones over a bounded pool (``workers``, ``[write] concurrency``) within the
rate limiters, one call each, each recorded as soon as it comes back; a crash leaves the calls
in flight in flight, and the writers look those up before resending. :func:`prioritize` orders
the queue by the planner's ``priority`` (hot leads first) when a quota takes only part of it.
Must not: know what an operation means (writers do) or decide what to write (the planner does).
"""

from __future__ import annotations

import contextvars
import logging
from collections import Counter
from collections.abc import Callable, Mapping, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ThreadPoolExecutor, wait
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from scorebridge.crashpoints import crash_point
from scorebridge.errors import (
    Action,
    BridgeError,
    QuotaExhausted,
    ShutdownRequested,
    TransientError,
)
from scorebridge.progress import track
from scorebridge.redaction import redact
from scorebridge.store import outbox
from scorebridge.store.engine import Store, insert
from scorebridge.store.tables import Contact, Outbox, Written
from scorebridge.sync import identity

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
DEFAULT_WORKERS = 4
"""Per-item requests (point-group sets, notes, tasks, deals) in flight at once."""
BACKOFF_BASE = timedelta(minutes=1)
BACKOFF_CAP = timedelta(hours=6)
QUOTA_PAUSE = timedelta(hours=1)
"""How long a spent quota pauses a system when the error does not say when it resets."""
_contact = Contact.__table__  # type: ignore[attr-defined]
_written = Written.__table__  # type: ignore[attr-defined]
_outbox = Outbox.__table__  # type: ignore[attr-defined]

Status = Literal["ok", "retry", "wait", "dead", "released"]
"""``wait``: not sent, because what it needs is not there yet (the contact is not in the CRM, the
task text is not rendered, a Salesforce Lead is not converted): back to pending without counting
a failed attempt (looked at again after the outcome's ``wait``), and dead-lettered only once it
has waited :data:`MAX_WAIT` (a contact that never reaches the CRM, a lead nobody converts)."""
MAX_WAIT = timedelta(days=7)
STOPPED = "stop requested before it was sent"
"""The ``last_error`` of an operation put back by a stop request."""


@dataclass(frozen=True)
class Target:
    """The remote ids of an operation's contact, read when the operation was claimed."""

    contact_id: int
    mautic_id: int | None
    crm_id: str | None
    crm_owner_id: str | None


@dataclass(frozen=True)
class Claimed:
    """A claimed operation and its contact (``None`` for operations without one)."""

    op: outbox.Operation
    target: Target | None


@dataclass(frozen=True)
class Outcome:
    """What happened to one operation. ``link`` is the CRM id the contact turned out to have."""

    op_id: int
    status: Status
    message: str = ""
    result: Mapping[str, Any] = field(default_factory=dict)
    link: str | None = None
    wait: timedelta = BACKOFF_BASE
    """How long a ``wait`` outcome waits before the next look."""


class Writer(Protocol):
    """Writes one system's operations; one outcome per operation it was given.

    Per-item failures are outcomes. A whole-call failure may raise: ``QuotaExhausted`` (the
    system pauses), ``TransientError`` (every op of the batch is retried), or any error whose
    action is FAIL (auth, contract: the system stops for this push).

    A writer may name ``concurrent_ops``: operations that cost one request each (the API has no
    batch for them) and may be written one per call from a few threads at once. ``write`` must
    then be safe to call concurrently for them, once a first call has set the writer up.
    """

    system: str
    batch_size: int
    link_kind: str
    """``contact.crm_kind`` stored with a ``link`` (the CRM kind; only the CRM writer links)."""

    def write(self, items: Sequence[Claimed]) -> list[Outcome]:
        """Send ``items`` in as few calls as the API allows."""
        ...


def ok(item: Claimed, message: str = "", **result: Any) -> Outcome:
    """A success."""
    return Outcome(item.op.id, "ok", message, result)


def maybe_sent(item: Claimed) -> bool:
    """Whether an earlier claim may have sent this operation, so that a writer whose write is
    not safe to repeat (a note, a task) must look for it before sending it again.

    True for an op left in flight by a process that died, one retried after a failure, one
    released because its system stopped mid-batch (auth, contract, quota: the batch's earlier
    items may have been applied, their outcomes were never recorded; the release keeps the
    error) and one replayed from the dead-letter store. Only a never-claimed op is False.
    """
    op = item.op
    return op.status != outbox.PENDING or op.attempts > 0 or op.last_error is not None


def failed(item: Claimed, exc: BaseException) -> Outcome:
    """The outcome of an item whose own call raised ``exc``: retry (transient) or dead, or
    released when a stop request kept it from being sent.

    Re-raises what must stop the whole system (quota, auth, contract).
    """
    if isinstance(exc, ShutdownRequested):
        return Outcome(item.op.id, "released", STOPPED)
    if isinstance(exc, QuotaExhausted) or BridgeError.classify(exc) is Action.FAIL:
        raise exc
    status: Status = "retry" if isinstance(exc, TransientError) else "dead"
    return Outcome(item.op.id, status, redact(str(exc))[:500])


@dataclass
class SystemReport:
    """What the push did for one system."""

    batches: int = 0
    outcomes: Counter[str] = field(default_factory=Counter)
    stopped: str | None = None
    paused_until: datetime | None = None
    error: BridgeError | None = None
    """The error that stopped the push (auth, contract), for the cycle to act on."""

    def as_dict(self) -> dict[str, Any]:
        """Plain data."""
        return {
            "batches": self.batches,
            "ok": self.outcomes["ok"],
            "retry": self.outcomes["retry"],
            "waiting": self.outcomes["wait"],
            "dead": self.outcomes["dead"],
            "released": self.outcomes["released"],
            "stopped": self.stopped,
            "paused_until": self.paused_until.isoformat() if self.paused_until else None,
        }


@dataclass
class PushReport:
    """What one push did, per system; ``planned`` lists the due ops of a dry run."""

    now: datetime
    dry_run: bool = False
    systems: dict[str, SystemReport] = field(default_factory=dict)
    planned: list[dict[str, Any]] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The report as plain JSON-ready data."""
        out: dict[str, Any] = {
            "now": self.now.isoformat(),
            "dry_run": self.dry_run,
            "systems": {name: r.as_dict() for name, r in sorted(self.systems.items())},
        }
        if self.dry_run:
            out["planned"] = self.planned
        return out


def backoff(attempts: int) -> timedelta:
    """Exponential backoff after ``attempts`` failures: 1 min, 2, 4, ... capped at 6 h."""
    delay: timedelta = BACKOFF_BASE * (2 ** max(attempts - 1, 0))
    return min(delay, BACKOFF_CAP)


def push(
    store: Store,
    writers: Sequence[Writer],
    now: datetime,
    *,
    dry_run: bool = False,
    should_stop: Callable[[], bool] | None = None,
    workers: int = DEFAULT_WORKERS,
) -> PushReport:
    """Drain the due operations of every writer's system (see the module docstring);
    ``workers`` bounds the per-item requests in flight at once."""
    report = PushReport(now=now, dry_run=dry_run)
    for writer in writers:
        sys_report = report.systems.setdefault(writer.system, SystemReport())
        if dry_run:
            with store.read() as conn:
                report.planned.extend(_due(conn, writer.system, now))
            continue
        _reclaim(store, writer.system, now)
        with store.read() as conn:
            queued = sum(outbox.depth(conn, writer.system).values())
        with track(f"push {writer.system}", total=queued, unit="writes") as bar:
            sending = _Sending(store, writer, now, sys_report, bar.advance)
            _drain(sending, should_stop or _never, max(1, workers))
    return report


def _never() -> bool:
    return False


def _reclaim(store: Store, system: str, now: datetime) -> None:
    """Make ops left in flight by a process that died due now: the caller holds the lease, so
    no live process owns a claim (else they would wait out the claim's hold). They stay in
    flight, which tells the writers to look for the write before resending it."""
    with store.write() as conn:
        conn.execute(
            sa.update(_outbox)
            .where(_outbox.c.system == system, _outbox.c.status == outbox.IN_FLIGHT)
            .values(next_attempt_at=now)
        )


def _due(conn: Connection, system: str, now: datetime) -> list[dict[str, Any]]:
    rows = conn.execute(
        sa.select(_outbox, _contact.c.mautic_id, _contact.c.email)
        .outerjoin(_contact, _contact.c.id == _outbox.c.contact_id)
        .where(
            _outbox.c.system == system,
            _outbox.c.status.in_((outbox.PENDING, outbox.IN_FLIGHT)),
            _outbox.c.next_attempt_at <= now,
        )
        .order_by(_outbox.c.next_attempt_at, _outbox.c.id)
    )
    return [
        {
            "system": r.system,
            "op": r.op,
            "mautic_id": r.mautic_id,
            "email": r.email,
            "idempotency_key": r.idempotency_key,
            "payload": r.payload,
        }
        for r in rows
    ]


@dataclass(frozen=True)
class _Sending:
    """One system's push: where outcomes are recorded and reported."""

    store: Store
    writer: Writer
    now: datetime
    report: SystemReport
    done: Callable[[int], None]
    """Told how many ops were recorded (the progress display)."""


def _drain(push: _Sending, should_stop: Callable[[], bool], workers: int) -> None:
    """Claim, write, record until nothing is due: the ops the API batches in one ``write``, then
    the per-item ones (``writer.concurrent_ops``) over a pool of ``workers``."""
    store, writer, report = push.store, push.writer, push.report
    concurrent = frozenset(getattr(writer, "concurrent_ops", ()))
    while not should_stop():
        with store.write() as conn:
            ops = outbox.claim_due(conn, writer.system, writer.batch_size, now=push.now)
            items = _with_targets(conn, ops)
        if not items:
            return
        report.batches += 1
        batched = [i for i in items if i.op.op not in concurrent]
        single = [i for i in items if i.op.op in concurrent]
        if batched and not _send(push, batched):
            _release(store, single, UNSENT, report.paused_until or push.now, report)
            return
        if single:
            if batched:  # a CRM contact the batch just created is linked now
                with store.read() as conn:
                    single = _with_targets(conn, [i.op for i in single])
            if not _send_each(push, single, should_stop, workers):
                return


Sent = list[Outcome] | BaseException
UNSENT = "not sent: the push stopped"


def _attempt(writer: Writer, items: Sequence[Claimed]) -> Sent:
    """``writer.write(items)``, or what it raised (to be handled by the recording thread)."""
    try:
        return writer.write(items)
    except BaseException as exc:  # noqa: BLE001 - handed back to the caller's thread
        return exc


def _send(push: _Sending, items: Sequence[Claimed]) -> bool:
    """Write ``items`` in one call and record the outcomes; ``False`` when the system stops."""
    return _settle(push, [(items, _attempt(push.writer, items))])


def _send_each(
    push: _Sending,
    items: Sequence[Claimed],
    should_stop: Callable[[], bool],
    workers: int,
) -> bool:
    """One call per item, at most ``workers`` at a time (the rate limiters pace them). The
    first goes alone so the writer sets itself up once (point groups, CRM properties); the
    outcomes of those done are recorded while others are in flight, so each op is acked on its
    own. On a stop (quota, credentials, SIGTERM) the calls in flight finish and are recorded;
    the ones not sent go back to the queue as not attempted."""
    store, writer, report = push.store, push.writer, push.report
    first, *rest = items
    if not _send(push, [first]):
        _release(store, rest, UNSENT, report.paused_until or push.now, report)
        return False
    queue = iter(rest)
    carry_on = True
    with ThreadPoolExecutor(max_workers=workers, thread_name_prefix="push") as pool:
        running: dict[Future[Sent], Claimed] = {}

        def submit() -> None:
            item = next(queue, None)
            if item is not None:
                # a copy of this thread's context: the cycle's request bounds (the stop check,
                # the retry budget) hold on the pool's threads too
                context = contextvars.copy_context()
                running[pool.submit(context.run, _attempt, writer, [item])] = item

        for _ in range(workers):
            submit()
        while running:
            finished, _ = wait(running, return_when=FIRST_COMPLETED)
            results = [([running.pop(f)], f.result()) for f in finished]
            carry_on = _settle(push, results) and carry_on
            if carry_on and not should_stop():
                for _ in finished:
                    submit()
    unsent = list(queue)
    if unsent:
        _release(store, unsent, UNSENT, report.paused_until or push.now, report)
    return carry_on and not should_stop()


def _settle(push: _Sending, sent: Sequence[tuple[Sequence[Claimed], Sent]]) -> bool:
    """Record what came back from one or more calls in one transaction: outcomes are acked,
    retried or dead-lettered; a raised quota or FAIL error releases that call's items and
    stops the system (``False``); a transient error retries them."""
    store, writer, report, now = push.store, push.writer, push.report, push.now
    recorded: list[tuple[Sequence[Claimed], list[Outcome]]] = []
    stop: BaseException | None = None
    stopping = False
    for items, result in sent:
        if isinstance(result, list):
            recorded.append((items, result))
        elif isinstance(result, TransientError):
            message = redact(str(result))[:500]
            recorded.append((items, [Outcome(i.op.id, "retry", message) for i in items]))
        elif isinstance(result, ShutdownRequested):
            # a writer that cannot say which of its ops were sent: all back, none counted
            _release(store, items, STOPPED, now, report)
            stopping = True
        elif isinstance(result, QuotaExhausted) or (
            isinstance(result, BridgeError) and BridgeError.classify(result) is Action.FAIL
        ):
            stop = stop or result
            _release(store, items, str(result), _resume_at(result, now), report)
        else:
            raise result
    if recorded:
        crash_point("push.after_remote_write")
        with store.write() as conn:
            for items, outcomes in recorded:
                _record(conn, writer, items, outcomes, now, report)
        push.done(sum(len(items) for items, _ in recorded))
    if stop is None:
        return not stopping
    if isinstance(stop, QuotaExhausted):
        until = _resume_at(stop, now)
        _pause(store, writer.system, until)
        report.stopped, report.paused_until = "quota exhausted", until
        log.warning("%s: daily quota spent; pushes wait until %s", writer.system, until)
    else:
        assert isinstance(stop, BridgeError)
        report.stopped, report.error = redact(str(stop))[:300], stop
        log.error("%s: push stopped: %s", writer.system, report.stopped)
    return False


def _resume_at(exc: BaseException, now: datetime) -> datetime:
    """When a stopped system's released ops are due again: a spent quota's reset (else an
    hour), or after one backoff step for anything else."""
    if isinstance(exc, QuotaExhausted):
        return exc.reset_at if exc.reset_at and exc.reset_at > now else now + QUOTA_PAUSE
    return now + BACKOFF_BASE


def _with_targets(conn: Connection, ops: Sequence[outbox.Operation]) -> list[Claimed]:
    ids = {o.contact_id for o in ops if o.contact_id is not None}
    targets: dict[int, Target] = {}
    if ids:
        c = _contact.c
        stmt = sa.select(c.id, c.mautic_id, c.crm_id, c.crm_owner_id).where(c.id.in_(ids))
        targets = {
            r.id: Target(r.id, r.mautic_id, r.crm_id, r.crm_owner_id) for r in conn.execute(stmt)
        }
    return [Claimed(o, targets.get(o.contact_id) if o.contact_id else None) for o in ops]


def _release(
    store: Store, items: Sequence[Claimed], error: str, until: datetime, report: SystemReport
) -> None:
    """Put a whole batch back without counting an attempt. Some of its items may have been
    applied before the failure: the error kept on them makes :func:`maybe_sent` true."""
    with store.write() as conn:
        for item in items:
            outbox.retry_later(conn, item.op.id, error, until, count_attempt=False)
    report.outcomes["released"] += len(items)


def _pause(store: Store, system: str, until: datetime) -> None:
    """Hold every queued op of ``system`` until ``until`` (no attempt counted), highest
    priority first after it."""
    prioritize(store, system, until)


PRIORITY_STEP = timedelta(milliseconds=1)


def prioritize(store: Store, system: str, at: datetime) -> None:
    """Order the pending ops of ``system`` due by ``at`` by their ``priority`` (the planner
    ranks a contact's writes by its band): all stay due at ``at``, the highest a millisecond
    earlier than the next, each rank in its queue order. The pusher claims by due time, so when
    a quota leaves room for only part of the queue (known up front, or after a pause), hot
    leads' writes, tasks and deals go first and the rest keeps its order."""
    rank = sa.func.coalesce(_outbox.c.payload["priority"].as_integer(), 0)
    mine = sa.and_(
        _outbox.c.system == system,
        _outbox.c.status == outbox.PENDING,
        _outbox.c.next_attempt_at <= at,
    )
    with store.write() as conn:
        ranks = sorted(set(conn.execute(sa.select(rank).where(mine).distinct()).scalars()))
        for earlier, value in enumerate(ranks):  # the lowest rank at `at`, higher ones before
            conn.execute(
                sa.update(_outbox)
                .where(mine, rank == value)
                .values(next_attempt_at=at - PRIORITY_STEP * earlier)
            )


def _record(
    conn: Connection,
    writer: Writer,
    items: Sequence[Claimed],
    outcomes: Sequence[Outcome],
    now: datetime,
    report: SystemReport,
) -> None:
    by_id = {o.op_id: o for o in outcomes}
    done: list[Claimed] = []
    for item in items:
        outcome = by_id.get(item.op.id) or Outcome(item.op.id, "retry", "no outcome reported")
        report.outcomes[outcome.status] += 1
        if outcome.status == "ok":
            done.append(item)
        elif outcome.status == "released":
            outbox.retry_later(conn, item.op.id, outcome.message, now, count_attempt=False)
        elif outcome.status == "dead":
            outbox.to_dead_letter(conn, item.op.id, outcome.message, now=now)
        elif outcome.status == "wait":
            created = item.op.created_at or now
            if now - created >= MAX_WAIT:
                outbox.retry_later(conn, item.op.id, outcome.message, now, count_attempt=False)
                outbox.to_dead_letter(
                    conn, item.op.id, f"gave up after {MAX_WAIT.days} days: {outcome.message}",
                    now=now,
                )  # fmt: skip
                report.outcomes["wait"] -= 1
                report.outcomes["dead"] += 1
            else:
                outbox.retry_later(
                    conn, item.op.id, outcome.message, now + outcome.wait, count_attempt=False
                )
        else:
            attempts = item.op.attempts + 1
            if attempts >= MAX_ATTEMPTS:
                outbox.retry_later(conn, item.op.id, outcome.message, now)
                outbox.to_dead_letter(conn, item.op.id, f"gave up: {outcome.message}", now=now)
                report.outcomes["retry"] -= 1
                report.outcomes["dead"] += 1
            else:
                outbox.retry_later(conn, item.op.id, outcome.message, now + backoff(attempts))
    outbox.ack(
        conn, [i.op.id for i in done], now=now, results={o.op_id: o.result for o in outcomes}
    )
    _remember(conn, done, now)
    for item in done:
        link = by_id[item.op.id].link
        if link is not None and item.op.contact_id is not None:
            # a conflict keeps the existing link and is dead-lettered by identity
            identity.link_crm_id(conn, item.op.contact_id, writer.link_kind, link, now=now)


def _remember(conn: Connection, done: Sequence[Claimed], now: datetime) -> None:
    rows = [
        {
            "system": item.op.system,
            "contact_id": item.op.contact_id,
            "target": target,
            "value": str(value),
            "written_at": now,
        }
        for item in done
        if item.op.contact_id is not None
        for target, value in (item.op.payload.get("written") or {}).items()
    ]
    if rows:
        stmt = insert(conn, _written)
        conn.execute(
            stmt.on_conflict_do_update(
                index_elements=[_written.c.system, _written.c.contact_id, _written.c.target],
                set_={"value": stmt.excluded.value, "written_at": stmt.excluded.written_at},
            ),
            rows,
        )
