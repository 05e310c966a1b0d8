"""The predictive score: a calibrated probability of a won deal within the window (§5.1).

Owns: the time split (:func:`split`: the held-out snapshots are the last ones whose window the
history covers; the model learns only from snapshots whose window closed before the first of
them, so nothing from the held-out period or later leaks into it), :func:`fit` (scikit-learn's
L2 logistic regression on the signals of :mod:`scoring.signals`, its strength chosen over folds
of contacts, then a sigmoid calibration on the latest third of the training snapshots),
:func:`evaluate` (AUC, Brier score and expected calibration error on held-out rows, and the
reliability curve), and the explanations (:meth:`Model.top_features`, :meth:`Model.reasons`).
The rule score stays the primary score; this one is written beside it.
Must not: read the store or the clock.

The calibration error: scikit-learn has no expected calibration error, and its
``calibration_curve`` does not return how many rows each bin holds, so the bins are made here:
deciles of the predicted probability, each bin's mean prediction against its observed win rate,
weighted by its rows.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from scipy import sparse
from sklearn.calibration import CalibratedClassifierCV
from sklearn.frozen import FrozenEstimator
from sklearn.linear_model import LogisticRegression
from sklearn.metrics import brier_score_loss, roc_auc_score

from scorebridge.errors import InsufficientData
from scorebridge.scoring.analysis import fit_logistic
from scorebridge.scoring.measures import MIN_WINS
from scorebridge.scoring.signals import Features, Signal

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
#: A signal seen for fewer training contacts than this is not a feature of the model.
MIN_FEATURE_CONTACTS = 20
BINS = 10


@dataclass(frozen=True)
class Split:
    """Snapshot indices: the model learns from ``train`` (calibrates on ``calibrate``, the
    latest part of it) and is judged on ``held_out``."""

    train: I64
    calibrate: I64
    held_out: I64


def split(instants: I64, window_us: int, holdout_us: int) -> Split:
    """The time split of snapshots ``instants`` (ascending; each one's window is covered).

    Raises:
        InsufficientData: no snapshot left to learn from before the held-out period.
    """
    last = int(instants[-1])
    held = np.flatnonzero(instants > last - holdout_us)
    first_held = int(instants[held[0]])
    train = np.flatnonzero(instants + window_us <= first_held)
    if len(train) < 2:
        raise InsufficientData(
            "the history is too short for a time split: the model needs snapshots whose "
            "window closed before the held-out period (a longer history, a shorter window or "
            "a shorter holdout)"
        )
    calibrate = train[len(train) - max(1, len(train) // 3) :]
    return Split(train, calibrate, held)


@dataclass
class Model:
    """A fitted predictive model: which signals it reads, and the calibrated classifier."""

    columns: I64
    signals: list[Signal]
    logistic: LogisticRegression
    calibrated: CalibratedClassifierCV
    rows: int
    won_contacts: int

    def probability(self, matrix: sparse.csr_matrix) -> F64:
        """The calibrated probability of a win within the window, per row of ``matrix``."""
        if matrix.shape[0] == 0:
            return np.zeros(0)
        result: F64 = self.calibrated.predict_proba(matrix[:, self.columns])[:, 1]
        return result

    def top_features(self, n: int = 10) -> list[dict[str, Any]]:
        """The signals that move the odds most, with their odds ratios."""
        coef = self.logistic.coef_[0]
        order = np.argsort(-np.abs(coef))[:n]
        return [
            {
                "signal": self.signals[i].key,
                "label": self.signals[i].label,
                "coefficient": round(float(coef[i]), 4),
                "odds_ratio": round(float(np.exp(coef[i])), 3),
            }
            for i in order.tolist()
        ]

    def reasons(self, matrix: sparse.csr_matrix, n: int = 3) -> list[list[str]]:
        """Per row, the labels of the present signals that raise its odds most."""
        coef = self.logistic.coef_[0]
        picked = matrix[:, self.columns].tocsr()
        out = []
        for row in range(picked.shape[0]):
            cols = picked.indices[picked.indptr[row] : picked.indptr[row + 1]]
            ranked = sorted((c for c in cols.tolist() if coef[c] > 0), key=lambda c: -coef[c])
            out.append([self.signals[c].label for c in ranked[:n]])
        return out


def _rows(features: Features, snapshots: I64) -> Bools:
    return np.isin(features.snapshot, snapshots)


def fit(features: Features, chosen: Split, strength: float | None = None) -> Model:
    """Fit on the training snapshots and calibrate on their latest third (``strength``: the
    regularization to use instead of choosing one by cross-validation).

    Raises:
        InsufficientData: fewer than :data:`scoring.measures.MIN_WINS` won contacts to learn
            from, or a calibration part without both outcomes.
    """
    train = _rows(features, chosen.train)
    calib = _rows(features, chosen.calibrate)
    learn = train & ~calib
    won_contacts = len(np.unique(features.contact_ids[train & features.won]))
    if won_contacts < MIN_WINS:
        raise InsufficientData(
            f"insufficient data ({won_contacts} wins) before the held-out period to fit a model"
        )
    if features.won[learn].all() or not features.won[learn].any():
        raise InsufficientData("the learning snapshots hold only one outcome")
    if features.won[calib].all() or not features.won[calib].any():
        raise InsufficientData("the calibration snapshots hold only one outcome")
    matrix = features.matrix
    n = int(train.sum())
    _, contact_col = np.unique(features.contact_ids[train], return_inverse=True)
    per_contact = sparse.csr_matrix((np.ones(n), (np.arange(n), contact_col)))
    contacts = np.asarray(((per_contact.T @ matrix[train]) > 0).sum(axis=0)).ravel()
    columns = np.flatnonzero(contacts >= MIN_FEATURE_CONTACTS).astype(np.int64)
    logistic = fit_logistic(
        matrix[learn][:, columns], features.won[learn], features.contact_ids[learn], strength
    )
    calibrated = CalibratedClassifierCV(FrozenEstimator(logistic), method="sigmoid")
    calibrated.fit(matrix[calib][:, columns], features.won[calib])
    signals = [features.catalog.signals[c] for c in columns.tolist()]
    return Model(columns, signals, logistic, calibrated, int(train.sum()), won_contacts)


@dataclass(frozen=True)
class Calibration:
    """How a model did on held-out rows."""

    rows: int
    won_contacts: int
    base_rate: float
    mean_predicted: float
    auc: float | None
    brier: float
    calibration_error: float
    curve: list[tuple[float, float, int]]  # (mean predicted, observed rate, rows) per bin

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "rows": self.rows,
            "won_contacts": self.won_contacts,
            "base_rate": round(self.base_rate, 5),
            "mean_predicted": round(self.mean_predicted, 5),
            "auc": None if self.auc is None else round(self.auc, 4),
            "brier": round(self.brier, 5),
            "calibration_error": round(self.calibration_error, 5),
            "curve": [
                {"predicted": round(p, 5), "observed": round(o, 5), "rows": n}
                for p, o, n in self.curve
            ],
        }


def evaluate(model: Model, features: Features, snapshots: I64) -> Calibration:
    """AUC, Brier score, expected calibration error and the reliability bins on ``snapshots``.

    Raises:
        InsufficientData: fewer than :data:`scoring.measures.MIN_WINS` won contacts there.
    """
    rows = _rows(features, snapshots)
    won = features.won[rows]
    won_contacts = len(np.unique(features.contact_ids[rows & features.won]))
    if won_contacts < MIN_WINS:
        raise InsufficientData(
            f"insufficient data ({won_contacts} wins) in the held-out period to judge the model"
        )
    p = model.probability(features.matrix[rows])
    edges = np.unique(np.quantile(p, np.linspace(0, 1, BINS + 1)))
    index = np.clip(np.searchsorted(edges, p, side="right") - 1, 0, max(0, len(edges) - 2))
    curve = []
    error = 0.0
    for b in np.unique(index).tolist():
        inside = index == b
        predicted, observed = float(p[inside].mean()), float(won[inside].mean())
        curve.append((predicted, observed, int(inside.sum())))
        error += inside.sum() / len(p) * abs(predicted - observed)
    auc = float(roc_auc_score(won, p)) if won.any() and not won.all() else None
    return Calibration(
        rows=int(rows.sum()),
        won_contacts=won_contacts,
        base_rate=float(won.mean()),
        mean_predicted=float(p.mean()),
        auc=auc,
        brier=float(brier_score_loss(won, p)),
        calibration_error=float(error),
        curve=curve,
    )


@dataclass
class Judgement:
    """A model fitted before the held-out period, and how it did there."""

    model: Model
    calibration: Calibration
    split: Split


def judge(features: Features, instants: I64, window_us: int, holdout_us: int) -> Judgement:
    """Split in time, fit on the past, judge on the held-out period (see :func:`split`).

    Raises:
        InsufficientData: too short a history, or too few wins on either side.
    """
    chosen = split(instants, window_us, holdout_us)
    model = fit(features, chosen)
    return Judgement(model, evaluate(model, features, chosen.held_out), chosen)
