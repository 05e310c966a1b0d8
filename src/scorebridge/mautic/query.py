"""Mautic's PHP-style bracket query strings (``where[0][val][1][col]=...``).

Owns: flattening nested where/order clauses into ``(key, value)`` pairs, and the string form of
values Mautic compares against (UTC ``YYYY-MM-DD HH:MM:SS`` for datetimes, CSV for ``in``).
Must not: send requests or know endpoint paths.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime
from typing import Any

from scorebridge.clock import utc

Clause = Mapping[str, Any]
"""One where clause: ``{"col": ..., "expr": ..., "val": ...}``; ``orX``/``andX`` nest clauses."""

_CSV_EXPRESSIONS = frozenset({"in", "notIn"})


def mautic_datetime(value: datetime) -> str:
    """A datetime as Mautic compares it in SQL: UTC ``YYYY-MM-DD HH:MM:SS``."""
    return utc(value).strftime("%Y-%m-%d %H:%M:%S")


def scalar(value: Any) -> str:
    """The string Mautic expects for one query value."""
    if isinstance(value, datetime):
        return mautic_datetime(value)
    if isinstance(value, bool):
        return "1" if value else "0"
    return str(value)


def flatten(name: str, value: Any) -> list[tuple[str, str]]:
    """``name`` + nested dicts/lists → bracketed pairs, in order; ``None`` values are left out."""
    if value is None:
        return []
    if isinstance(value, Mapping):
        value = _normalise_clause(value)
        pairs: list[tuple[str, str]] = []
        for key, item in value.items():
            pairs.extend(flatten(f"{name}[{key}]", item))
        return pairs
    if isinstance(value, Sequence) and not isinstance(value, str | bytes):
        pairs = []
        for index, item in enumerate(value):
            pairs.extend(flatten(f"{name}[{index}]", item))
        return pairs
    return [(name, scalar(value))]


def _normalise_clause(clause: Mapping[str, Any]) -> Mapping[str, Any]:
    """``in``/``notIn`` take a comma-separated string, not an array (an array fails in PHP 8)."""
    val = clause.get("val")
    if (
        clause.get("expr") in _CSV_EXPRESSIONS
        and isinstance(val, Sequence)
        and not isinstance(val, str)
    ):
        return {**clause, "val": ",".join(scalar(v) for v in val)}
    return clause


def where_params(where: Sequence[Clause] | None) -> list[tuple[str, str]]:
    """``where[N][...]`` pairs for a list of clauses."""
    return flatten("where", list(where)) if where else []


Order = Sequence[Mapping[str, str] | tuple[str, str]]
"""``[{"col": "id", "dir": "ASC"}, ...]`` or ``[("id", "ASC"), ...]``."""


def order_params(order: Order | None) -> list[tuple[str, str]]:
    """``order[N][col]``/``order[N][dir]`` pairs."""
    pairs: list[tuple[str, str]] = []
    for index, item in enumerate(order or ()):
        if isinstance(item, Mapping):
            column, direction = item["col"], item.get("dir", "ASC")
        else:
            column, direction = item
        pairs.append((f"order[{index}][col]", column))
        pairs.append((f"order[{index}][dir]", direction.upper()))
    return pairs
