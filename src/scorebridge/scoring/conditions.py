"""Compiled threshold conditions shared by stages and triggers.

Owns: turning a ``when``/``only_after`` condition into a numeric interval over one reported
integer (the total or a group), and testing it. A band condition ``{band = "hot"}`` is the
interval ``total >= bands.hot`` (the band or a higher one). Must not: decide anything about
episodes or stage order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from scorebridge.scoring.rules import Condition

TOTAL = "total"


@dataclass(frozen=True, slots=True)
class CompiledCondition:
    """``lo <(=) value <(=) hi`` over ``subject`` (``"total"`` or a group key)."""

    subject: str
    lo: float | None
    lo_inclusive: bool
    hi: float | None
    hi_inclusive: bool

    def value(self, total_value: int, group_values: Mapping[str, int]) -> int:
        """The reported integer this condition looks at."""
        return total_value if self.subject == TOTAL else group_values.get(self.subject, 0)

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

    def holds(self, total_value: int, group_values: Mapping[str, int]) -> bool:
        """Whether the condition holds for these reported values."""
        return self.holds_for(self.value(total_value, group_values))

    @property
    def upward(self) -> bool:
        """True for "at least" conditions (re-armed below), False for "at most" ones."""
        return self.lo is not None and self.hi is None


def compile_condition(cond: Condition, bands: Mapping[str, float]) -> CompiledCondition:
    """Compile a validated condition; ``bands`` gives band lower bounds."""
    if cond.band is not None:
        return CompiledCondition(TOTAL, bands[cond.band], True, None, False)
    subject = TOTAL if cond.total is not None else str(cond.group)
    b = cond.total if cond.total is not None else cond
    lo, lo_inc = (b.gte, True) if b.gte is not None else (b.gt, False)
    hi, hi_inc = (b.lte, True) if b.lte is not None else (b.lt, False)
    return CompiledCondition(subject, lo, lo_inc, hi, hi_inc)
