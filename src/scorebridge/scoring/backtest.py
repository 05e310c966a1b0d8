"""Backtest metrics: how well a rule file's scores at past snapshots foretold won deals (§5.1).

Owns: :class:`Outcome` (snapshots, who was eligible, who won within the window) and
:class:`Replay` (what one rule file decided at each snapshot, from :mod:`scoring.replay`), and
:func:`evaluate`: AUC, the base rate, win rate and lift of each band, precision/recall/F1 at each
band and stage threshold, every threshold (:mod:`scoring.thresholds`), stage conversion
(stage -> next stage -> won), leads entering each band per week, median days from first activity
to the top band, and the tasks, deals and other actions the triggers would have created.
:func:`bootstrap_auc` gives the AUC intervals of several rule files and of their difference
from the same resamples of contacts. Must not: read the store or the clock.

Definitions: rows are contact-snapshots where the contact was eligible (active by then, not yet a
customer); a row is won when the contact won a deal within ``window`` after the snapshot. The
first snapshot is the starting state: band entries and trigger firings count from the second.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

from scorebridge.scoring.batch import NO_TIME
from scorebridge.scoring.matchers import CompiledRules
from scorebridge.scoring.measures import (
    MIN_WINS,
    BinaryScores,
    Estimate,
    Histogram,
    auc_of,
    binary_scores,
    histogram,
    win_rate,
)
from scorebridge.scoring.replay import ChunkHistory, ChunkReplay, outcomes
from scorebridge.scoring.thresholds import WEEK_US, ThresholdRow, threshold_table

I64 = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
DAY_US = 86_400 * 1_000_000


@dataclass
class Outcome:
    """The snapshots and, per (snapshot, contact), eligibility and a win within the window."""

    instants: I64
    window_us: int
    contact_ids: I64
    first_touch_us: I64
    won_row: I64
    won_us: I64
    eligible: Bools
    won: Bools

    @classmethod
    def of(cls, chunks: Sequence[ChunkHistory], instants: I64, window_us: int) -> Outcome:
        """Concatenate chunk histories and label every snapshot."""
        offsets = np.cumsum([0] + [len(c.contact_ids) for c in chunks])
        history = ChunkHistory(
            np.concatenate([c.contact_ids for c in chunks] or [np.zeros(0, np.int64)]),
            np.concatenate([c.first_touch_us for c in chunks] or [np.zeros(0, np.int64)]),
            np.concatenate(
                [c.won_row + o for c, o in zip(chunks, offsets, strict=False)]
                or [np.zeros(0, np.int64)]
            ),
            np.concatenate([c.won_us for c in chunks] or [np.zeros(0, np.int64)]),
        )
        eligible, won = outcomes(history, instants, window_us)
        return cls(
            instants,
            window_us,
            history.contact_ids,
            history.first_touch_us,
            history.won_row,
            history.won_us,
            eligible,
            won,
        )

    @property
    def weeks(self) -> float:
        """Weeks between the first and the last snapshot (entries and firings count over it)."""
        if len(self.instants) < 2:
            return 0.0
        return float(self.instants[-1] - self.instants[0]) / WEEK_US

    def won_contacts(self, rows: Bools | None = None) -> int:
        """Distinct contacts with a won row (among ``rows``)."""
        won = self.won if rows is None else self.won & rows
        return int(won.any(axis=0).sum())


@dataclass
class Replay:
    """One rule file's decisions at every snapshot (columns in :attr:`Outcome.contact_ids`)."""

    rules: CompiledRules
    total: npt.NDArray[np.int32]
    band: npt.NDArray[np.int8]
    stage: npt.NDArray[np.int8]
    fired_snapshot: I64
    fired_contact: I64
    fired_trigger: I64
    pure_engine: int

    @classmethod
    def of(cls, rules: CompiledRules, chunks: Sequence[ChunkReplay]) -> Replay:
        """Concatenate the chunk replays (in the order of the outcome's chunks)."""
        offsets = np.cumsum([0] + [len(c.contact_ids) for c in chunks])
        return cls(
            rules,
            np.concatenate([c.total for c in chunks], axis=1),
            np.concatenate([c.band for c in chunks], axis=1),
            np.concatenate([c.stage for c in chunks], axis=1),
            np.concatenate([c.fired_snapshot for c in chunks]),
            np.concatenate([c.fired_contact + o for c, o in zip(chunks, offsets, strict=False)]),
            np.concatenate([c.fired_trigger for c in chunks]),
            sum(c.pure_engine for c in chunks),
        )

    @property
    def band_names(self) -> list[str]:
        """Band names by index: the base band, then the bands by rising threshold."""
        return [self.rules.base_band, *(name for name, _ in self.rules.bands)]


@dataclass
class BandLine:
    """One band: its rows and wins, win rate, lift over the base rate, and ``>=`` scores."""

    name: str
    lower: float | None
    rows: int
    wins: int
    contacts: int
    rate: Estimate
    lift: Estimate
    at_or_above: BinaryScores | None
    entering_per_week: float


@dataclass
class StageLine:
    """One stage: ``>=`` scores and conversion to the next stage and to a won deal."""

    key: str
    at_or_above: BinaryScores
    reached: int
    next_reached: int | None
    won_after: int


@dataclass
class Evaluation:
    """Everything the backtest reports about one rule file."""

    name: str
    path: str
    version: str
    rows: int
    won_rows: int
    won_contacts: int
    base_rate: float
    auc: Estimate
    histogram: Histogram
    bands: list[BandLine]
    stages: list[StageLine]
    thresholds: list[ThresholdRow]
    entering: dict[str, list[int]]
    median_days_to_top: float | None
    top_band_contacts: int
    triggers: dict[str, int]
    actions: dict[str, int]
    deal_contacts: int
    pure_engine: int
    curve: dict[str, list[float]] = field(default_factory=dict)


def _entering(replay: Replay, outcome: Outcome, index: int) -> npt.NDArray[np.int64]:
    """Per snapshot after the first: eligible contacts whose band rose to ``index`` or above
    (a contact not yet eligible before comes from below)."""
    band, ok = replay.band, outcome.eligible
    entered = (band[1:] >= index) & ((band[:-1] < index) | ~ok[:-1]) & ok[1:]
    counts: npt.NDArray[np.int64] = entered.sum(axis=1).astype(np.int64)
    return counts


def _days_to_top(replay: Replay, outcome: Outcome) -> tuple[float | None, int]:
    """Median days from first activity to the first snapshot in the top band (entries after the
    first snapshot only), and how many contacts that is."""
    top = len(replay.band_names) - 1
    if top < 1 or len(outcome.instants) < 2:
        return None, 0
    ok = outcome.eligible
    entered = (replay.band[1:] == top) & ((replay.band[:-1] < top) | ~ok[:-1]) & ok[1:]
    ever = entered.any(axis=0) & (outcome.first_touch_us != NO_TIME)
    if not ever.any():
        return None, 0
    first = entered.argmax(axis=0)[ever] + 1
    days = (outcome.instants[first] - outcome.first_touch_us[ever]) / DAY_US
    return float(np.median(days)), int(ever.sum())


def _stage_lines(replay: Replay, outcome: Outcome) -> list[StageLine]:
    lines = []
    ok, won = outcome.eligible, outcome.won
    stages = replay.rules.stages
    for stage in stages:
        at: Bools = np.asarray(replay.stage >= stage.index)
        reached_mask: Bools = np.asarray((at & ok).any(axis=0))
        first = np.where(reached_mask, (at & ok).argmax(axis=0), -1)
        reached_at = outcome.instants[np.maximum(first, 0)]
        won_time = outcome.won_us
        owner = outcome.won_row
        after = (
            reached_mask[owner]
            & (won_time > reached_at[owner])
            & (won_time <= reached_at[owner] + outcome.window_us)
        )
        next_reached = None
        if stage.index + 1 < len(stages):
            nxt = (replay.stage >= stage.index + 1).any(axis=0)
            next_reached = int((reached_mask & nxt).sum())
        lines.append(
            StageLine(
                key=stage.key,
                at_or_above=binary_scores(at[ok], won[ok]),
                reached=int(reached_mask.sum()),
                next_reached=next_reached,
                won_after=len(np.unique(owner[after])),
            )
        )
    return lines


def _band_lines(replay: Replay, outcome: Outcome, base_rate: float) -> list[BandLine]:
    ok, won = outcome.eligible, outcome.won
    lowers: list[float | None] = [None, *(lower for _, lower in replay.rules.bands)]
    weeks = outcome.weeks
    lines = []
    for index, name in enumerate(replay.band_names):
        inside = (replay.band == index) & ok
        rows, wins = int(inside.sum()), int((inside & won).sum())
        contacts = int(inside.any(axis=0).sum())
        rate = win_rate(rows, wins, contacts, outcome.won_contacts(inside))
        lift = (
            Estimate(
                rate.value / base_rate,
                (rate.low or 0.0) / base_rate,
                (rate.high or 0.0) / base_rate,
                rate.wins,
            )
            if rate.value is not None and base_rate > 0
            else rate
        )
        above = binary_scores((replay.band >= index)[ok], won[ok]) if index else None
        per_week = float(_entering(replay, outcome, index).sum()) / weeks if weeks else 0.0
        lines.append(
            BandLine(name, lowers[index], rows, wins, contacts, rate, lift, above, per_week)
        )
    return lines


def _fired(replay: Replay) -> tuple[dict[str, int], dict[str, int], int]:
    """Firings per trigger, actions per ``do``, contacts a ``crm.deal`` action was for."""
    triggers = replay.rules.triggers
    per_trigger = np.bincount(replay.fired_trigger, minlength=len(triggers))
    actions: Counter[str] = Counter()
    deal_contacts: set[int] = set()
    for j, trig in enumerate(triggers):
        for action in trig.actions:
            actions[str(action["do"])] += int(per_trigger[j])
            if action["do"] == "crm.deal":
                deal_contacts.update(replay.fired_contact[replay.fired_trigger == j].tolist())
    return (
        {t.id: int(per_trigger[j]) for j, t in enumerate(triggers)},
        dict(sorted(actions.items())),
        len(deal_contacts),
    )


def evaluate(name: str, path: str, replay: Replay, outcome: Outcome) -> Evaluation:
    """Every backtest metric of one rule file (AUC without its interval: :func:`bootstrap_auc`)."""
    ok, won = outcome.eligible, outcome.won
    rows, won_rows = int(ok.sum()), int(won.sum())
    won_contacts = outcome.won_contacts()
    base_rate = won_rows / rows if rows else 0.0
    hist = histogram(replay.total[ok], won[ok])
    point = auc_of(hist)
    auc = (
        Estimate(point, wins=won_contacts)
        if point is not None and won_contacts >= MIN_WINS
        else Estimate.insufficient(won_contacts)
    )
    entering = {
        b: _entering(replay, outcome, i).tolist() for i, b in enumerate(replay.band_names) if i
    }
    median, top_contacts = _days_to_top(replay, outcome)
    per_trigger, actions, deal_contacts = _fired(replay)
    table = threshold_table(hist, replay.total, ok, outcome.weeks)
    return Evaluation(
        name=name,
        path=path,
        version=replay.rules.version,
        rows=rows,
        won_rows=won_rows,
        won_contacts=won_contacts,
        base_rate=base_rate,
        auc=auc,
        histogram=hist,
        bands=_band_lines(replay, outcome, base_rate),
        stages=_stage_lines(replay, outcome),
        thresholds=table,
        entering=entering,
        median_days_to_top=median,
        top_band_contacts=top_contacts,
        triggers=per_trigger,
        actions=actions,
        deal_contacts=deal_contacts,
        pure_engine=replay.pure_engine,
    )


def bootstrap_auc(
    replays: Sequence[Replay], outcome: Outcome, *, rounds: int = 200, seed: int = 0
) -> tuple[list[Estimate], Estimate | None]:
    """AUC of each replay with a percentile interval from ``rounds`` resamples of contacts (all
    of a contact's snapshots go together), and of the first minus the second (same resamples).

    Insufficient below :data:`scoring.measures.MIN_WINS` won contacts.
    """
    ok, won = outcome.eligible, outcome.won
    wins = outcome.won_contacts()
    if wins < MIN_WINS or not ok.any():
        return [Estimate.insufficient(wins) for _ in replays], (
            Estimate.insufficient(wins) if len(replays) > 1 else None
        )
    contact = np.broadcast_to(np.arange(ok.shape[1]), ok.shape)[ok]
    present = np.unique(contact)
    hists = [histogram(replay.total[ok], won[ok]) for replay in replays]
    cells = []
    for replay, hist in zip(replays, hists, strict=True):
        _, index = np.unique(replay.total[ok], return_inverse=True)
        k = len(hist.levels)
        cells.append(
            sparse.csr_matrix(
                (np.ones(len(index)), (contact, index + k * won[ok])), shape=(ok.shape[1], 2 * k)
            ).T.tocsr()
        )
    rng = np.random.default_rng(seed)
    uniform = np.full(len(present), 1 / len(present))
    weights = np.zeros(ok.shape[1])
    samples: list[list[float]] = [[] for _ in replays]
    for _ in range(rounds):
        weights[present] = rng.multinomial(len(present), uniform)
        for i, hist in enumerate(hists):
            row = cells[i] @ weights
            k = len(hist.levels)
            samples[i].append(auc_of(Histogram(hist.levels, row[:k], row[k:])) or 0.5)
    points = [auc_of(hist) or 0.5 for hist in hists]
    estimates = [_interval(p, s, wins) for p, s in zip(points, samples, strict=True)]
    difference = None
    if len(replays) > 1:
        diffs = [a - b for a, b in zip(samples[0], samples[1], strict=True)]
        difference = _interval(points[0] - points[1], diffs, wins)
    return estimates, difference


def _interval(point: float, samples: Sequence[float], wins: int) -> Estimate:
    low, high = np.percentile(np.array(samples), [2.5, 97.5])
    return Estimate(point, float(low), float(high), wins)


def as_dict(ev: Evaluation) -> dict[str, Any]:
    """An evaluation as JSON-ready data (the whole threshold curve included)."""
    return {
        "name": ev.name,
        "path": ev.path,
        "version": ev.version,
        "rows": ev.rows,
        "won_rows": ev.won_rows,
        "won_contacts": ev.won_contacts,
        "base_rate": round(ev.base_rate, 5),
        "auc": ev.auc.as_dict(),
        "bands": [
            {
                "band": b.name,
                "from": b.lower,
                "rows": b.rows,
                "won_rows": b.wins,
                "contacts": b.contacts,
                "win_rate": b.rate.as_dict(),
                "lift": b.lift.as_dict(),
                "at_or_above": None if b.at_or_above is None else b.at_or_above.as_dict(),
                "entering_per_week": round(b.entering_per_week, 2),
            }
            for b in ev.bands
        ],
        "stages": [
            {
                "stage": s.key,
                "at_or_above": s.at_or_above.as_dict(),
                "reached": s.reached,
                "reached_next_stage": s.next_reached,
                "won_within_window_after": s.won_after,
            }
            for s in ev.stages
        ],
        "entering_per_snapshot": ev.entering,
        "median_days_first_activity_to_top_band": ev.median_days_to_top,
        "top_band_entries": ev.top_band_contacts,
        "trigger_firings": ev.triggers,
        "actions": ev.actions,
        "deal_contacts": ev.deal_contacts,
        "pure_engine_rows": ev.pure_engine,
        "thresholds": [row.as_dict() for row in ev.thresholds],
    }
