"""The report's plots, drawn with matplotlib into SVG text (no pyplot, no display, no network).

Owns: one function per plot, each taking plain results (:mod:`scoring.backtest`,
:mod:`scoring.analysis`, :mod:`scoring.predict`) and returning the ``<svg>`` element as text:
score distribution by band, win rate by band and stage conversion, ROC and precision-recall of
each rule file, signal lift, leads entering each band per week, and the predictive score's
reliability curve. Text stays text in the SVG (``svg.fonttype = none``: the browser's sans-serif
font, nothing fetched) and the ids are salted with a fixed string, so the same results give the
same bytes. Must not: read the store, compute metrics beyond what a plot needs to place marks
(the curves come from scikit-learn), or write files.
"""

from __future__ import annotations

import io
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import matplotlib as mpl
import numpy as np
from matplotlib.figure import Figure
from sklearn.metrics import precision_recall_curve, roc_curve

from scorebridge.scoring.analysis import SignalLine
from scorebridge.scoring.backtest import Evaluation
from scorebridge.scoring.batch import to_us
from scorebridge.scoring.predict import Calibration

#: One colour per rule file (candidate first) and per band (coldest first).
FILE_COLOURS = ("#1f6fb2", "#d9822b", "#5b8c3a")
BAND_COLOURS = ("#7fa7c9", "#f0b74a", "#d1495b", "#6d3a8c", "#2f4858")
STYLE: Any = {
    "svg.fonttype": "none",
    "svg.hashsalt": "scorebridge-report",
    "font.family": "sans-serif",
    "font.size": 9,
    "axes.spines.top": False,
    "axes.spines.right": False,
}


def _svg(fig: Figure) -> str:
    buffer = io.StringIO()
    with mpl.rc_context(STYLE):
        fig.savefig(buffer, format="svg", metadata={"Date": None}, bbox_inches="tight")
    text = buffer.getvalue()
    return text[text.index("<svg") :]


def _figure(width: float = 7.0, height: float = 3.2) -> Figure:
    with mpl.rc_context(STYLE):
        return Figure(figsize=(width, height), layout="constrained")


def score_distribution(evaluations: Sequence[Evaluation]) -> str:
    """Contact-snapshots per score, coloured by band, one panel per rule file."""
    with mpl.rc_context(STYLE):
        fig = _figure(height=2.6 * len(evaluations))
        axes = fig.subplots(len(evaluations), 1, squeeze=False)[:, 0]
        for ax, ev in zip(axes, evaluations, strict=True):
            hist = ev.histogram
            counts = hist.negatives + hist.positives
            lowers = [b.lower for b in ev.bands]
            for i, band in enumerate(ev.bands):
                low = lowers[i]
                high = lowers[i + 1] if i + 1 < len(lowers) else None
                inside = (hist.levels >= (-np.inf if low is None else low)) & (
                    hist.levels < (np.inf if high is None else high)
                )
                ax.bar(
                    hist.levels[inside],
                    counts[inside],
                    width=1.0,
                    color=BAND_COLOURS[i % len(BAND_COLOURS)],
                    label=band.name,
                )
            ax.set_yscale("log")
            ax.set_title(f"{ev.name}: score at each snapshot", loc="left")
            ax.set_xlabel("score")
            ax.set_ylabel("contact-snapshots")
            ax.legend(frameon=False)
    return _svg(fig)


def conversion(evaluations: Sequence[Evaluation]) -> str:
    """Win rate within the window per band (with intervals), and stage conversion."""
    with mpl.rc_context(STYLE):
        fig = _figure(height=3.0)
        left, right = fig.subplots(1, 2)
        width = 0.8 / len(evaluations)
        for k, ev in enumerate(evaluations):
            x = np.arange(len(ev.bands)) + k * width
            rate = [b.rate.value or 0.0 for b in ev.bands]
            low = [max(0.0, r - (b.rate.low or r)) for r, b in zip(rate, ev.bands, strict=True)]
            high = [(b.rate.high or r) - r for r, b in zip(rate, ev.bands, strict=True)]
            left.bar(x, rate, width, yerr=[low, high], color=FILE_COLOURS[k], label=ev.name)
            stages = ev.stages
            labels = [s.key for s in stages] + ["won"]
            reached = [s.reached for s in stages]
            won = stages[0].won_after if stages else 0
            right.bar(
                np.arange(len(labels)) + k * width,
                [*reached, won],
                width,
                color=FILE_COLOURS[k],
                label=ev.name,
            )
            right.set_xticks(np.arange(len(labels)) + width * (len(evaluations) - 1) / 2, labels)
        names = [b.name for b in evaluations[0].bands]
        left.set_xticks(np.arange(len(names)) + width * (len(evaluations) - 1) / 2, names)
        left.set_title("won within the window, by band", loc="left")
        left.set_ylabel("win rate")
        left.axhline(evaluations[0].base_rate, color="#555", linewidth=0.8, linestyle=":")
        right.set_title("contacts reaching each stage, then winning", loc="left")
        right.set_ylabel("contacts")
        left.legend(frameon=False)
    return _svg(fig)


def curves(evaluations: Sequence[Evaluation]) -> str:
    """ROC and precision-recall curves of each rule file (scikit-learn, on the histograms)."""
    with mpl.rc_context(STYLE):
        fig = _figure(height=3.2)
        roc_ax, pr_ax = fig.subplots(1, 2)
        for k, ev in enumerate(evaluations):
            scores, labels, weights = ev.histogram.labelled()
            keep = weights > 0
            if labels[keep].min(initial=1) == labels[keep].max(initial=0):
                continue
            fpr, tpr, _ = roc_curve(labels[keep], scores[keep], sample_weight=weights[keep])
            precision, recall, _ = precision_recall_curve(
                labels[keep], scores[keep], sample_weight=weights[keep]
            )
            auc = ev.auc.text()
            roc_ax.plot(fpr, tpr, color=FILE_COLOURS[k], label=f"{ev.name} (AUC {auc})")
            # scikit-learn ends the curve at (recall 0, precision 1) by convention: not a threshold
            pr_ax.plot(recall[:-1], precision[:-1], color=FILE_COLOURS[k], label=ev.name)
            pr_ax.axhline(ev.base_rate, color="#555", linewidth=0.8, linestyle=":")
        roc_ax.plot([0, 1], [0, 1], color="#999", linewidth=0.8, linestyle="--")
        roc_ax.set_title("ROC", loc="left")
        roc_ax.set_xlabel("false-positive rate")
        roc_ax.set_ylabel("true-positive rate (recall)")
        roc_ax.legend(frameon=False, loc="lower right")
        pr_ax.set_title("precision and recall", loc="left")
        pr_ax.set_xlabel("recall")
        pr_ax.set_ylabel("precision")
    return _svg(fig)


def signal_lift(lines: Sequence[SignalLine], most: int = 20) -> str:
    """The signals with the highest lift over the base rate, with their intervals."""
    known = [line for line in lines if line.lift.value is not None][:most]
    with mpl.rc_context(STYLE):
        fig = _figure(height=0.28 * max(4, len(known)) + 0.8)
        ax = fig.subplots()
        y = np.arange(len(known))[::-1]
        values = [line.lift.value or 0.0 for line in known]
        low = [v - (line.lift.low or v) for v, line in zip(values, known, strict=True)]
        high = [(line.lift.high or v) - v for v, line in zip(values, known, strict=True)]
        ax.barh(y, values, xerr=[low, high], color=FILE_COLOURS[0], height=0.6)
        ax.set_yticks(y, [f"{line.signal.label}" for line in known])
        ax.axvline(1.0, color="#555", linewidth=0.8, linestyle=":")
        ax.set_xlabel("lift: win rate with the signal / base rate")
        ax.set_title("signals that foretell a win", loc="left")
    return _svg(fig)


def leads_per_week(
    evaluations: Sequence[Evaluation], instants: Sequence[datetime], weeks_per_step: float
) -> str:
    """Leads entering each band (above the base band) per week, at each snapshot."""
    with mpl.rc_context(STYLE):
        fig = _figure(height=3.0)
        ax = fig.subplots()
        when = np.array([to_us(t) for t in instants[1:]], np.int64).astype("datetime64[us]")
        for k, ev in enumerate(evaluations):
            for i, (band, counts) in enumerate(ev.entering.items()):
                per_week = np.array(counts, dtype=np.float64) / max(weeks_per_step, 1e-9)
                ax.plot(
                    when,
                    per_week,
                    color=BAND_COLOURS[(i + 1) % len(BAND_COLOURS)],
                    linestyle="-" if k == 0 else "--",
                    label=f"{band} ({ev.name})",
                )
        ax.set_title("leads entering each band per week (the sales workload)", loc="left")
        ax.set_ylabel("leads per week")
        ax.legend(frameon=False, ncols=2)
    return _svg(fig)


def calibration(held_out: Calibration) -> str:
    """Predicted against observed win rates on the held-out period, by decile of prediction."""
    with mpl.rc_context(STYLE):
        fig = _figure(width=4.6, height=3.4)
        ax = fig.subplots()
        predicted = [p for p, _, _ in held_out.curve]
        observed = [o for _, o, _ in held_out.curve]
        sizes = [n for _, _, n in held_out.curve]
        top = max([*predicted, *observed, 0.01]) * 1.1
        ax.plot([0, top], [0, top], color="#999", linewidth=0.8, linestyle="--")
        ax.scatter(predicted, observed, s=[10 + 40 * n / max(sizes) for n in sizes],
                   color=FILE_COLOURS[0], zorder=3)  # fmt: skip
        ax.plot(predicted, observed, color=FILE_COLOURS[0], linewidth=1.0)
        ax.set_xlim(0, top)
        ax.set_ylim(0, top)
        ax.set_xlabel("predicted probability (decile mean)")
        ax.set_ylabel("observed win rate")
        ax.set_title(
            f"held out: AUC {held_out.auc or 0:.2f}, calibration error "
            f"{held_out.calibration_error:.4f}",
            loc="left",
        )
    return _svg(fig)
