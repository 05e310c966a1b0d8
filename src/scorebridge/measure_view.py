"""How ``backtest`` and ``analyze`` look on a terminal: rule files side by side, signals ranked.

``--json`` output never comes through here. Must not: compute metrics (it formats what
:mod:`scorebridge.measure` and :mod:`scoring.analysis` computed).
"""

from __future__ import annotations

from typing import Any

import numpy as np
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from scorebridge.scoring.backtest import Evaluation
from scorebridge.scoring.measures import BinaryScores


def _pct(value: float) -> str:
    return f"{100 * value:.1f} %"


def _prf(scores: BinaryScores | None) -> str:
    if scores is None:
        return "-"
    return (
        f"P {scores.precision:.2f} R {scores.recall:.2f} F1 {scores.f1:.2f} "
        f"({scores.flagged} flagged)"
    )


def _rows(ev: Evaluation) -> list[tuple[str, str]]:
    rows = [
        ("AUC (95 % interval)", ev.auc.text()),
        (
            "base rate",
            f"{_pct(ev.base_rate)} ({ev.won_rows} of {ev.rows} contact-snapshots; "
            f"{ev.won_contacts} won contacts)",
        ),
    ]
    for band in ev.bands:
        lower = "" if band.lower is None else f" (>= {band.lower:g})"
        rate = band.rate.text(3) if band.rate.known else band.rate.text()
        rows.append((f"band {band.name}{lower}: win rate", rate))
        rows.append((f"band {band.name}: lift over base", band.lift.text()))
        if band.at_or_above is not None:
            rows.append((f"band {band.name} or above", _prf(band.at_or_above)))
            rows.append((f"entering {band.name} per week", f"{band.entering_per_week:.1f}"))
    for stage in ev.stages:
        rows.append((f"stage {stage.key} or later", _prf(stage.at_or_above)))
        conversion = f"{stage.reached} reached"
        if stage.next_reached is not None:
            share = stage.next_reached / stage.reached if stage.reached else 0.0
            conversion += f", {stage.next_reached} moved on ({_pct(share)})"
        won = stage.won_after / stage.reached if stage.reached else 0.0
        conversion += f", {stage.won_after} won within the window ({_pct(won)})"
        rows.append((f"stage {stage.key} conversion", conversion))
    days = "-" if ev.median_days_to_top is None else f"{ev.median_days_to_top:.0f} days"
    rows.append(
        (
            f"first activity -> {ev.bands[-1].name} (median)",
            f"{days} ({ev.top_band_contacts} contacts)",
        )
    )
    for do, count in ev.actions.items():
        rows.append((f"would have created: {do}", str(count)))
    rows.append(("deals for distinct contacts", str(ev.deal_contacts)))
    return rows


def print_backtest(result: Any, console: Console | None = None) -> None:
    """A backtest: the history, then one column per rule file, then the suggestion."""
    out = console or Console(emoji=False)
    plan, bounds = result.plan, result.bounds
    out.print(
        f"history: {bounds.first_activity:%Y-%m-%d} to {bounds.last_event:%Y-%m-%d}, "
        f"{bounds.won} won and {bounds.lost} lost deal(s); {len(plan.instants)} snapshot(s) "
        f"every {plan.every.days} day(s) from {plan.instants[0]:%Y-%m-%d} to "
        f"{plan.instants[-1]:%Y-%m-%d}, window {plan.window.days} days",
        highlight=False,
    )
    table = Table(title="backtest")
    table.add_column("")
    for ev in result.evaluations:
        table.add_column(f"{ev.name}\n{escape(ev.path)}\nversion {escape(ev.version)}")
    columns = [_rows(ev) for ev in result.evaluations]
    labels = [label for label, _ in columns[0]]
    for i, label in enumerate(labels):
        cells = [dict(col).get(label, "-") for col in columns]
        table.add_row(escape(label), *map(escape, cells))
        del i
    out.print(table)
    if result.auc_difference is not None:
        names = " - ".join(ev.name for ev in result.evaluations[:2])
        out.print(f"AUC difference ({names}): {result.auc_difference.text(3)}", highlight=False)
    if result.wins_without_activity:
        out.print(
            f"{result.wins_without_activity} won contact(s) had no tracked activity and are not "
            "counted (no score could have found them)",
            highlight=False,
        )
    suggestion = result.suggestion
    if suggestion is not None:
        if suggestion.row is None:
            out.print(f"suggestion ({suggestion.target}): {suggestion.reason}", highlight=False)
        else:
            r = suggestion.row
            bands = dict(result.files[0].rules.bands)
            out.print(
                f"suggestion ({suggestion.target}): {suggestion.band} from {r.threshold} points - "
                f"precision {r.precision:.2f} (of the leads at or above it, that share won within "
                f"the window), recall {r.recall:.2f} (the share of wins flagged beforehand), "
                f"{r.entering_per_week:.1f} lead(s) crossing it per week, about "
                f"{r.wins_per_week:.1f} of them winning\n  rule file: {suggestion.snippet(bands)}",
                highlight=False,
            )
    for note in result.notes:
        out.print(f"note: {note}", highlight=False, style="dim")


def print_analysis(result: Any, written: Any = None, console: Console | None = None) -> None:
    """Signals ranked by lift, then current vs suggested points, then the snippet."""
    out = console or Console(emoji=False)
    rate = result.won_rows / result.rows if result.rows else 0.0
    out.print(
        f"{result.rows} contact-snapshot(s) over {len(result.plan.instants)} snapshot(s), "
        f"{result.won_contacts} won contact(s), base rate {_pct(rate)}; a signal counts when it "
        f"happened within {result.plan.window.days} days before the snapshot",
        highlight=False,
    )
    table = Table(title="signals by lift (win rate with the signal / base rate)")
    for title in ("signal", "contacts", "win rate with", "win rate without", "lift"):
        table.add_column(title, justify="left" if title == "signal" else "right")
    for line in result.lines:
        keys = ", ".join([line.signal.key, *line.same_as])
        table.add_row(
            escape(f"{line.signal.label} [{keys}]"),
            str(line.contacts),
            line.with_rate.text(3),
            line.without_rate.text(3),
            line.lift.text(),
        )
    out.print(table)
    if result.left_out:
        out.print(
            f"{result.left_out} rare signal(s) (seen for fewer than 20 contacts) left out",
            highlight=False,
        )
    points = Table(title="points: now and suggested by a regularized logistic regression")
    for title in ("rule", "now", "suggested", "odds ratio", "days per window", "won contacts"):
        points.add_column(title, justify="left" if title == "rule" else "right")
    for p in result.points:
        odds = "-" if p.coefficient is None else f"{np.exp(p.coefficient):.2f}"
        points.add_row(
            escape(f"{p.signal.label} [{p.rule_id}]"),
            f"{p.signal.points:g}",
            "keep (too few wins)" if p.suggested is None else str(p.suggested),
            odds,
            f"{p.repeats:.1f}",
            str(p.won_contacts),
        )
    out.print(points)
    if result.snippet:
        out.print("rule-file snippet (replace these tables):", highlight=False)
        out.print(escape(result.snippet), highlight=False, soft_wrap=True)
    if written is not None:
        out.print(
            f"the whole rule file with these points: {escape(str(written))} "
            f"(try it: scorebridge backtest --rules {escape(str(written))})",
            highlight=False,
        )


def print_prediction(report: Any, settings: Any, console: Console | None = None) -> None:
    """A refit of the predictive score: held-out figures, top features, what was stored."""
    out = console or Console(emoji=False)
    held = report.held_out
    start, end = report.held_out_period
    out.print(
        f"predictive score: probability of a won deal within {settings.window.days} days, "
        f"learnt from {report.training_rows} contact-snapshot(s)",
        highlight=False,
    )
    out.print(
        f"held out {start:%Y-%m-%d} to {end:%Y-%m-%d} (never learnt from): AUC "
        f"{held.auc:.2f}, calibration error {held.calibration_error:.4f}, Brier "
        f"{held.brier:.4f}; predicted {_pct(held.mean_predicted)} on average, "
        f"{_pct(held.base_rate)} won ({held.won_contacts} won contacts, {held.rows} rows)",
        highlight=False,
    )
    table = Table(title="what moves the odds")
    for title in ("signal", "odds ratio"):
        table.add_column(title, justify="left" if title == "signal" else "right")
    for feature in report.top_features:
        table.add_row(escape(feature["label"]), f"{feature['odds_ratio']:.2f}")
    out.print(table)
    note = "" if settings.enabled else " ([predict] enabled = false: not written anywhere else)"
    out.print(escape(f"stored a probability for {report.predicted} lead(s){note}"), highlight=False)
