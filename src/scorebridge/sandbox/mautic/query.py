"""Mautic's list-query grammar: PHP bracket parameters, ``where[]``, ``order[]``/``orderBy``.

Implements ``CommonRepository`` semantics as mautic-api.md §2.1 describes them: the expressions
``eq neq lt lte gt gte like notLike in notIn between notBetween isNull isNotNull isEmpty
isNotEmpty andX orX``, ORM-property conversion of top-level columns only, the ``l.``-style alias
prefix, clauses with ``internal`` stripped, and SQL-ish comparison (NULL never matches,
case-insensitive strings like MySQL's ``utf8mb4_unicode_ci``, numeric columns compared as
numbers). Unknown columns and malformed clauses raise :class:`SqlError` (Mautic answers 500).

Knows nothing about contacts or tables: callers pass a column resolver.
"""

from __future__ import annotations

import csv
import re
from collections.abc import Callable, Iterable, Sequence
from typing import Any, TypeVar

T = TypeVar("T")
Getter = Callable[[Any], Any]
#: column name -> (value getter, numeric?)
Resolver = Callable[[str], tuple[Getter, bool]]
Predicate = Callable[[Any], bool]


class SqlError(Exception):
    """What would be an SQL or argument error inside Mautic (HTTP 500, generic message)."""


def parse_php_query(pairs: Iterable[tuple[str, str]]) -> dict[str, Any]:
    """Parse PHP-style bracket keys (``where[0][col]=x``, ``ids[]=1``) into nested dicts.

    Arrays are dicts with string keys in insertion order (like PHP arrays); ``[]`` appends.
    """
    root: dict[str, Any] = {}
    for raw_key, value in pairs:
        head, _, rest = raw_key.partition("[")
        keys = [head] + (re.findall(r"([^\[\]]*)\]", "[" + rest) if rest else [])
        node = root
        for depth, key in enumerate(keys):
            last = depth == len(keys) - 1
            if key == "":
                key = str(len(node))
            if last:
                node[key] = value
            else:
                child = node.get(key)
                if not isinstance(child, dict):
                    child = {}
                    node[key] = child
                node = child
    return root


def as_list(value: Any) -> list[Any]:
    """A PHP array (dict or list) as a list of its values; scalars become one-element lists."""
    if value is None:
        return []
    if isinstance(value, dict):
        return list(value.values())
    if isinstance(value, list):
        return value
    return [value]


def php_int(value: Any) -> int:
    """PHP's ``(int)`` cast of a string or number: leading digits, else 0."""
    if isinstance(value, bool):
        return int(value)
    if isinstance(value, int):
        return value
    if isinstance(value, float):
        return int(value)
    match = re.match(r"\s*([+-]?\d+)", str(value))
    return int(match.group(1)) if match else 0


def php_float(value: Any) -> float:
    """PHP/MySQL numeric cast of a string: leading number, else 0."""
    if isinstance(value, int | float):
        return float(value)
    match = re.match(r"\s*([+-]?(\d+(\.\d*)?|\.\d+)([eE][+-]?\d+)?)", str(value))
    return float(match.group(1)) if match else 0.0


def snake(name: str) -> str:
    """``dateModified`` -> ``date_modified`` (Mautic's ORM-property conversion)."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", name).lower()


def strip_alias(column: str) -> str:
    """``l.date_modified`` -> ``date_modified``."""
    return column.rsplit(".", 1)[-1]


_NO_VALUE = {"isNull", "isNotNull", "isEmpty", "isNotEmpty"}
_EXPRESSIONS = {
    "eq", "neq", "lt", "lte", "gt", "gte", "like", "notLike", "in", "notIn", "between",
    "notBetween", "andX", "orX",
} | _NO_VALUE  # fmt: skip


def compile_where(clauses: Any, resolve: Resolver) -> Predicate:
    """A predicate over rows for a ``where`` parameter (all clauses must hold)."""
    parts = [_clause(c, resolve, top=True) for c in as_list(clauses) if not _internal(c)]
    return _all(parts)


def _internal(clause: Any) -> bool:
    return isinstance(clause, dict) and "internal" in clause


def _all(parts: Sequence[Predicate]) -> Predicate:
    if not parts:
        return lambda _row: True
    if len(parts) == 1:
        return parts[0]
    return lambda row: all(part(row) for part in parts)


def _clause(clause: Any, resolve: Resolver, *, top: bool) -> Predicate:
    if not isinstance(clause, dict):
        raise SqlError("where clause must be an array")
    expr = clause.get("expr")
    if expr not in _EXPRESSIONS:
        raise SqlError(f"unsupported or missing expr {expr!r}")
    value = clause.get("val", clause.get("value"))
    if expr in ("andX", "orX"):
        nested = [_clause(c, resolve, top=False) for c in as_list(value) if not _internal(c)]
        if expr == "andX":
            return _all(nested)
        return lambda row: any(part(row) for part in nested)
    column = clause.get("col", clause.get("column"))
    if not isinstance(column, str) or not column:
        raise SqlError("missing col")
    name = strip_alias(snake(column) if top else column)
    get, numeric = resolve(name)
    if expr in _NO_VALUE:
        return _null_test(expr, get)
    if value is None:
        raise SqlError(f"missing val for {expr}")
    return _compare(expr, get, numeric, value)


def _null_test(expr: str, get: Getter) -> Predicate:
    if expr == "isNull":
        return lambda row: get(row) is None
    if expr == "isNotNull":
        return lambda row: get(row) is not None
    if expr == "isEmpty":
        return lambda row: get(row) in (None, "")
    return lambda row: get(row) not in (None, "")


def _normalise(value: Any, numeric: bool) -> Any:
    if numeric:
        return php_float(value)
    text = str(value).casefold()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
        text += " 00:00:00"  # MySQL reads a date literal as midnight when comparing datetimes
    return text


def _cell(get: Getter, numeric: bool) -> Callable[[Any], Any]:
    def cell(row: Any) -> Any:
        raw = get(row)
        if raw is None:
            return None
        kind = type(raw)
        if numeric:
            return raw if kind is int or kind is float else php_float(raw)
        return raw.casefold() if kind is str else str(raw).casefold()

    return cell


_ORDERING: dict[str, Callable[[Any, Any], bool]] = {
    "eq": lambda a, b: bool(a == b),
    "neq": lambda a, b: bool(a != b),
    "lt": lambda a, b: bool(a < b),
    "lte": lambda a, b: bool(a <= b),
    "gt": lambda a, b: bool(a > b),
    "gte": lambda a, b: bool(a >= b),
}


def _compare(expr: str, get: Getter, numeric: bool, value: Any) -> Predicate:
    cell = _cell(get, numeric)
    if expr in _ORDERING:
        if isinstance(value, dict | list):
            raise SqlError(f"{expr} needs a scalar val")
        op = _ORDERING[expr]
        target = _normalise(value, numeric)

        def ordered(row: Any) -> bool:
            have = cell(row)
            return have is not None and op(have, target)

        return ordered
    if expr in ("like", "notLike"):
        pattern = _like(str(value))
        want = expr == "like"

        def like(row: Any) -> bool:
            raw = get(row)
            return raw is not None and bool(pattern.fullmatch(_text(raw))) == want

        return like
    if expr in ("in", "notIn"):
        if not isinstance(value, str):
            # PHP 8: html_entity_decode() on an array -> TypeError (mautic-api.md §2.1).
            raise SqlError("in/notIn need a comma-separated string")
        members = {_normalise(v, numeric) for v in next(csv.reader([value]), [])}
        inside = expr == "in"
        return lambda row: (have := cell(row)) is not None and (have in members) == inside
    bounds = as_list(value)
    if len(bounds) != 2:
        raise SqlError("between needs two values")
    low, high = (_normalise(b, numeric) for b in bounds)
    within = expr == "between"
    return lambda row: (have := cell(row)) is not None and (low <= have <= high) == within


def _text(raw: Any) -> str:
    if isinstance(raw, float) and raw.is_integer():
        return str(int(raw))
    return str(raw)


def _like(pattern: str) -> re.Pattern[str]:
    out = []
    escaped = False
    for char in pattern:
        if escaped:
            out.append(re.escape(char))
            escaped = False
        elif char == "\\":
            escaped = True
        elif char == "%":
            out.append(".*")
        elif char == "_":
            out.append(".")
        else:
            out.append(re.escape(char))
    return re.compile("".join(out), re.IGNORECASE | re.DOTALL)


def order_keys(
    order: Any, order_by: str | None, order_dir: str | None, resolve: Resolver
) -> list[tuple[Getter, bool, bool]]:
    """``(getter, numeric, descending)`` sort keys: ``order[]`` wins over ``orderBy``."""
    keys: list[tuple[Getter, bool, bool]] = []
    entries = as_list(order)
    if entries:
        for entry in entries:
            if not isinstance(entry, dict) or not entry.get("col"):
                raise SqlError("order entries need col")
            get, numeric = resolve(strip_alias(str(entry["col"])))
            keys.append((get, numeric, str(entry.get("dir", "ASC")).upper() == "DESC"))
        return keys
    if order_by:
        descending = (order_dir or "ASC").upper() == "DESC"
        for column in order_by.split(","):
            get, numeric = resolve(strip_alias(column.strip()))
            keys.append((get, numeric, descending))
    return keys


def sort_rows(rows: list[T], keys: Sequence[tuple[Getter, bool, bool]]) -> list[T]:
    """Sort like MySQL: NULLs first ascending, last descending; case-insensitive text."""
    result = list(rows)
    for get, numeric, descending in reversed(keys):
        cell = _cell(get, numeric)

        def key(row: T, cell: Callable[[Any], Any] = cell) -> tuple[bool, Any]:
            value = cell(row)
            return (value is not None, value if value is not None else 0)

        result.sort(key=key, reverse=descending)
    return result
