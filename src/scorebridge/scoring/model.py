"""The neutral input and output records of the scoring engine.

Owns: the plain, immutable dataclasses that cross the boundary of :func:`scoring.engine.score`
(events, contact facts, prior stage/trigger state in; scores, ledger, state and fired triggers
out). Must not: import pydantic, the store or any adapter; these types are built in hot loops, so
they stay slotted dataclasses without validation.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import Any

_EMPTY: Mapping[str, Any] = MappingProxyType({})

#: The pseudo-group that routes Mautic point-log rows to the group Mautic logged them in.
FROM_MAUTIC = "from_mautic"


@dataclass(frozen=True, slots=True)
class ScoringEvent:
    """One behaviour event of one contact.

    ``key`` is unique per event ("source:stream:external_id"): two events with the same key are
    the same event delivered twice and count once. ``kind`` is the store's event kind
    (``page.hit``, ``email.open``, ``form.submit``, ``mautic.points``, ``manual``, ``crm.*`` ...).
    """

    key: str
    kind: str
    occurred_at: datetime
    attributes: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)


@dataclass(frozen=True, slots=True)
class ContactFacts:
    """What fit rules and inactivity look at: Mautic field aliases plus ``crm.<name>`` fields."""

    contact_id: int
    fields: Mapping[str, Any] = field(default_factory=lambda: _EMPTY)
    last_activity_at: datetime | None = None


@dataclass(frozen=True, slots=True)
class TriggerState:
    """Edge-trigger state of one trigger for one contact (stored between runs).

    ``armed``: may fire on the next crossing. ``episode``: how many times it has fired.
    ``primed``: its ``only_after`` condition has held since the last firing.
    """

    armed: bool = True
    episode: int = 0
    primed: bool = False


#: The state read from the store before scoring and the state to write back after it.
TriggerStateIn = TriggerState
TriggerStateOut = TriggerState


@dataclass(frozen=True, slots=True)
class PriorState:
    """The stage and trigger states the contact had before this scoring run."""

    stage: str | None = None
    stage_entered_at: datetime | None = None
    triggers: Mapping[str, TriggerState] = field(default_factory=lambda: MappingProxyType({}))


@dataclass(frozen=True, slots=True)
class Contribution:
    """One line of the ledger: why some points were (or were not) counted.

    ``event_key``/``occurred_at`` are None for state-based lines (fit rules, inactivity).
    ``points == base_points * factor`` (exact, before group clamping). ``group`` is the topic
    group the points count in, or None for points that go straight into the total (fit rules,
    negative signals, ungrouped behaviour).
    """

    rule_id: str
    group: str | None
    event_key: str | None
    occurred_at: datetime | None
    base_points: float
    factor: float
    points: float
    note: str = ""


@dataclass(frozen=True, slots=True)
class FiredTrigger:
    """A trigger that fired in this run; its actions are enqueued with ``idempotency_key``.

    ``value`` is what its ``when`` looked at and ``total`` the lifetime score the run reported.
    """

    trigger_id: str
    episode: int
    actions: tuple[Mapping[str, Any], ...]
    idempotency_key: str
    value: int
    total: int


@dataclass(frozen=True, slots=True)
class ScoreResult:
    """Everything one scoring run decided for one contact at ``as_of``.

    ``groups``/``total`` are exact (topic groups clamped to 0..group max, the total to the
    scale); ``group_values``/``total_value`` are the reported integers (round half up).
    ``total`` is the lifetime score; ``stage_score`` the same total counted only from
    ``reset_at``, the entry into the current stage when that stage has ``reset_score`` (else
    ``reset_at`` is None and the stage score equals the score). ``stage_ledger`` lists the
    contributions behind the stage score when it differs (only with a ledger).
    """

    contact_id: int
    as_of: datetime
    version: str
    groups: dict[str, float]
    group_values: dict[str, int]
    total: float
    total_value: int
    band: str
    stage: str | None
    stage_entered_at: datetime | None
    triggers: dict[str, TriggerState]
    fired: list[FiredTrigger]
    ledger: list[Contribution]
    stage_score: float = 0.0
    stage_score_value: int = 0
    reset_at: datetime | None = None
    stage_ledger: list[Contribution] | None = None
