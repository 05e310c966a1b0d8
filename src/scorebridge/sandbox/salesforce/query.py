"""Running a parsed SOQL query against a catalog of objects (crm-apis.md §3.3, §3.7).

Owns name resolution (``INVALID_TYPE`` for an unknown object, ``INVALID_FIELD`` for an unknown or
invisible field, a relationship that does not exist, or a literal of the wrong type: datetimes
and dates are unquoted, booleans are TRUE/FALSE), filtering (text compares without case, ``LIKE``
with ``%``/``_``, null semantics), ordering (nulls first ascending, last descending; ties keep
creation order), LIMIT/OFFSET (at most 2000), child subqueries rendered as
``{totalSize, done, records}`` or null, one-hop parent paths rendered as nested records, and
record JSON with ``attributes {type, url}``. Never writes.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any, Protocol

from scorebridge.sandbox.salesforce import errors, ids
from scorebridge.sandbox.salesforce.schema import TEXT_TYPES, FieldSpec, ObjectSpec
from scorebridge.sandbox.salesforce.soql import Compare, Cond, Literal, Logic, Path, Query
from scorebridge.sandbox.salesforce.values import parse_datetime, to_json

MAX_OFFSET = 2000
NUMERIC = ("double", "currency", "percent", "int")
_HINT_FIELD = (
    "If you are attempting to use a custom field, be sure to append the '__c' after the custom "
    "field name. Please reference your WSDL or the describe call for the appropriate names."
)

Record = dict[str, Any]


class Catalog(Protocol):
    """What a query reads."""

    def spec(self, name: str) -> ObjectSpec | None:
        """An object by case-insensitive name."""
        ...

    def rows(self, name: str, deleted: bool = False) -> Iterable[Record]:
        """An object's records in creation order."""
        ...

    def find(self, record_id: str, deleted: bool = False) -> tuple[ObjectSpec, Record] | None:
        """A record by id."""
        ...

    def access(self, spec: ObjectSpec, field_spec: FieldSpec) -> tuple[bool, bool]:
        """(readable, editable) for the running user."""
        ...


@dataclass(frozen=True)
class Result:
    """The matching records, rendered (or only their count)."""

    total: int
    records: list[Record]


class Runner:
    """Runs queries for one request (API version for record URLs, the emulator's now)."""

    def __init__(self, catalog: Catalog, version: str, now: datetime) -> None:
        self.catalog = catalog
        self.version = version
        self.now = now
        self._resolved: dict[tuple[str, Path], tuple[FieldSpec, FieldSpec | None]] = {}

    def run(self, query: Query, deleted: bool = False) -> Result:
        """Resolve, filter, order, cut and render a top-level query."""
        spec = self._object(query.object)
        rows = self._select(spec, query, self.catalog.rows(spec.name, deleted))
        if query.count:
            return Result(len(rows), [])
        return Result(len(rows), [self._render(spec, query, row) for row in rows])

    # -- resolution ---------------------------------------------------------------------------

    def _object(self, name: str) -> ObjectSpec:
        spec = self.catalog.spec(name)
        if spec is None:
            raise errors.bad(
                "INVALID_TYPE",
                f"sObject type '{name}' is not supported. If you are attempting to use a custom "
                "object, be sure to append the '__c' after the entity name. Please reference "
                "your WSDL or the describe call for the appropriate names.",
            )
        return spec

    def _field(self, spec: ObjectSpec, name: str) -> FieldSpec:
        found = spec.field(name)
        if found is None or not self.catalog.access(spec, found)[0]:
            raise errors.bad(
                "INVALID_FIELD", f"No such column '{name}' on entity '{spec.name}'. {_HINT_FIELD}"
            )
        return found

    def _resolve(self, spec: ObjectSpec, path: Path) -> tuple[FieldSpec, FieldSpec | None]:
        """(the field on ``spec``, the field of the related record for a one-hop path)."""
        key = (spec.name, path)
        if key not in self._resolved:
            self._resolved[key] = self._lookup(spec, path)
        return self._resolved[key]

    def _lookup(self, spec: ObjectSpec, path: Path) -> tuple[FieldSpec, FieldSpec | None]:
        if len(path.parts) == 1:
            return self._field(spec, path.parts[0]), None
        hop, name = path.parts
        link = next(
            (f for f in spec.fields.values() if (f.relationship or "").lower() == hop.lower()),
            None,
        )
        if link is None:
            raise errors.bad(
                "INVALID_FIELD",
                f"Didn't understand relationship '{hop}' in field path. If you are attempting to "
                "use a custom relationship, be sure to append the '__r' after the custom "
                "relationship name. Please reference your WSDL or the describe call for the "
                "appropriate names.",
            )
        targets = [self._object(t) for t in link.reference_to]
        for target in targets:
            if target.field(name) is not None:
                return link, self._field(target, name)
        return link, self._field(targets[0], name)

    # -- filtering and ordering ---------------------------------------------------------------

    def _select(self, spec: ObjectSpec, query: Query, rows: Iterable[Record]) -> list[Record]:
        for item in query.items:
            if isinstance(item, Path):
                self._resolve(spec, item)
        check = self._condition(spec, query.where) if query.where else None
        chosen = [r for r in rows if check is None or check(r)]
        for order in reversed(query.order):
            link, far = self._resolve(spec, order.path)
            present = [r for r in chosen if self._value(r, link, far) is not None]
            missing = [r for r in chosen if self._value(r, link, far) is None]
            kind = (far or link).type
            present.sort(
                key=lambda r: _sortable(self._value(r, link, far), kind),
                reverse=order.descending,
            )
            chosen = present + missing if order.nulls_last else missing + present
        offset = query.offset or 0
        if offset > MAX_OFFSET:
            raise errors.bad(
                "NUMBER_OUTSIDE_VALID_RANGE", f"Maximum SOQL offset allowed is {MAX_OFFSET}"
            )
        end = None if query.limit is None else offset + query.limit
        return chosen[offset:end]

    def _value(self, record: Record, link: FieldSpec, far: FieldSpec | None) -> Any:
        value = record.get(link.name)
        if far is None or value is None:
            return value
        found = self.catalog.find(value)
        return None if found is None else found[1].get(far.name)

    def _condition(self, spec: ObjectSpec, cond: Cond) -> Any:
        if isinstance(cond, Logic):
            parts = [self._condition(spec, c) for c in cond.items]
            if cond.op == "AND":
                return lambda r: all(p(r) for p in parts)
            if cond.op == "OR":
                return lambda r: any(p(r) for p in parts)
            return lambda r: not parts[0](r)
        link, far = self._resolve(spec, cond.path)
        target = far or link
        wanted = [self._operand(target, cond, v) for v in cond.values]

        def check(record: Record) -> bool:
            return _compare(cond.op, self._value(record, link, far), wanted, target)

        return check

    def _operand(self, target: FieldSpec, cond: Compare, literal: Literal) -> Any:
        kind = target.type
        if literal.kind == "null":
            if cond.op not in ("=", "!="):
                raise errors.malformed_query(f"unexpected token: 'null' after {cond.op}")
            return None
        if kind == "datetime" and literal.kind in ("datetime", "relative"):
            return (
                parse_datetime(literal.value)
                if literal.kind == "datetime"
                else self._range(literal.value)
            )
        if kind == "date" and literal.kind in ("date", "relative"):
            if literal.kind == "date":
                return literal.value
            start, end = self._range(literal.value)
            return (start.date().isoformat(), end.date().isoformat())
        if kind == "boolean" and literal.kind == "boolean":
            return literal.value
        if kind in NUMERIC and literal.kind == "number":
            return literal.value
        if kind in ("id", "reference") and literal.kind == "string":
            full = ids.normalize(literal.value)
            if full is None:
                raise errors.bad(
                    "INVALID_QUERY_FILTER_OPERATOR", f"invalid ID field: {literal.value}"
                )
            return full
        if kind in TEXT_TYPES and literal.kind == "string":
            return literal.value.lower()
        expected = {"datetime": "dateTime", "reference": "id"}.get(kind, kind)
        raise errors.bad(
            "INVALID_FIELD",
            f"value of filter criterion for field '{target.name}' must be of type {expected} "
            "and should not be enclosed in quotes",
        )

    def _range(self, literal: str) -> tuple[datetime, datetime]:
        today = datetime.combine(self.now.astimezone(UTC).date(), datetime.min.time(), UTC)
        day = timedelta(days=1)
        name, _, count = literal.partition(":")
        n = int(count or 0)
        ranges = {
            "TODAY": (today, today + day),
            "YESTERDAY": (today - day, today),
            "TOMORROW": (today + day, today + 2 * day),
            "LAST_N_DAYS": (today - n * day, today + day),
            "N_DAYS_AGO": (today - n * day, today - (n - 1) * day),
        }
        return ranges[name]

    # -- rendering ----------------------------------------------------------------------------

    def attributes(self, spec: ObjectSpec, record: Record) -> dict[str, str]:
        """``{type, url}`` of a record."""
        url = f"/services/data/v{self.version}/{'tooling/' if spec.tooling else ''}sobjects"
        return {"type": spec.name, "url": f"{url}/{spec.name}/{record['Id']}"}

    def _render(self, spec: ObjectSpec, query: Query, record: Record) -> Record:
        body: Record = {"attributes": self.attributes(spec, record)}
        for item in query.items:
            if isinstance(item, Query):
                body[_child_name(spec, item)] = self._children(spec, item, record)
                continue
            link, far = self._resolve(spec, item)
            if far is None:
                body[link.name] = to_json(record.get(link.name))
                continue
            relation = str(link.relationship)
            found = self.catalog.find(record[link.name]) if record.get(link.name) else None
            if found is None:
                body[relation] = None
                continue
            nested = body.get(relation) or {"attributes": self.attributes(*found)}
            nested[far.name] = to_json(found[1].get(far.name))
            body[relation] = nested
        return body

    def _children(self, spec: ObjectSpec, sub: Query, parent: Record) -> Record | None:
        child = spec.child(sub.object)
        if child is None:
            raise errors.bad(
                "INVALID_TYPE",
                f"Didn't understand relationship '{sub.object}' in FROM part of query call.",
            )
        child_spec = self._object(child.object)
        rows = (r for r in self.catalog.rows(child_spec.name) if r.get(child.field) == parent["Id"])
        chosen = self._select(child_spec, sub, rows)
        if not chosen:
            return None
        records = [self._render(child_spec, sub, r) for r in chosen]
        return {"totalSize": len(records), "done": True, "records": records}


def _child_name(spec: ObjectSpec, sub: Query) -> str:
    child = spec.child(sub.object)
    return child.name if child else sub.object


def _sortable(value: Any, kind: str) -> Any:
    if isinstance(value, str) and kind not in ("id", "reference"):
        return value.lower()  # ids sort by their characters: creation order
    if isinstance(value, bool):
        return int(value)
    return value


def _compare(op: str, value: Any, wanted: list[Any], field: FieldSpec) -> bool:
    if isinstance(value, str) and field.type not in ("id", "reference"):
        value = value.lower()
    if op in ("IN", "NOTIN"):
        inside = value is not None and any(_equal(value, w) for w in wanted)
        return inside if op == "IN" else not inside
    target = wanted[0]
    if op == "=":
        return value is None if target is None else value is not None and _equal(value, target)
    if op == "!=":
        return value is not None if target is None else value is None or not _equal(value, target)
    if value is None:
        return False
    if op == "LIKE":
        return _like(str(value), str(target))
    low, high = target if isinstance(target, tuple) else (target, target)  # relative: [low, high)
    inclusive_high = not isinstance(target, tuple)
    if op == "<":
        return bool(value < low)
    if op == "<=":
        return bool(value <= high if inclusive_high else value < high)
    if op == ">":
        return bool(value > high if inclusive_high else value >= high)
    return bool(value >= low)


def _equal(value: Any, target: Any) -> bool:
    if isinstance(target, tuple):
        return bool(target[0] <= value < target[1])
    return bool(value == target)


def _like(value: str, pattern: str) -> bool:
    regex = "".join(".*" if c == "%" else "." if c == "_" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.IGNORECASE | re.DOTALL) is not None
