"""Contact fields for bulk scoring, by column: each field as codes into its distinct values.

Owns: :class:`FieldColumns`, built from per-contact mappings (tests, PostgreSQL) or straight from
the store's per-field JSON texts (SQLite), so fit rules run once per distinct value of a field
(a million contacts share few countries and job titles) and no per-contact dict is ever built.
Distinct means distinct in type and value: ``1``, ``1.0``, ``True`` and ``"1"`` stay apart.
Must not: evaluate rules.
"""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import numpy.typing as npt

I64 = npt.NDArray[np.int64]
Column = tuple[I64, list[Any]]  # codes (one per contact), distinct values


def distinct_codes(values: Sequence[Any]) -> Column:
    """Each value's index into the list of its distinct values (an unhashable one: its own)."""
    index: dict[tuple[type, Any], int] = {}
    try:
        codes = [index.setdefault((v.__class__, v), len(index)) for v in values]
    except TypeError:  # a list or a dict somewhere: the slow way
        index.clear()
        distinct: list[Any] = []
        slow: list[int] = []
        for v in values:
            try:
                code = index.setdefault((v.__class__, v), len(distinct))
            except TypeError:
                code = len(distinct)
            if code == len(distinct):
                distinct.append(v)
            slow.append(code)
        return np.array(slow, np.int64), distinct
    return np.array(codes, np.int64), [value for _, value in index]


class FieldColumns:
    """The fields of ``n`` contacts; :meth:`column` gives one field for all of them."""

    def __init__(
        self,
        n: int,
        columns: Mapping[str, Column] | None = None,
        rows: Sequence[Mapping[str, Any]] | None = None,
    ) -> None:
        self.n = n
        self._columns: dict[str, Column] = dict(columns or {})
        self._rows = rows

    @classmethod
    def from_rows(cls, rows: Sequence[Mapping[str, Any]]) -> FieldColumns:
        """From one mapping of field name to value per contact."""
        return cls(len(rows), rows=rows)

    @classmethod
    def from_json(cls, n: int, texts: Mapping[str, Sequence[str | bytes | None]]) -> FieldColumns:
        """From each field's stored JSON text per contact (``None``: the field is absent)."""
        columns: dict[str, Column] = {}
        for name, column in texts.items():
            index: dict[Any, int] = {}
            codes = [index.setdefault(text, len(index)) for text in column]
            distinct = [None if text is None else json.loads(text) for text in index]
            columns[name] = (np.array(codes, np.int64), distinct)
        return cls(n, columns)

    def column(self, name: str) -> Column:
        """Field ``name`` of every contact (absent everywhere when never loaded)."""
        found = self._columns.get(name)
        if found is None:
            if self._rows is None:
                found = (np.zeros(self.n, np.int64), [None])
            else:
                found = distinct_codes([one.get(name) for one in self._rows])
            self._columns[name] = found
        return found

    def take(self, rows: I64) -> FieldColumns:
        """The contacts ``rows`` only."""
        picked = [self._rows[r] for r in rows.tolist()] if self._rows is not None else None
        columns = {
            name: (codes[rows], distinct) for name, (codes, distinct) in self._columns.items()
        }
        return FieldColumns(len(rows), columns, picked)
