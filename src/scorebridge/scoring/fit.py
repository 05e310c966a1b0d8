"""Fit rules: state-based points from contact fields (Mautic aliases or ``crm.<name>``).

Owns: compiling a fit rule into a predicate over one field value, cached per distinct value
(a million contacts share few countries and job titles, so each regex runs once per value), and
the tokenising that makes comparisons forgiving: strings compare stripped and case-folded,
integral numbers compare equal to their digit strings ("250" == 250).

Decisions:
- a field is *missing* when absent, None or an empty string. A missing field matches nothing
  except ``exists = false``; in particular it never matches ``not_in`` (an unknown country is
  not evidence of being outside the target region);
- ``matches`` is ``re.search`` (unanchored), ``gte``/``lte`` need a number (else no match);
- ``domain_in`` takes the part after the last "@" (or the whole value) and matches the domain
  itself or any subdomain of it.
Must not: read events or time; a fit rule contributes exactly while its condition holds.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from dataclasses import field as dataclass_field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from scorebridge.scoring.rules import FitRule

_CACHE_LIMIT = 65_536


def token(value: Any) -> str:
    """The comparison form of a scalar: case-folded text, integral numbers as digits."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value).strip().casefold()


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    try:
        return float(value)
    except (TypeError, ValueError):
        return None


def _missing(value: Any) -> bool:
    return value is None or (isinstance(value, str) and not value.strip())


@dataclass(slots=True)
class CompiledFit:
    """One fit rule, ready to test contact fields."""

    id: str
    label: str
    field: str
    group: str | None
    points: float
    description: str
    test: Callable[[Any], bool]
    when_missing: bool
    #: What ``test`` depends on, when that is coarser than the value (a domain rule: the domain)
    reduce: Callable[[Any], Any] | None = None
    _cache: dict[Any, bool] = dataclass_field(default_factory=dict)

    def holds(self, fields: Mapping[str, Any]) -> bool:
        """Whether the rule's condition holds for these contact fields."""
        value = fields.get(self.field)
        if _missing(value):
            return self.when_missing
        try:
            return self._cache[value]
        except KeyError:
            pass
        except TypeError:
            return self.test(value)
        if len(self._cache) >= _CACHE_LIMIT:
            self._cache.clear()
        result = self._cache[value] = self.test(value)
        return result

    def holds_each(self, values: Sequence[Any]) -> list[bool]:
        """:meth:`holds` for each of many (distinct) values of the field.

        A domain rule tests each domain once, however many addresses share it.
        """
        if self.reduce is None:
            return [self.holds({self.field: value}) for value in values]
        memo: dict[Any, bool] = {}
        out: list[bool] = []
        for value in values:
            if _missing(value):
                out.append(self.when_missing)
                continue
            key = self.reduce(value)
            known = memo.get(key)
            if known is None:
                known = memo[key] = self.test(value)
            out.append(known)
        return out


def compile_fit(rule: FitRule) -> CompiledFit:
    """Compile a validated fit rule."""
    test, description = _predicate(rule)
    return CompiledFit(
        reduce=_domain if rule.domain_in is not None else None,
        id=rule.id,
        label=rule.label or rule.id,
        field=rule.field,
        group=rule.group,
        points=float(rule.points),
        description=description,
        test=test,
        when_missing=rule.exists is False,
    )


def _domain(value: Any) -> str:
    """The part of an address after its last "@" (or the whole value), case-folded."""
    return str(value).rsplit("@", 1)[-1].strip().casefold()


def _predicate(rule: FitRule) -> tuple[Callable[[Any], bool], str]:
    name = rule.field
    if rule.eq is not None:
        want = token(rule.eq)
        return (lambda v: token(v) == want), f"{name} = {rule.eq}"
    if rule.in_ is not None:
        wanted = frozenset(token(x) for x in rule.in_)
        return (lambda v: token(v) in wanted), f"{name} in {rule.in_}"
    if rule.not_in is not None:
        unwanted = frozenset(token(x) for x in rule.not_in)
        return (lambda v: token(v) not in unwanted), f"{name} not in {rule.not_in}"
    if rule.matches is not None:
        pattern = re.compile(rule.matches)
        return (lambda v: pattern.search(str(v)) is not None), f"{name} ~ {rule.matches}"
    if rule.exists is not None:
        return (lambda v: bool(rule.exists)), f"{name} {'is set' if rule.exists else 'is empty'}"
    if rule.domain_in is not None:
        domains = tuple(d.strip().casefold().lstrip("@") for d in rule.domain_in)

        def in_domains(v: Any) -> bool:
            domain = _domain(v)
            return any(domain == d or domain.endswith("." + d) for d in domains)

        return in_domains, f"{name} domain in {rule.domain_in}"
    lo, hi = rule.gte, rule.lte

    def in_range(v: Any) -> bool:
        n = _number(v)
        return n is not None and (lo is None or n >= lo) and (hi is None or n <= hi)

    parts = [
        p for p in (f">= {lo}" if lo is not None else "", f"<= {hi}" if hi is not None else "") if p
    ]
    return in_range, f"{name} {' and '.join(parts)}"
