"""Reading the stored history for measurement: its bounds, the snapshots, the chunked replay.

Owns: :func:`read_bounds` (first activity, last event, closed deals in the store),
:func:`plan_snapshots` (the snapshot instants of ``--from/--to/--every/--window``, checked
against the history, with errors that say what to do), and :func:`replay_history`, which reads
the contacts in chunks (their event digests, as a rescore does) and replays each chunk with
every rule file (:mod:`scoring.replay`), so the history is read once per rule file and never
held whole. Must not: write anything (no scores, no state, no outbox), read the clock, or talk
to Mautic or the CRM.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, time, timedelta

import numpy as np
import numpy.typing as npt
from sqlalchemy.engine import Connection

from scorebridge.errors import InsufficientData, StateError
from scorebridge.scoring.backtest import Outcome, Replay
from scorebridge.scoring.batch import from_us, to_us
from scorebridge.scoring.engine import ACTIVITY_KINDS
from scorebridge.scoring.matchers import CompiledRules
from scorebridge.scoring.replay import (
    ChunkHistory,
    ChunkReplay,
    chunk_history,
    outcomes,
    replay_chunk,
)
from scorebridge.scoring.signals import Catalog, FeatureRows, Features, chunk_features
from scorebridge.store import digests
from scorebridge.store.engine import Store
from scorebridge.sync.crm_pull import LOST, WON
from scorebridge.sync.score_load import (
    ShapeCache,
    contacts_to_rescore,
    load_batch,
    load_engine_inputs,
)

I64 = npt.NDArray[np.int64]
CHUNK = 20_000
#: Where the deals come from, for the "no closed deals" message.
HOW_TO_PULL_DEALS = (
    'the CRM\'s closed deals are needed: set [crm] kind (e.g. "hubspot") and its token in '
    "scorebridge.toml, then run `scorebridge sync` (its CRM pull reads won and lost deals); "
    "`scorebridge status` shows the stored rows per stream"
)


@dataclass(frozen=True)
class HistoryBounds:
    """What the store holds: first activity, last event, closed deals, contacts."""

    first_activity: datetime | None
    last_event: datetime | None
    won: int
    lost: int

    def require_deals(self) -> None:
        """Raise :class:`~scorebridge.errors.InsufficientData` without a closed deal."""
        if self.won + self.lost == 0:
            raise InsufficientData(f"the store holds no closed CRM deals; {HOW_TO_PULL_DEALS}")
        if self.first_activity is None:
            raise InsufficientData(
                "the store holds no Mautic activity; run `scorebridge pull` (or `sync`) first"
            )


def read_bounds(store: Store) -> HistoryBounds:
    """First activity, last event and closed deals (one aggregate over ``event``)."""
    with store.read() as conn:
        rows = conn.exec_driver_sql(
            "SELECT kind, count(*), min(occurred_at), max(occurred_at) FROM event GROUP BY kind"
        ).all()
    stamps = digests.stored_us([r[2] for r in rows] + [r[3] for r in rows]).tolist()
    first = [t for r, t in zip(rows, stamps, strict=False) if r[0] in ACTIVITY_KINDS]
    last = stamps[len(rows) :]
    counts = {r[0]: int(r[1]) for r in rows}
    return HistoryBounds(
        _from_us(min(first)) if first else None,
        _from_us(max(last)) if last else None,
        counts.get(WON, 0),
        counts.get(LOST, 0),
    )


def _from_us(us: int) -> datetime:
    moment = from_us(us)
    assert moment is not None
    return moment


def _day(moment: datetime) -> datetime:
    return datetime.combine(moment.date(), time(0), tzinfo=moment.tzinfo)


@dataclass(frozen=True)
class SnapshotPlan:
    """The snapshot instants (ascending) and the window after each."""

    instants: tuple[datetime, ...]
    every: timedelta
    window: timedelta

    @property
    def us(self) -> I64:
        """The instants in microseconds."""
        return np.array([to_us(t) for t in self.instants], np.int64)


def plan_snapshots(
    bounds: HistoryBounds,
    *,
    start: datetime | None,
    end: datetime | None,
    every: timedelta,
    window: timedelta,
    most: int = 52,
) -> SnapshotPlan:
    """Snapshots every ``every`` back from ``end`` (default: the last day whose window the
    history covers) to ``start`` (default: ``most`` snapshots, not before a week of activity).

    Raises:
        InsufficientData: no deals, or a date outside the stored history (the message gives
            the usable range).
    """
    bounds.require_deals()
    first, last = bounds.first_activity, bounds.last_event
    assert first is not None
    assert last is not None
    span = f"the stored history runs from {first:%Y-%m-%d} to {last:%Y-%m-%d %H:%M} UTC"
    latest = last - window
    if latest <= first:
        raise InsufficientData(
            f"{span}: too short for a {window.days}-day window; use a shorter --window "
            "(or pull more history: `scorebridge resync --full`)"
        )
    if end is not None and end + window > last:
        raise InsufficientData(
            f"--to {end:%Y-%m-%d}: its {window.days}-day window ends after the history ({span}); "
            f"use --to {latest:%Y-%m-%d} or earlier, or a shorter --window"
        )
    if start is not None and start < _day(first):
        raise InsufficientData(
            f"--from {start:%Y-%m-%d} is before the history ({span}); "
            f"use --from {first:%Y-%m-%d} or later"
        )
    to = end if end is not None else _day(latest)
    origin = start if start is not None else max(_day(first) + every, to - (most - 1) * every)
    if origin > to:
        raise InsufficientData(
            f"--from {origin:%Y-%m-%d} is after --to {to:%Y-%m-%d} ({span}); "
            "give an earlier --from or a later --to"
        )
    count = int((to - origin) / every) + 1
    instants = tuple(to - k * every for k in reversed(range(count)))
    return SnapshotPlan(instants, every, window)


Progress = Callable[[int, int], None]


def _require_fresh_digests(conn: Connection) -> None:
    if not digests.all_fresh(conn):
        raise StateError(
            "the event digests are behind the stored events; run `scorebridge rescore` "
            "(it rebuilds them), then this command again"
        )


def replay_history(
    store: Store,
    rule_sets: Sequence[CompiledRules],
    plan: SnapshotPlan,
    *,
    chunk_size: int = CHUNK,
    progress: Progress | None = None,
) -> tuple[Outcome, list[Replay]]:
    """Replay every live contact at every snapshot with each rule set (read-only).

    Raises:
        StateError: the event digests are behind the event rows (a rescore rebuilds them).
    """
    instants = plan.us
    histories: list[ChunkHistory] = []
    replays: list[list[ChunkReplay]] = [[] for _ in rule_sets]
    with store.read() as conn:
        _require_fresh_digests(conn)
        ids = contacts_to_rescore(conn, everyone=True)
        shapes = ShapeCache()

        for start in range(0, len(ids), chunk_size):
            part = ids[start : start + chunk_size]
            for i, rules in enumerate(rule_sets):
                batch, _ = load_batch(conn, part, rules, shapes)
                if i == 0:
                    histories.append(chunk_history(batch))
                replays[i].append(
                    replay_chunk(batch, rules, instants, lambda c: load_engine_inputs(conn, c))
                )
            if progress is not None:
                progress(min(start + chunk_size, len(ids)), len(ids))
    window_us = int(plan.window.total_seconds() * 1_000_000)
    outcome = Outcome.of(histories, instants, window_us)
    return outcome, [Replay.of(rules, r) for rules, r in zip(rule_sets, replays, strict=True)]


def history_features(
    store: Store,
    rules: CompiledRules,
    plan: SnapshotPlan,
    lookback: timedelta,
    *,
    catalog: Catalog | None = None,
    chunk_size: int = CHUNK,
    progress: Progress | None = None,
) -> Features:
    """The signals of every eligible contact-snapshot (:mod:`scoring.signals`), read-only.

    ``catalog`` keeps the columns of an earlier call (a fitted model's columns stay valid).
    """
    instants = plan.us
    window_us = int(plan.window.total_seconds() * 1_000_000)
    lookback_us = int(lookback.total_seconds() * 1_000_000)
    catalog = catalog if catalog is not None else Catalog.of(rules)
    parts: list[tuple[FeatureRows, I64]] = []
    with store.read() as conn:
        _require_fresh_digests(conn)
        ids = contacts_to_rescore(conn, everyone=True)
        shapes = ShapeCache()
        for start in range(0, len(ids), chunk_size):
            batch, _ = load_batch(conn, ids[start : start + chunk_size], rules, shapes)
            eligible, won = outcomes(chunk_history(batch), instants, window_us)
            rows = chunk_features(batch, catalog, instants, lookback_us, eligible, won)
            parts.append((rows, batch.contact_ids))
            if progress is not None:
                progress(min(start + chunk_size, len(ids)), len(ids))
    return Features.of(parts, catalog)
