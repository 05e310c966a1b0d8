"""Builders shared by the scoring unit tests: small rule sets from dicts, events, a fixed time."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from scorebridge.scoring import (
    CompiledRules,
    ContactFacts,
    PriorState,
    ScoreResult,
    ScoringEvent,
    compile_rules,
    parse_rules,
    score,
)

T0 = datetime(2026, 11, 20, 12, 0, tzinfo=UTC)
EXAMPLE = Path(__file__).resolve().parents[3] / "config" / "scoring.example.toml"
SITE = "https://www.nordlicht-analytics.example"


def ruleset(**sections: Any) -> CompiledRules:
    """Compile a rule set given as keyword sections (``rules=[...]``, ``groups=[...]``...)."""
    return compile_rules(parse_rules({"version": "test", **sections}))


def ev(key: str, kind: str, at: datetime, **attributes: Any) -> ScoringEvent:
    """An event with attributes given as keywords."""
    return ScoringEvent(key=key, kind=kind, occurred_at=at, attributes=attributes)


def run(
    rules: CompiledRules,
    events: list[ScoringEvent],
    as_of: datetime = T0,
    *,
    fields: dict[str, Any] | None = None,
    prior: PriorState | None = None,
    last_activity_at: datetime | None = None,
) -> ScoreResult:
    """Score contact 7 with the given events."""
    facts = ContactFacts(contact_id=7, fields=fields or {}, last_activity_at=last_activity_at)
    return score(events, facts, rules, as_of, prior or PriorState())


def days(n: float) -> timedelta:
    """``n`` days."""
    return timedelta(days=n)
