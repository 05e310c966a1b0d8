"""Which signals predict wins, and what the rules' points would be if history set them (§5.1).

Owns: :func:`signal_lines` (per signal: contact-snapshots and contacts with and without it, the
win rate of each with Wilson intervals, and the lift of the signal over the base rate), ranked
by lift; :func:`suggest_points` (an L2-regularized logistic regression from scikit-learn on the
rule file's own behaviour and fit rules, its strength chosen by cross-validation over contacts;
the coefficients of the rules with enough won contacts are scaled so that the strongest positive
one gets the highest positive points among them today, so the bands keep roughly their meaning,
and the others keep their points); :func:`rewrite_points` (the rule file's text with the
suggested points, and the changed tables alone as a snippet to paste).
Must not: read the store or the clock.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, replace
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse
from sklearn.linear_model import LogisticRegression
from sklearn.model_selection import GridSearchCV, StratifiedGroupKFold

from scorebridge.scoring.measures import MIN_WINS, Estimate, win_rate
from scorebridge.scoring.signals import FROM_RULES, Features, Signal

I64 = npt.NDArray[np.int64]
Bools = npt.NDArray[np.bool_]
#: A raw signal seen for fewer contacts than this is left out of the ranking (and counted).
MIN_CONTACTS = 20
#: The inverse regularization strengths tried, and the folds of contacts they are judged on.
STRENGTHS = (0.003, 0.01, 0.03, 0.1, 0.3, 1.0)
FOLDS = 3


@dataclass(frozen=True)
class SignalLine:
    """One signal's evidence: with it, without it, and its lift over the base rate."""

    signal: Signal
    rows: int
    wins: int
    contacts: int
    won_contacts: int
    with_rate: Estimate
    without_rate: Estimate
    lift: Estimate
    same_as: tuple[str, ...] = ()

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "signal": self.signal.key,
            "same_as": list(self.same_as),
            "kind": self.signal.kind,
            "label": self.signal.label,
            "contact_snapshots": self.rows,
            "won_contact_snapshots": self.wins,
            "contacts": self.contacts,
            "won_contacts": self.won_contacts,
            "win_rate_with": self.with_rate.as_dict(),
            "win_rate_without": self.without_rate.as_dict(),
            "lift": self.lift.as_dict(),
        }


def _per_contact(matrix: sparse.csr_matrix, rows_of: sparse.csr_matrix) -> tuple[I64, I64]:
    """Per signal: contacts with it in some row, contacts with it in every one of their rows."""
    per = (rows_of.T @ matrix).tocoo()  # contacts x signals: rows with the signal
    rows_each = np.asarray(rows_of.sum(axis=0)).ravel()
    width = matrix.shape[1]
    some = np.bincount(per.col[per.data > 0], minlength=width)
    every = np.bincount(per.col[(per.data > 0) & (per.data == rows_each[per.row])], minlength=width)
    return some.astype(np.int64), every.astype(np.int64)


def signal_lines(
    features: Features, min_contacts: int = MIN_CONTACTS
) -> tuple[list[SignalLine], int]:
    """Every signal's line, ranked by lift (known lifts first), and how many rare raw signals
    were left out."""
    x, won = features.matrix, features.won
    n_rows, n_won = x.shape[0], int(won.sum())
    if n_rows == 0:
        return [], 0
    base = n_won / n_rows
    contact, column = np.unique(features.contact_ids, return_inverse=True)
    rows_of = sparse.csr_matrix(
        (np.ones(n_rows), (np.arange(n_rows), column)), shape=(n_rows, len(contact))
    )
    rows_with = np.asarray(x.sum(axis=0)).ravel().astype(np.int64)
    wins_with = np.asarray(x.T @ won.astype(np.float64)).ravel().astype(np.int64)
    some, every = _per_contact(x, rows_of)
    won_rows_of = rows_of[won]
    won_some, won_every = _per_contact(x[won], won_rows_of)
    n_contacts = len(contact)
    n_won_contacts = int((np.asarray(won_rows_of.sum(axis=0)).ravel() > 0).sum())
    lines: list[SignalLine] = []
    left_out = 0
    for j, signal in enumerate(features.catalog.signals):
        if signal.kind not in FROM_RULES and some[j] < min_contacts:
            left_out += 1
            continue
        with_rate = win_rate(int(rows_with[j]), int(wins_with[j]), int(some[j]), int(won_some[j]))
        without_rate = win_rate(
            n_rows - int(rows_with[j]),
            n_won - int(wins_with[j]),
            n_contacts - int(every[j]),
            n_won_contacts - int(won_every[j]),
        )
        lift = with_rate
        if with_rate.value is not None and base > 0:
            lift = Estimate(
                with_rate.value / base,
                (with_rate.low or 0.0) / base,
                (with_rate.high or 0.0) / base,
                with_rate.wins,
            )
        lines.append(
            SignalLine(
                signal,
                int(rows_with[j]),
                int(wins_with[j]),
                int(some[j]),
                int(won_some[j]),
                with_rate,
                without_rate,
                lift,
            )
        )
    lines = _merge_twins(lines, x, features.catalog.index)
    lines.sort(key=lambda line: (line.lift.value is None, -(line.lift.value or 0.0), -line.rows))
    return lines, left_out


def _merge_twins(
    lines: list[SignalLine], matrix: sparse.csr_matrix, index: dict[str, int]
) -> list[SignalLine]:
    """A raw signal present in exactly the rows of a rule ("form 3" and "Requested a demo") is
    the same evidence: it is named beside the rule (``same_as``) instead of listed again."""
    columns = matrix.tocsc()
    by_count: dict[int, list[SignalLine]] = {}
    for line in lines:
        if line.signal.kind in FROM_RULES:
            by_count.setdefault(line.rows, []).append(line)
    twins: dict[str, list[str]] = {}
    kept = []
    for line in lines:
        rule = None
        if line.signal.kind not in FROM_RULES and line.rows:
            mine = columns[:, index[line.signal.key]]
            rule = next(
                (r for r in by_count.get(line.rows, [])
                 if (columns[:, index[r.signal.key]] != mine).nnz == 0),
                None,
            )  # fmt: skip
        if rule is None:
            kept.append(line)
        else:
            twins.setdefault(rule.signal.key, []).append(line.signal.key)
    return [replace(line, same_as=tuple(twins.get(line.signal.key, ()))) for line in kept]


@dataclass(frozen=True)
class PointSuggestion:
    """A rule's current points beside the points its fitted coefficient suggests."""

    signal: Signal
    coefficient: float | None
    suggested: int | None
    rows: int
    won_contacts: int
    repeats: float = 1.0

    @property
    def rule_id(self) -> str:
        """The id of the rule or fit rule."""
        return self.signal.key.split(":", 1)[1]

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "rule": self.rule_id,
            "kind": self.signal.kind,
            "label": self.signal.label,
            "current_points": self.signal.points,
            "suggested_points": self.suggested,
            "coefficient": None if self.coefficient is None else round(self.coefficient, 4),
            "odds_ratio": None if self.coefficient is None else round(np.exp(self.coefficient), 3),
            "contact_snapshots": self.rows,
            "won_contacts": self.won_contacts,
            "days_per_window": round(self.repeats, 2),
            "insufficient": None
            if self.suggested is not None
            else Estimate.insufficient(self.won_contacts).text(),
        }


def fit_logistic(
    matrix: sparse.csr_matrix, won: Bools, groups: I64, strength: float | None = None
) -> LogisticRegression:
    """An L2-regularized logistic regression, its strength (inverse: ``C``) chosen by
    cross-validated log-loss over folds of whole contacts (a contact's snapshots never sit on
    both sides), unless ``strength`` is given."""
    folds = min(FOLDS, len(np.unique(groups[won])), len(np.unique(groups)))
    base = LogisticRegression(max_iter=5000, C=strength if strength is not None else 1.0)
    if folds < 2 or strength is not None:
        return base.fit(matrix, won)
    # stratified: each fold holds won contacts, so every fold's log-loss is defined
    splits = list(
        StratifiedGroupKFold(folds, shuffle=True, random_state=0).split(matrix, won, groups)
    )
    search = GridSearchCV(base, {"C": list(STRENGTHS)}, cv=splits, scoring="neg_log_loss")
    search.fit(matrix, won)
    best: LogisticRegression = search.best_estimator_
    return best


def suggest_points(features: Features, lines: list[SignalLine]) -> list[PointSuggestion]:
    """Suggested points for each behaviour and fit rule with fixed points: the fitted
    coefficients, scaled so that the strongest positive one gets the highest positive points
    those rules have today; a rule that counts again (no ``max_total = 1``) gets that share per
    day it happened on, on average, within a window where it did. A rule behind fewer than
    :data:`scoring.measures.MIN_WINS` won contacts keeps its points ("insufficient data");
    empty when the whole history has fewer."""
    catalog = features.catalog
    evidence = {line.signal.key: line for line in lines}
    columns = [
        j for j in catalog.columns(FROM_RULES).tolist() if catalog.signals[j].points is not None
    ]
    won_contacts = len(np.unique(features.contact_ids[features.won]))
    if not columns or features.won.all() or won_contacts < MIN_WINS:
        return []
    present = np.asarray(features.matrix[:, columns].sum(axis=0)).ravel().astype(np.int64)
    used = [j for j, n in zip(columns, present.tolist(), strict=True) if n > 0]
    model = fit_logistic(features.matrix[:, used], features.won, features.contact_ids)
    coefficient = dict(zip(used, model.coef_[0].tolist(), strict=True))
    known = {
        j: b
        for j, b in coefficient.items()
        if (line := evidence.get(catalog.signals[j].key)) and line.won_contacts >= MIN_WINS
    }
    top_points = max((catalog.signals[j].points or 0.0 for j in known), default=0.0)
    top_coefficient = max(known.values(), default=0.0)
    scale = top_points / top_coefficient if top_coefficient > 0 and top_points > 0 else 0.0
    once = {f"rule:{r.id}" for r in catalog.rules.rules if r.max_total == 1}
    once |= {f"fit:{f.id}" for f in catalog.rules.fit}
    out = []
    for j, n in zip(columns, present.tolist(), strict=True):
        signal = catalog.signals[j]
        repeats = 1.0 if signal.key in once else float(features.days_when_present[j])
        line = evidence.get(signal.key)
        out.append(
            PointSuggestion(
                signal,
                coefficient.get(j),
                round(scale * known[j] / repeats) if j in known else None,
                int(n),
                line.won_contacts if line is not None else 0,
                repeats,
            )
        )
    return out


_TABLE = re.compile(r"^\s*\[\[?([a-z_.]+)\]\]?\s*(#.*)?$")
_ID = re.compile(r'^\s*id\s*=\s*"([^"]+)"')
_POINTS = re.compile(r"^(\s*points\s*=\s*)(-?[0-9.]+)(.*)$")
_VERSION = re.compile(r'^(\s*version\s*=\s*")([^"]*)(".*)$')


def rewrite_points(
    text: str, suggestions: list[PointSuggestion], version_suffix: str = "+analyze"
) -> tuple[str, str]:
    """(the whole rule file with the suggested points and a new version, the changed
    ``[[rules]]``/``[[fit]]`` tables alone). Rules whose points are not a plain number on their
    own ``points = N`` line are left as they are."""
    wanted = {
        (s.signal.kind, s.rule_id): s
        for s in suggestions
        if s.suggested is not None and s.suggested != s.signal.points
    }
    lines = text.splitlines()
    blocks: list[tuple[str, int, int]] = []  # (table name, first line, end line)
    for i, line in enumerate(lines):
        match = _TABLE.match(line)
        if match:
            if blocks:
                blocks[-1] = (blocks[-1][0], blocks[-1][1], i)
            blocks.append((match.group(1), i, len(lines)))
    changed: list[str] = []
    for table, first, end in blocks:
        kind = {"rules": "rule", "fit": "fit"}.get(table)
        body = lines[first:end]
        ident = next((m.group(1) for m in map(_ID.match, body) if m), None)
        found = wanted.get((kind, ident)) if kind and ident else None
        if found is None:
            continue
        for k in range(first, end):
            match = _POINTS.match(lines[k])
            if match:
                note = f"  # was {match.group(2)} (scorebridge analyze)"
                lines[k] = f"{match.group(1)}{found.suggested}{note}"
                block = [line.rstrip() for line in lines[first:end]]
                while block and (not block[-1] or block[-1].lstrip().startswith("#")):
                    block.pop()
                changed.append("\n".join(block))
                break
    for i, line in enumerate(lines):
        match = _VERSION.match(line)
        if match:
            lines[i] = f"{match.group(1)}{match.group(2)}{version_suffix}{match.group(3)}"
            break
    return "\n".join(lines) + "\n", "\n\n".join(changed) + ("\n" if changed else "")
