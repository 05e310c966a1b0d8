"""Every score threshold judged on history, and the threshold that meets a target (DESIGN §5.1).

Owns: :func:`threshold_table` (for each score a lead can have: precision, recall and F1 of
"score >= threshold" against a win within the window, the false-positive rate, and how many
leads would have crossed it per week, i.e. the sales workload) and :func:`suggest` (the lowest
threshold that reaches a target precision, or the lowest that keeps the weekly crossings under a
maximum, with the numbers marketing and sales agree on). Must not: read the store or the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt
from sklearn.metrics import precision_recall_curve, roc_curve

from scorebridge.scoring.measures import Histogram

I64 = npt.NDArray[np.int64]
F64 = npt.NDArray[np.float64]
Bools = npt.NDArray[np.bool_]
WEEK_US = 7 * 86_400 * 1_000_000


@dataclass(frozen=True)
class ThresholdRow:
    """``score >= threshold`` as a rule, judged on the pooled contact-snapshots."""

    threshold: int
    precision: float
    recall: float
    f1: float
    false_positive_rate: float
    flagged_share: float
    entering_per_week: float
    wins_per_week: float

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready."""
        return {k: round(v, 4) if isinstance(v, float) else v for k, v in vars(self).items()}


def crossings(total: npt.NDArray[Any], eligible: Bools, levels: I64) -> F64:
    """How often an eligible contact reached each level from below between two consecutive
    snapshots; a contact not yet eligible before (not yet active) counts as coming from below.
    The first snapshot is the starting state."""
    if len(total) < 2 or not len(levels):
        return np.zeros(len(levels))
    below = int(levels[0]) - 1
    prev = np.where(eligible[:-1], total[:-1], below)
    cur = total[1:]
    up = eligible[1:] & (cur > prev)
    # crossed: the levels above prev and at or below cur
    start = np.searchsorted(levels, prev[up], side="right")
    stop = np.searchsorted(levels, cur[up], side="right")
    marks = np.bincount(start, minlength=len(levels) + 1) - np.bincount(
        stop, minlength=len(levels) + 1
    )
    return np.cumsum(marks)[: len(levels)].astype(np.float64)


def threshold_table(
    hist: Histogram, total: npt.NDArray[Any], eligible: Bools, weeks: float
) -> list[ThresholdRow]:
    """One row per distinct score level of the history (ascending)."""
    scores, labels, weights = hist.labelled()
    keep = weights > 0
    levels = hist.levels.astype(np.int64)
    positives, rows = hist.positives.sum(), hist.positives.sum() + hist.negatives.sum()
    if positives <= 0 or positives >= rows:
        return []
    precision, recall, pr_at = precision_recall_curve(
        labels[keep], scores[keep], sample_weight=weights[keep]
    )
    fpr, _, roc_at = roc_curve(
        labels[keep], scores[keep], sample_weight=weights[keep], drop_intermediate=False
    )
    pairs = zip(pr_at, precision, recall, strict=False)
    by_pr = {int(t): (float(p), float(r)) for t, p, r in pairs}
    by_roc = {int(t): float(f) for t, f in zip(roc_at, fpr, strict=False) if np.isfinite(t)}
    above = np.cumsum((hist.positives + hist.negatives)[::-1])[::-1]
    crossed = crossings(total, eligible, levels)
    out = []
    for i, level in enumerate(levels.tolist()):
        p, r = by_pr.get(level, (0.0, 0.0))
        f1 = 2 * p * r / (p + r) if p + r > 0 else 0.0
        per_week = crossed[i] / weeks if weeks > 0 else 0.0
        out.append(
            ThresholdRow(
                threshold=level,
                precision=p,
                recall=r,
                f1=f1,
                false_positive_rate=by_roc.get(level, 0.0),
                flagged_share=float(above[i] / rows),
                entering_per_week=float(per_week),
                wins_per_week=float(per_week * p),
            )
        )
    return out


@dataclass(frozen=True)
class Suggestion:
    """A threshold for the top band that meets the target on history (or why none does)."""

    target: str
    row: ThresholdRow | None
    band: str
    reason: str = ""

    def snippet(self, bands: dict[str, float]) -> str:
        """The ``bands`` line of the rule file with the suggested threshold."""
        if self.row is None:
            return ""
        merged = dict(bands) | {self.band: float(self.row.threshold)}
        inner = ", ".join(f"{k} = {v:g}" for k, v in merged.items())
        return f"bands = {{ {inner} }}"

    def as_dict(self, bands: dict[str, float]) -> dict[str, Any]:
        """JSON-ready."""
        return {
            "target": self.target,
            "band": self.band,
            "threshold": None if self.row is None else self.row.as_dict(),
            "reason": self.reason,
            "snippet": self.snippet(bands),
        }


def suggest(
    table: list[ThresholdRow],
    band: str,
    *,
    target_precision: float | None = None,
    max_per_week: float | None = None,
    above: float | None = None,
) -> Suggestion:
    """The lowest threshold whose precision reaches ``target_precision`` (most wins caught at
    that precision), or the lowest whose crossings stay at most ``max_per_week``; only
    thresholds over ``above`` (the band below's threshold) are considered."""
    if (target_precision is None) == (max_per_week is None):
        raise ValueError("give exactly one target: a precision or a maximum per week")
    if above is not None:
        table = [r for r in table if r.threshold > above]
    if target_precision is not None:
        target = f"precision >= {target_precision:g}"
        meets = [r for r in table if r.precision >= target_precision and r.recall > 0]
        best = max(table, key=lambda r: r.precision, default=None)
        why = f"no threshold reaches precision {target_precision:g} on history" + (
            f" (best {best.precision:.2f} at {best.threshold})" if best else ""
        )
    else:
        assert max_per_week is not None
        target = f"at most {max_per_week:g} leads per week"
        meets = [r for r in table if r.entering_per_week <= max_per_week and r.recall > 0]
        why = f"no threshold keeps the weekly crossings at or under {max_per_week:g}"
    if not meets:
        return Suggestion(target, None, band, why if table else "no wins in the history")
    return Suggestion(target, min(meets, key=lambda r: r.threshold), band)
