"""Signals: what a contact did lately and who it is, as yes/no features of contact-snapshots.

Owns: :class:`Catalog` (every signal with a stable column: each behaviour rule and fit rule of
the rule file, the recency, frequency and tenure of activity, and the raw signals found in the
history: a page path and its section, a form, an
asset, a click in an e-mail, an unsubscribe or bounce, a value of a field the fit rules read) and
:func:`chunk_features`, which turns one chunk of contacts into a sparse matrix with one row per
eligible contact-snapshot: a behaviour signal is present when it happened within ``lookback``
before the snapshot, a fit signal when it holds for the contact's (current) fields.
Must not: read the store or the clock, or score anything (the analysis and the predictive score
use these features; the rule score stays the engine's).

Decisions: opens that look machine-made (Apple MPP and other proxies) are left out, as rules
with ``suspect_open_factor`` would count them; a page signal is the URL's path without query or
trailing slash, and ``/first-segment/*`` is added for deeper paths so that many rare blog posts
still add up to "the blog"; an e-mail address field counts by its domain.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse

from scorebridge.scoring.batch import BatchInput, EventShape
from scorebridge.scoring.batch_shapes import shape_facts
from scorebridge.scoring.engine import ACTIVITY_KINDS
from scorebridge.scoring.matchers import CompiledRules, url_path

I64 = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
RULE, FIT, PAGE, FORM, ASSET, CLICK, DNC, FIELD, ACTIVITY = (
    "rule",
    "fit",
    "page",
    "form",
    "asset",
    "click",
    "dnc",
    "field",
    "activity",
)
DAY_US = 86_400 * 1_000_000
#: Recency, frequency and tenure of activity: (key, label, test on (days since the last
#: activity, activities within the lookback, days since the first activity)).
_ACTIVITY: tuple[tuple[str, str], ...] = (
    ("activity:last-7d", "active within the last 7 days"),
    ("activity:last-30d", "active within the last 30 days"),
    ("activity:4+", "4 or more activities within the window"),
    ("activity:16+", "16 or more activities within the window"),
    ("activity:new-30d", "first active within the last 30 days"),
    ("activity:new-90d", "first active within the last 90 days"),
)
#: The kinds that come from the rule file (their points can be suggested).
FROM_RULES = frozenset({RULE, FIT})


@dataclass(frozen=True)
class Signal:
    """One feature: ``key`` is unique ("rule:pricing-page", "page:/pricing", "form:3")."""

    key: str
    kind: str
    label: str
    points: float | None = None


@dataclass
class Catalog:
    """The signals, in column order; raw signals are added as the history shows them."""

    rules: CompiledRules
    signals: list[Signal] = field(default_factory=list)
    index: dict[str, int] = field(default_factory=dict)
    _by_shape: dict[tuple[str, str], list[int]] = field(default_factory=dict)

    @classmethod
    def of(cls, rules: CompiledRules) -> Catalog:
        """Start with every behaviour rule and fit rule of ``rules`` and the activity signals."""
        catalog = cls(rules)
        for rule in rules.rules:
            catalog.add(Signal(f"rule:{rule.id}", RULE, rule.label, rule.points))
        for fit in rules.fit:
            catalog.add(Signal(f"fit:{fit.id}", FIT, fit.label, fit.points))
        for key, label in _ACTIVITY:
            catalog.add(Signal(key, ACTIVITY, label))
        return catalog

    def add(self, signal: Signal) -> int:
        """The column of ``signal`` (added when new)."""
        found = self.index.get(signal.key)
        if found is None:
            found = self.index[signal.key] = len(self.signals)
            self.signals.append(signal)
        return found

    def __len__(self) -> int:
        return len(self.signals)

    def columns(self, kinds: frozenset[str]) -> I64:
        """The columns of the signals of these kinds."""
        return np.array([i for i, s in enumerate(self.signals) if s.kind in kinds], np.int64)

    def of_shape(self, shape: EventShape, suspect: bool) -> list[int]:
        """The behaviour columns an event of this shape counts in."""
        attrs = shape.attributes
        memo = (shape.kind, repr(sorted(attrs.items(), key=str)) + repr(suspect))
        found = self._by_shape.get(memo)
        if found is not None:
            return found
        columns: list[int] = []
        if not suspect:
            columns += [self.index[f"rule:{self.rules.rules[i].id}"] for i in
                        self.rules.match(shape.kind, attrs)]  # fmt: skip
            columns += [self.add(s) for s in raw_signals(shape)]
        self._by_shape[memo] = columns
        return columns


_BY_ID = {"form.submit": ("form_id", FORM, "form"), "asset.download": ("asset_id", ASSET, "asset")}


def raw_signals(shape: EventShape) -> list[Signal]:
    """The raw (rule-independent) signals of one event shape."""
    kind, attrs = shape.kind, shape.attributes
    if kind == "page.hit" and isinstance(attrs.get("url"), str):
        path = url_path(attrs["url"]).rstrip("/") or "/"
        found = [Signal(f"page:{path}", PAGE, f"page {path}")]
        parts = path.strip("/").split("/")
        if len(parts) > 1:
            section = f"/{parts[0]}/*"
            found.append(Signal(f"page:{section}", PAGE, f"page {section}"))
        return found
    if kind in _BY_ID:
        key, name, word = _BY_ID[kind]
        if attrs.get(key) not in (None, ""):
            return [Signal(f"{name}:{attrs[key]}", name, f"{word} {attrs[key]}")]
        return []
    if kind == "email.click" and attrs.get("email_id") not in (None, ""):
        email = attrs["email_id"]
        return [Signal(f"click:{email}", CLICK, f"clicked in e-mail {email}")]
    if kind in ("dnc.unsubscribed", "dnc.bounced"):
        word = kind.split(".")[1]
        return [Signal(f"dnc:{word}", DNC, word)]
    return []


def _field_label(name: str, value: Any) -> tuple[str, str] | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    text = str(value).strip()
    if "@" in text:
        text = "@" + text.rsplit("@", 1)[1].casefold()
        return f"field:{name}={text}", f"{name} domain {text}"
    return f"field:{name}={text.casefold()}", f"{name} = {text}"


def static_columns(batch: BatchInput, catalog: Catalog) -> tuple[I64, I64]:
    """(row, column) of each fit rule that holds and each value of a field the fit rules read."""
    rows: list[I64] = []
    cols: list[I64] = []
    for fit in catalog.rules.fit:
        codes, distinct = batch.fields.column(fit.field)
        holds = np.array(fit.holds_each(distinct), bool)
        hit = np.flatnonzero(holds[codes])
        rows.append(hit)
        cols.append(np.full(len(hit), catalog.index[f"fit:{fit.id}"], np.int64))
    for name in sorted({f.field for f in catalog.rules.fit}):
        codes, distinct = batch.fields.column(name)
        value_col = np.full(len(distinct), -1, np.int64)
        for i, value in enumerate(distinct):
            named = _field_label(name, value)
            if named is not None:
                value_col[i] = catalog.add(Signal(named[0], FIELD, named[1]))
        col = value_col[codes]
        hit = np.flatnonzero(col >= 0)
        rows.append(hit)
        cols.append(col[hit])
    return np.concatenate(rows or [np.zeros(0, np.int64)]), np.concatenate(
        cols or [np.zeros(0, np.int64)]
    )


@dataclass
class FeatureRows:
    """Eligible contact-snapshots of one chunk: their signals (row, column pairs), outcome,
    contact (column of the chunk) and snapshot index."""

    rows: I64
    cols: I64
    won: Bools
    contact: I64
    snapshot: I64
    days: npt.NDArray[np.float64]  # per column: days with the signal, summed over the rows


def chunk_features(
    batch: BatchInput,
    catalog: Catalog,
    instants: I64,
    lookback_us: int,
    eligible: Bools,
    won: Bools,
) -> FeatureRows:
    """The signals of every eligible contact-snapshot of ``batch`` (rows in snapshot order)."""
    order = np.argsort(batch.event_us, kind="stable")
    ev_us, ev_row = batch.event_us[order], batch.event_row[order]
    suspect = shape_facts(batch.shapes, catalog.rules).suspect
    per_shape = [catalog.of_shape(s, bool(suspect[i])) for i, s in enumerate(batch.shapes)]
    counts = np.array([len(c) for c in per_shape] + [0], np.int64)
    flat = np.array([c for cols in per_shape for c in cols], np.int64)
    starts = np.concatenate([[0], np.cumsum(counts)])
    ev_shape = batch.event_shape[order]
    per_event = counts[ev_shape]
    pair_ptr = np.concatenate([[0], np.cumsum(per_event)])
    offsets = np.arange(int(pair_ptr[-1])) - np.repeat(pair_ptr[:-1], per_event)
    pair_col = flat[np.repeat(starts[ev_shape], per_event) + offsets]
    pair_row = np.repeat(ev_row, per_event)
    pair_day = np.repeat(ev_us // DAY_US, per_event)
    static_rows, static_cols = static_columns(batch, catalog)
    days = np.zeros(len(catalog))
    kinds = np.array([sh.kind in ACTIVITY_KINDS for sh in batch.shapes] + [False], bool)
    active = kinds[ev_shape] & ~np.append(suspect, False)[ev_shape]
    act_us, act_row = ev_us[active], ev_row[active]
    n = len(batch.contact_ids)
    first = np.full(n, np.iinfo(np.int64).max, np.int64)
    np.minimum.at(first, act_row, act_us)
    width = 1 << 32
    out_rows: list[I64] = []
    out_cols: list[I64] = []
    contacts: list[I64] = []
    snapshots: list[I64] = []
    outcome: list[Bools] = []
    done = 0
    for k, at in enumerate(instants.tolist()):
        who = np.flatnonzero(eligible[k])
        if not len(who):
            continue
        position = np.full(len(batch.contact_ids), -1, np.int64)
        position[who] = np.arange(len(who)) + done
        lo = int(np.searchsorted(ev_us, at - lookback_us, side="right"))
        hi = int(np.searchsorted(ev_us, at, side="right"))
        window = slice(int(pair_ptr[lo]), int(pair_ptr[hi]))
        daily = np.unique(
            np.stack([pair_row[window] * width + pair_col[window], pair_day[window]]), axis=1
        )
        keys, per_key = np.unique(daily[0], return_counts=True)
        rows_b, cols_b = keys // width, keys % width
        counted = position[rows_b] >= 0
        days += np.bincount(cols_b[counted], weights=per_key[counted], minlength=len(days))
        rows_a, cols_a = _activity(act_us, act_row, first, at, lookback_us, catalog)
        for r, c in ((rows_b, cols_b), (static_rows, static_cols), (rows_a, cols_a)):
            keep = position[r] >= 0
            out_rows.append(position[r[keep]])
            out_cols.append(c[keep])
        contacts.append(who)
        snapshots.append(np.full(len(who), k, np.int64))
        outcome.append(won[k, who])
        done += len(who)
    empty = np.zeros(0, np.int64)
    return FeatureRows(
        np.concatenate(out_rows or [empty]),
        np.concatenate(out_cols or [empty]),
        np.concatenate(outcome or [np.zeros(0, bool)]),
        np.concatenate(contacts or [empty]),
        np.concatenate(snapshots or [empty]),
        days,
    )


def _activity(
    act_us: I64, act_row: I64, first: I64, at: int, lookback_us: int, catalog: Catalog
) -> tuple[I64, I64]:
    """(row, column) of the recency, frequency and tenure signals at instant ``at``."""
    n = len(first)

    def since(span_us: int) -> I64:
        lo = int(np.searchsorted(act_us, at - span_us, side="right"))
        hi = int(np.searchsorted(act_us, at, side="right"))
        return np.bincount(act_row[lo:hi], minlength=n)

    in_window = since(lookback_us)
    tests = (
        since(7 * DAY_US) > 0,
        since(30 * DAY_US) > 0,
        in_window >= 4,
        in_window >= 16,
        (first <= at) & (first > at - 30 * DAY_US),
        (first <= at) & (first > at - 90 * DAY_US),
    )
    rows = [np.flatnonzero(t) for t in tests]
    cols = [np.full(len(r), catalog.index[key], np.int64) for r, (key, _) in
            zip(rows, _ACTIVITY, strict=True)]  # fmt: skip
    return np.concatenate(rows), np.concatenate(cols)


@dataclass
class Features:
    """All eligible contact-snapshots: a binary CSR matrix (rows x signals) and per row the
    outcome, the contact id and the snapshot index; per signal, on how many days it happened
    within the window on average when it did (``days_when_present``)."""

    matrix: sparse.csr_matrix
    won: Bools
    contact_ids: I64
    snapshot: I64
    catalog: Catalog
    days_when_present: npt.NDArray[np.float64]

    @classmethod
    def of(cls, parts: Sequence[tuple[FeatureRows, I64]], catalog: Catalog) -> Features:
        """Stack chunk rows (each with its chunk's contact ids) into one matrix."""
        offsets = np.cumsum([0] + [len(p.won) for p, _ in parts])
        rows = np.concatenate([p.rows + o for (p, _), o in zip(parts, offsets, strict=False)]
                              or [np.zeros(0, np.int64)])  # fmt: skip
        cols = np.concatenate([p.cols for p, _ in parts] or [np.zeros(0, np.int64)])
        shape = (int(offsets[-1]), len(catalog))
        matrix = sparse.csr_matrix((np.ones(len(rows), np.float32), (rows, cols)), shape=shape)
        matrix.data[:] = 1.0  # a signal is present or not (duplicates summed above)
        days = np.zeros(len(catalog))
        for part, _ in parts:
            days[: len(part.days)] += part.days
        present = np.asarray(matrix.sum(axis=0)).ravel()
        return cls(
            matrix,
            np.concatenate([p.won for p, _ in parts] or [np.zeros(0, bool)]),
            np.concatenate([ids[p.contact] for p, ids in parts] or [np.zeros(0, np.int64)]),
            np.concatenate([p.snapshot for p, _ in parts] or [np.zeros(0, np.int64)]),
            catalog,
            np.divide(days, present, out=np.ones(len(catalog)), where=(present > 0) & (days > 0)),
        )
