"""Gathering everything the report shows, from the store, read-only.

Owns: :func:`build_report`: the backtest of the candidate beside its baseline
(:func:`measure.run_backtest`), the signals of the candidate's rule file
(:func:`measure.analysis_of`) and, from the same signals, the predictive score judged on its
held-out period (:func:`scoring.predict.judge`, stored nowhere), and the top hot leads as of the
end of the history with the reasons the candidate's rules give (:func:`top_leads`).
Must not: write to the store, Mautic or the CRM, render anything, or read the clock.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import numpy as np
import sqlalchemy as sa

from scorebridge.config import PredictSettings
from scorebridge.errors import InsufficientData
from scorebridge.measure import (
    AnalysisResult,
    BacktestOptions,
    BacktestResult,
    RuleFile,
    analysis_of,
    run_backtest,
)
from scorebridge.scoring.engine import score
from scorebridge.scoring.explain import top_reasons
from scorebridge.scoring.matchers import CompiledRules
from scorebridge.scoring.model import PriorState
from scorebridge.scoring.predict import Judgement, judge
from scorebridge.store.engine import Store
from scorebridge.store.tables import Contact
from scorebridge.sync.history import Progress, SnapshotPlan, history_features, replay_history
from scorebridge.sync.score_load import load_engine_inputs

_contact = Contact.__table__  # type: ignore[attr-defined]
TOP_LEADS = 15


@dataclass(frozen=True)
class LeadLine:
    """One of the top leads: who, the candidate's score and band, and why."""

    contact_id: int
    name: str
    email: str
    total: int
    band: str
    reasons: list[str]


@dataclass
class ReportData:
    """What the report shows."""

    generated_at: datetime
    backtest: BacktestResult
    analysis: AnalysisResult
    prediction: Judgement | None
    prediction_note: str
    predict_enabled: bool
    leads: list[LeadLine]
    leads_as_of: datetime


def _us(seconds: float) -> int:
    return int(seconds * 1_000_000)


def build_report(
    store: Store,
    files: list[RuleFile],
    options: BacktestOptions,
    predict: PredictSettings,
    now: datetime,
    *,
    progress: Progress | None = None,
) -> ReportData:
    """Everything for the report (read-only).

    Raises:
        InsufficientData: no closed deals in the store, or dates outside the history.
    """
    backtest = run_backtest(store, files, options, progress=progress)
    plan, candidate = backtest.plan, files[0]
    features = history_features(store, candidate.rules, plan, options.window)
    analysis = analysis_of(features, plan, candidate)
    prediction: Judgement | None = None
    note = ""
    try:
        prediction = judge(
            features,
            plan.us,
            _us(options.window.total_seconds()),
            _us(predict.holdout.total_seconds()),
        )
    except InsufficientData as exc:
        note = str(exc)
    assert backtest.bounds.last_event is not None
    end = backtest.bounds.last_event
    return ReportData(
        generated_at=now,
        backtest=backtest,
        analysis=analysis,
        prediction=prediction,
        prediction_note=note,
        predict_enabled=predict.enabled,
        leads=top_leads(store, candidate.rules, end, plan),
        leads_as_of=end,
    )


def top_leads(
    store: Store, rules: CompiledRules, at: datetime, plan: SnapshotPlan, most: int = TOP_LEADS
) -> list[LeadLine]:
    """The active, not yet won contacts with the highest scores at ``at`` under ``rules``, with
    the reasons the engine's ledger gives (as a first score, without stored stage state)."""
    single = SnapshotPlan((at,), plan.every, plan.window)
    outcome, (replay,) = replay_history(store, [rules], single)
    eligible = outcome.eligible[0]
    totals = np.where(eligible, replay.total[0], np.iinfo(np.int32).min)
    order = np.lexsort((outcome.contact_ids, -totals.astype(np.int64)))
    chosen = [int(i) for i in order[:most] if eligible[i]]
    ids = [int(outcome.contact_ids[i]) for i in chosen]
    if not ids:
        return []
    with store.read() as conn:
        inputs = load_engine_inputs(conn, ids)
        people: dict[int, Any] = {
            row.id: row
            for row in conn.execute(
                sa.select(_contact.c.id, _contact.c.email, _contact.c.fields).where(
                    _contact.c.id.in_(ids)
                )
            )
        }
    lines = []
    for contact_id in ids:
        one = inputs[contact_id]
        result = score(one.events, one.facts, rules, at, PriorState())
        fields = people[contact_id].fields or {}
        name = " ".join(str(fields.get(k) or "").strip() for k in ("firstname", "lastname"))
        lines.append(
            LeadLine(
                contact_id,
                name.strip(),
                people[contact_id].email or "",
                result.total_value,
                result.band,
                top_reasons(result, 3, rules),
            )
        )
    return lines


__all__ = ["LeadLine", "ReportData", "build_report", "top_leads"]
