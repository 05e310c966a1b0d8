"""Compiled threshold conditions shared by stages and triggers.

Owns: turning a ``when``/``only_after`` condition into a numeric interval over one reported
integer (the lifetime ``score``, the ``stage_score`` or a topic group), and testing it against a
contact's :class:`Values`. A band condition ``{band = "hot"}`` is the interval
``score >= bands.hot`` (the band or a higher one). Must not: decide anything about episodes or
stage order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scorebridge.scoring.rules import Condition

TOTAL = "total"
STAGE_SCORE = "stage_score"


@dataclass(frozen=True, slots=True)
class Values:
    """The reported integers conditions look at: lifetime score, stage score, topic groups."""

    total: int
    stage_score: int
    groups: Mapping[str, int]


@dataclass(frozen=True, slots=True)
class CompiledCondition:
    """``lo <(=) value <(=) hi`` over ``subject`` (``"total"``, ``"stage_score"`` or a group)."""

    subject: str
    lo: float | None
    lo_inclusive: bool
    hi: float | None
    hi_inclusive: bool

    def value(self, values: Values) -> int:
        """The reported integer this condition looks at."""
        if self.subject == TOTAL:
            return values.total
        if self.subject == STAGE_SCORE:
            return values.stage_score
        return values.groups.get(self.subject, 0)

    def holds_for(self, value: float) -> bool:
        """Whether ``value`` lies inside the interval."""
        if self.lo is not None and (
            value < self.lo or (value == self.lo and not self.lo_inclusive)
        ):
            return False
        return not (
            self.hi is not None
            and (value > self.hi or (value == self.hi and not self.hi_inclusive))
        )

    def holds(self, values: Values) -> bool:
        """Whether the condition holds for these reported values."""
        return self.holds_for(self.value(values))

    @property
    def upward(self) -> bool:
        """True for "at least" conditions (re-armed below), False for "at most" ones."""
        return self.lo is not None and self.hi is None


def compile_condition(cond: Condition, bands: Mapping[str, float]) -> CompiledCondition:
    """Compile a validated condition; ``bands`` gives band lower bounds."""
    if cond.band is not None:
        return CompiledCondition(TOTAL, bands[cond.band], True, None, False)
    if cond.total is not None:
        subject, b = TOTAL, cond.total
    elif cond.stage_score is not None:
        subject, b = STAGE_SCORE, cond.stage_score
    else:
        subject, b = str(cond.group), cond  # type: ignore[assignment]
    lo, lo_inc = (b.gte, True) if b.gte is not None else (b.gt, False)
    hi, hi_inc = (b.lte, True) if b.lte is not None else (b.lt, False)
    return CompiledCondition(subject, lo, lo_inc, hi, hi_inc)
