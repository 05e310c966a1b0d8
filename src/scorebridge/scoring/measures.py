"""Small statistics shared by the backtest, the signal analysis and the predictive score.

Owns: :class:`Estimate` (a number with an interval, or "insufficient data (n wins)"), the win
rate of a group of contact-snapshots with its Wilson interval (:func:`win_rate`), and the
sklearn metrics computed on a weighted histogram instead of millions of rows
(:func:`histogram`, :func:`auc_of`, :func:`binary_scores`). Must not: read the store or the
clock.

Why intervals use contacts: one contact appears at every snapshot it is eligible for, so its
rows are not independent. A win rate is taken over contact-snapshots; its Wilson interval uses
the number of distinct contacts behind it as the sample size (the rate times that number as the
successes), which is the conservative design effect of fully correlated repeats.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy.stats import binomtest
from sklearn.metrics import precision_recall_fscore_support, roc_auc_score

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]

#: Fewer won contacts than this behind a metric and it reads "insufficient data (n wins)".
MIN_WINS = 5
CONFIDENCE = 0.95


@dataclass(frozen=True)
class Estimate:
    """A metric: ``value`` with a ``low``-``high`` interval, or None with the wins it had."""

    value: float | None
    low: float | None = None
    high: float | None = None
    wins: int = 0

    @classmethod
    def insufficient(cls, wins: int) -> Estimate:
        """Too few won contacts to say anything."""
        return cls(None, wins=wins)

    @property
    def known(self) -> bool:
        """Whether there is a number."""
        return self.value is not None

    def text(self, digits: int = 2) -> str:
        """``0.71 (0.65-0.77)``, ``0.71`` or ``insufficient data (7 wins)``."""
        if self.value is None:
            return f"insufficient data ({self.wins} win{'s' if self.wins != 1 else ''})"
        if self.low is None or self.high is None:
            return f"{self.value:.{digits}f}"
        return f"{self.value:.{digits}f} ({self.low:.{digits}f}-{self.high:.{digits}f})"

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready: the numbers, or ``insufficient`` with the message."""
        if self.value is None:
            return {"insufficient": self.text(), "wins": self.wins}
        out: dict[str, Any] = {"value": round(self.value, 4), "wins": self.wins}
        if self.low is not None and self.high is not None:
            out |= {"low": round(self.low, 4), "high": round(self.high, 4)}
        return out


def win_rate(rows: int, wins: int, contacts: int, won_contacts: int) -> Estimate:
    """The win rate of ``rows`` contact-snapshots (``wins`` of them won) with a Wilson interval
    on the ``contacts`` behind them (see the module docstring); insufficient below
    :data:`MIN_WINS` won contacts."""
    if won_contacts < MIN_WINS or rows == 0 or contacts == 0:
        return Estimate.insufficient(won_contacts)
    rate = wins / rows
    successes = min(contacts, max(0, round(rate * contacts)))
    interval = binomtest(successes, contacts).proportion_ci(CONFIDENCE, method="wilson")
    return Estimate(rate, float(interval.low), float(interval.high), won_contacts)


@dataclass(frozen=True)
class Histogram:
    """Counts of contact-snapshots per (score level, won): ``negatives[i]``/``positives[i]`` at
    ``levels[i]``."""

    levels: F64
    negatives: F64
    positives: F64

    def labelled(self) -> tuple[F64, I64, F64]:
        """(scores, labels, weights) for an sklearn metric with ``sample_weight``."""
        k = len(self.levels)
        scores = np.concatenate([self.levels, self.levels])
        labels = np.concatenate([np.zeros(k, np.int64), np.ones(k, np.int64)])
        return scores, labels, np.concatenate([self.negatives, self.positives])


def histogram(scores: npt.NDArray[Any], won: Bools, weights: F64 | None = None) -> Histogram:
    """The score histogram of pooled rows by outcome (optionally weighted)."""
    levels, index = np.unique(scores, return_inverse=True)
    w = np.ones(len(scores)) if weights is None else weights
    k = len(levels)
    neg = np.bincount(index[~won], weights=w[~won], minlength=k).astype(np.float64)
    pos = np.bincount(index[won], weights=w[won], minlength=k).astype(np.float64)
    return Histogram(levels.astype(np.float64), neg, pos)


def auc_of(hist: Histogram) -> float | None:
    """ROC AUC of a histogram (None without both outcomes)."""
    if hist.positives.sum() <= 0 or hist.negatives.sum() <= 0:
        return None
    scores, labels, weights = hist.labelled()
    keep = weights > 0
    return float(roc_auc_score(labels[keep], scores[keep], sample_weight=weights[keep]))


@dataclass(frozen=True)
class BinaryScores:
    """Precision, recall and F1 of a yes/no flag against the outcome, with the counts."""

    flagged: int
    true_positives: int
    precision: float
    recall: float
    f1: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "flagged": self.flagged,
            "true_positives": self.true_positives,
            "precision": round(self.precision, 4),
            "recall": round(self.recall, 4),
            "f1": round(self.f1, 4),
        }


def binary_scores(flag: Bools, won: Bools) -> BinaryScores:
    """Precision/recall/F1 of ``flag`` (sklearn, on the four confusion counts as weights)."""
    counts = np.bincount(2 * flag.astype(np.int64) + won, minlength=4).astype(np.float64)
    truth = np.array([0, 1, 0, 1])
    guess = np.array([0, 0, 1, 1])
    keep = counts > 0
    precision, recall, f1, _ = precision_recall_fscore_support(
        truth[keep],
        guess[keep],
        sample_weight=counts[keep],
        average="binary",
        zero_division=0.0,
    )
    return BinaryScores(
        int(counts[2] + counts[3]), int(counts[3]), float(precision), float(recall), float(f1)
    )
