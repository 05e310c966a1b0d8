"""The work behind ``backtest``, ``analyze`` and ``report`` (DESIGN §5.1): store in, results out.

Owns: which rule files are compared (:func:`rule_files`: ``--rules`` as the candidate, beside
``--baseline`` or the configured rule file); :func:`run_backtest`, which reads the history
bounds, plans the snapshots, replays the history with each rule file, evaluates each and puts
them side by side (AUC intervals and their difference from the same resamples of contacts, a
threshold suggestion for a target); :func:`run_analysis` (signals ranked by lift, suggested
points and the rule file they make). Never writes to Mautic, the CRM or the stored scores.
Must not: print, parse arguments or read the clock (the CLI passes everything in).
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

from scorebridge.scoring import compile_rules, load_rules
from scorebridge.scoring.analysis import (
    PointSuggestion,
    SignalLine,
    rewrite_points,
    signal_lines,
    suggest_points,
)
from scorebridge.scoring.backtest import Evaluation, Outcome, Replay, as_dict, bootstrap_auc
from scorebridge.scoring.backtest import evaluate as evaluate_replay
from scorebridge.scoring.batch import NO_TIME
from scorebridge.scoring.matchers import CompiledRules
from scorebridge.scoring.measures import Estimate
from scorebridge.scoring.signals import Features
from scorebridge.scoring.thresholds import Suggestion, suggest
from scorebridge.store.engine import Store
from scorebridge.sync.history import (
    HistoryBounds,
    Progress,
    SnapshotPlan,
    history_features,
    plan_snapshots,
    read_bounds,
    replay_history,
)


@dataclass(frozen=True)
class RuleFile:
    """A named, loaded rule file (``load_rules`` errors read exactly as ``sync``'s do)."""

    name: str
    path: Path
    rules: CompiledRules


def rule_files(configured: Path, candidate: Path | None, baseline: Path | None) -> list[RuleFile]:
    """The rule files to replay: the candidate first, then its baseline (default: the
    configured rule file); just the configured one when neither is given."""
    wanted: list[tuple[str, Path]] = []
    if candidate is not None:
        wanted.append(("candidate", candidate))
        base = baseline or configured
        if base.resolve() != candidate.resolve():
            wanted.append(("baseline", base))
    elif baseline is not None and baseline.resolve() != configured.resolve():
        wanted += [("current", configured), ("baseline", baseline)]
    else:
        wanted.append(("current", configured))
    return [RuleFile(name, path, compile_rules(load_rules(path))) for name, path in wanted]


@dataclass(frozen=True)
class BacktestOptions:
    """``--from/--to/--every/--window``, the target of a threshold suggestion, resamples."""

    start: datetime | None = None
    end: datetime | None = None
    every: timedelta = timedelta(days=7)
    window: timedelta = timedelta(days=90)
    target_precision: float | None = None
    max_per_week: float | None = None
    rounds: int = 200


@dataclass
class BacktestResult:
    """Every rule file's evaluation, side by side, with the history they were judged on."""

    bounds: HistoryBounds
    plan: SnapshotPlan
    outcome: Outcome
    files: list[RuleFile]
    replays: list[Replay]
    evaluations: list[Evaluation]
    auc_difference: Estimate | None
    suggestion: Suggestion | None
    wins_without_activity: int
    notes: list[str] = field(default_factory=list)

    def as_dict(self) -> dict[str, Any]:
        """The ``--json`` document."""
        top = self.files[0].rules
        out: dict[str, Any] = {
            "history": {
                "first_activity": _iso(self.bounds.first_activity),
                "last_event": _iso(self.bounds.last_event),
                "won_deals": self.bounds.won,
                "lost_deals": self.bounds.lost,
                "contacts": len(self.outcome.contact_ids),
                "won_contacts_without_activity": self.wins_without_activity,
            },
            "snapshots": {
                "from": self.plan.instants[0].isoformat(),
                "to": self.plan.instants[-1].isoformat(),
                "count": len(self.plan.instants),
                "every_days": self.plan.every.total_seconds() / 86_400,
                "window_days": self.plan.window.total_seconds() / 86_400,
            },
            "rule_files": [as_dict(ev) for ev in self.evaluations],
            "notes": self.notes,
        }
        if self.auc_difference is not None:
            out["auc_difference"] = {
                "of": [ev.name for ev in self.evaluations[:2]],
                **self.auc_difference.as_dict(),
            }
        if self.suggestion is not None:
            out["suggestion"] = self.suggestion.as_dict(dict(top.bands))
        return out


def _iso(moment: datetime | None) -> str | None:
    return None if moment is None else moment.isoformat()


NOTES = [
    "rows are contact-snapshots: a contact counts at every snapshot once active and until won",
    "won: a won CRM deal closed within the window after the snapshot",
    "fit rules see today's contact fields (the store keeps no history of fields)",
    "band entries and trigger firings count from the second snapshot; the first is the start",
]


def run_backtest(
    store: Store,
    files: list[RuleFile],
    options: BacktestOptions,
    *,
    progress: Progress | None = None,
) -> BacktestResult:
    """Replay the stored history with each rule file and evaluate them (read-only).

    Raises:
        InsufficientData: no closed deals in the store, or dates outside the history.
    """
    bounds = read_bounds(store)
    plan = plan_snapshots(
        bounds, start=options.start, end=options.end, every=options.every, window=options.window
    )
    outcome, replays = replay_history(store, [f.rules for f in files], plan, progress=progress)
    evaluations = [
        evaluate_replay(f.name, str(f.path), replay, outcome)
        for f, replay in zip(files, replays, strict=True)
    ]
    aucs, difference = bootstrap_auc(replays, outcome, rounds=options.rounds)
    evaluations = [replace(ev, auc=auc) for ev, auc in zip(evaluations, aucs, strict=True)]
    suggestion = None
    if options.target_precision is not None or options.max_per_week is not None:
        bands = evaluations[0].bands
        suggestion = suggest(
            evaluations[0].thresholds,
            bands[-1].name,
            target_precision=options.target_precision,
            max_per_week=options.max_per_week,
            above=bands[-2].lower if len(bands) > 1 else None,
        )
    silent = outcome.first_touch_us[outcome.won_row] == NO_TIME
    return BacktestResult(
        bounds=bounds,
        plan=plan,
        outcome=outcome,
        files=files,
        replays=replays,
        evaluations=evaluations,
        auc_difference=difference,
        suggestion=suggestion,
        wins_without_activity=len(set(outcome.won_row[silent].tolist())),
        notes=list(NOTES),
    )


@dataclass
class AnalysisResult:
    """Signals ranked by lift, suggested points, and the rule file they would make."""

    plan: SnapshotPlan
    rule_file: RuleFile
    rows: int
    won_rows: int
    won_contacts: int
    lines: list[SignalLine]
    left_out: int
    points: list[PointSuggestion]
    candidate: str
    snippet: str

    def as_dict(self) -> dict[str, Any]:
        """The ``--json`` document."""
        return {
            "rule_file": {
                "path": str(self.rule_file.path),
                "version": self.rule_file.rules.version,
            },
            "snapshots": {
                "from": self.plan.instants[0].isoformat(),
                "to": self.plan.instants[-1].isoformat(),
                "count": len(self.plan.instants),
                "window_days": self.plan.window.total_seconds() / 86_400,
            },
            "contact_snapshots": self.rows,
            "won_contact_snapshots": self.won_rows,
            "won_contacts": self.won_contacts,
            "base_rate": round(self.won_rows / self.rows, 5) if self.rows else None,
            "signals": [line.as_dict() for line in self.lines],
            "rare_signals_left_out": self.left_out,
            "points": [p.as_dict() for p in self.points],
            "snippet": self.snippet,
        }


def run_analysis(
    store: Store,
    rule_file: RuleFile,
    options: BacktestOptions,
    *,
    progress: Progress | None = None,
) -> AnalysisResult:
    """Signals and suggested points over the stored history (read-only).

    A behaviour signal counts for a snapshot when it happened within the window before it (the
    same length as the window a win must follow within).

    Raises:
        InsufficientData: no closed deals in the store, or dates outside the history.
    """
    bounds = read_bounds(store)
    plan = plan_snapshots(
        bounds, start=options.start, end=options.end, every=options.every, window=options.window
    )
    features = history_features(store, rule_file.rules, plan, options.window, progress=progress)
    return analysis_of(features, plan, rule_file)


def analysis_of(features: Features, plan: SnapshotPlan, rule_file: RuleFile) -> AnalysisResult:
    """Signals, suggested points and the rewritten rule file from features already built."""
    lines, left_out = signal_lines(features)
    points = suggest_points(features, lines)
    candidate, snippet = rewrite_points(rule_file.path.read_text(encoding="utf-8"), points)
    won_contacts = len(np.unique(features.contact_ids[features.won]))
    return AnalysisResult(
        plan=plan,
        rule_file=rule_file,
        rows=features.matrix.shape[0],
        won_rows=int(features.won.sum()),
        won_contacts=won_contacts,
        lines=lines,
        left_out=left_out,
        points=points,
        candidate=candidate,
        snippet=snippet,
    )
