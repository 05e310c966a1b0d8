"""The predictive score over the store: refit on schedule, keep one probability per contact.

Owns: :func:`refit` (plan snapshots over the whole history, build the signals, fit and judge a
model on the time split of :mod:`scoring.predict`, refit it on every snapshot whose window the
history covers, score every active non-customer contact as of ``now`` and replace the stored
predictions, recording the refit with its held-out figures), :func:`refit_if_due` (the cycle's
hook: a refit when ``[predict] refit_every`` has passed since the latest recorded attempt; a
history too short or without deals is recorded as skipped and never fails the cycle), and the
planner's API: :func:`predictions` (probability and reasons per contact id), :func:`percent`
(the value written to both systems), :func:`changed_since` (whom a refit changed).
Must not: write to Mautic or the CRM (the planner does), or read the clock.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import numpy as np
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from scorebridge.clock import utc
from scorebridge.config import PredictSettings
from scorebridge.errors import InsufficientData
from scorebridge.scoring.matchers import CompiledRules
from scorebridge.scoring.predict import Calibration, Split, fit, judge
from scorebridge.store.engine import Store
from scorebridge.store.tables import Prediction, PredictionModel
from scorebridge.sync.history import (
    Progress,
    SnapshotPlan,
    history_features,
    plan_snapshots,
    read_bounds,
)

log = logging.getLogger(__name__)
_prediction = Prediction.__table__  # type: ignore[attr-defined]
_model = PredictionModel.__table__  # type: ignore[attr-defined]
FITTED, SKIPPED = "fitted", "skipped"
#: Snapshots a refit learns from at most (weekly: about ten years).
MOST_SNAPSHOTS = 520


@dataclass
class PredictReport:
    """What one refit did (or why it did not)."""

    status: str
    at: datetime
    reason: str = ""
    model_id: int | None = None
    held_out: Calibration | None = None
    held_out_period: tuple[datetime, datetime] | None = None
    trained_through: datetime | None = None
    window_days: float | None = None
    top_features: list[dict[str, Any]] = field(default_factory=list)
    predicted: int = 0
    training_rows: int = 0

    def as_dict(self) -> dict[str, Any]:
        """JSON-ready (also what the model row keeps)."""
        return {
            "status": self.status,
            "at": self.at.isoformat(),
            "reason": self.reason,
            "model_id": self.model_id,
            "held_out": None if self.held_out is None else self.held_out.as_dict(),
            "held_out_period": None
            if self.held_out_period is None
            else [t.isoformat() for t in self.held_out_period],
            "judged_model_trained_through": None
            if self.trained_through is None
            else self.trained_through.isoformat(),
            "window_days": self.window_days,
            "top_features": self.top_features,
            "predicted": self.predicted,
            "training_rows": self.training_rows,
        }


def _us(delta: timedelta) -> int:
    return int(delta.total_seconds() * 1_000_000)


def refit(
    store: Store,
    rules: CompiledRules,
    settings: PredictSettings,
    now: datetime,
    *,
    progress: Progress | None = None,
) -> PredictReport:
    """Fit, judge, refit on everything and store a probability for every active lead.

    Raises:
        InsufficientData: no closed deals or activity in the store, a history too short,
            or too few wins on one side of the time split.
    """
    bounds = read_bounds(store)
    plan = plan_snapshots(
        bounds,
        start=None,
        end=None,
        every=settings.every,
        window=settings.window,
        most=MOST_SNAPSHOTS,
    )
    features = history_features(store, rules, plan, settings.window, progress=progress)
    instants = plan.us
    judged = judge(features, instants, _us(settings.window), _us(settings.holdout))
    chosen = judged.split
    everything = np.arange(len(instants), dtype=np.int64)
    latest = everything[len(everything) - max(1, len(everything) // 3) :]
    # the regularization chosen before the held-out period serves the final model too
    strength = float(judged.model.logistic.C)
    model = fit(features, Split(everything, latest, np.zeros(0, np.int64)), strength)
    current = SnapshotPlan((now,), settings.every, settings.window)
    leads = history_features(store, rules, current, settings.window, catalog=features.catalog)
    probability = model.probability(leads.matrix)
    reasons = model.reasons(leads.matrix)
    report = PredictReport(
        FITTED,
        now,
        held_out=judged.calibration,
        held_out_period=(plan.instants[chosen.held_out[0]], plan.instants[-1]),
        trained_through=plan.instants[chosen.train[-1]],
        window_days=settings.window.total_seconds() / 86_400,
        top_features=model.top_features(),
        predicted=len(probability),
        training_rows=model.rows,
    )
    with store.write() as conn:
        report.model_id = _record(conn, report, rules)
        conn.execute(sa.delete(_prediction))
        rows = [
            {
                "contact_id": int(c),
                "probability": float(p),
                "model_id": report.model_id,
                "reasons": r,
                "computed_at": now,
            }
            for c, p, r in zip(leads.contact_ids.tolist(), probability.tolist(), reasons,
                               strict=True)
        ]  # fmt: skip
        if rows:
            conn.execute(sa.insert(_prediction), rows)
    return report


def _record(conn: Connection, report: PredictReport, rules: CompiledRules) -> int:
    row = conn.execute(
        sa.insert(_model)
        .values(
            fitted_at=report.at,
            status=report.status,
            rule_version=rules.version,
            report=report.as_dict(),
        )
        .returning(_model.c.id)
    ).scalar_one()
    return int(row)


def refit_if_due(
    store: Store, rules: CompiledRules, settings: PredictSettings, now: datetime
) -> PredictReport | None:
    """The cycle's hook: refit when ``refit_every`` has passed since the latest attempt (None
    when not due or not enabled). A refit that cannot be done is recorded as skipped, with the
    reason, and retried when the next one is due."""
    if not settings.enabled:
        return None
    with store.read() as conn:
        latest = conn.execute(sa.select(sa.func.max(_model.c.fitted_at))).scalar()
    if latest is not None and utc(latest) + settings.refit_every > now:
        return None
    try:
        return refit(store, rules, settings, now)
    except InsufficientData as exc:
        report = PredictReport(SKIPPED, now, reason=str(exc))
        log.warning("predictive score not refitted: %s", exc)
        with store.write() as conn:
            report.model_id = _record(conn, report, rules)
        return report


@dataclass(frozen=True)
class Predicted:
    """The stored predictive score of one contact."""

    probability: float
    reasons: list[str]
    computed_at: datetime | None


def predictions(conn: Connection, contact_ids: Iterable[int]) -> dict[int, Predicted]:
    """The stored predictive score per contact id (contacts without one are left out)."""
    ids = sorted(set(contact_ids))
    found: dict[int, Predicted] = {}
    for start in range(0, len(ids), 500):
        chunk = ids[start : start + 500]
        for row in conn.execute(sa.select(_prediction).where(_prediction.c.contact_id.in_(chunk))):
            found[row.contact_id] = Predicted(row.probability, list(row.reasons), row.computed_at)
    return found


def changed_since(conn: Connection, since: datetime | None) -> list[int]:
    """Contacts whose predictive score was (re)computed after ``since`` (all when None)."""
    query = sa.select(_prediction.c.contact_id)
    if since is not None:
        query = query.where(_prediction.c.computed_at > since)
    return sorted(conn.execute(query).scalars())


def percent(probability: float) -> int:
    """The value written to Mautic and the CRM: the probability in whole percent (0-100)."""
    return int(np.floor(100 * probability + 0.5))


def latest_report(conn: Connection) -> dict[str, Any] | None:
    """The report of the latest refit attempt (None before the first)."""
    row = conn.execute(sa.select(_model).order_by(_model.c.id.desc()).limit(1)).first()
    return None if row is None else dict(row.report)
