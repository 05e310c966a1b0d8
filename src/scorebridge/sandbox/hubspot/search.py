"""The CRM search endpoint's semantics (crm-apis.md §1.3): filter groups, operators, sorts,
``query``, numeric-offset paging, the 200-per-page and 10,000-result caps, and index lag.

Owns ``POST /crm/v3/objects/{type}/search`` from parsed body to response body. Filters in a group
are ANDed, groups ORed. String comparisons ignore case; dates compare as instants (epoch ms or
ISO); numbers numerically. ``associations.<type>`` filters on linked record ids. Paging past the
10,000th result answers 400. Reads records from :class:`AccountState`, never writes them.
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from scorebridge.sandbox.hubspot import errors
from scorebridge.sandbox.hubspot.schema import (
    DEFAULT_READ,
    QUERY_PROPERTIES,
    SEARCH_ALWAYS,
    PropertyDef,
)
from scorebridge.sandbox.hubspot.state import AccountState, Properties, Record
from scorebridge.sandbox.hubspot.values import parse_instant, stringify

MAX_LIMIT = 200
MAX_RESULTS = 10_000
MAX_GROUPS = 5
MAX_FILTERS_PER_GROUP = 10
MAX_FILTERS = 25
MAX_QUERY_CHARS = 3000
OPERATORS = frozenset(
    [
        "EQ",
        "NEQ",
        "LT",
        "LTE",
        "GT",
        "GTE",
        "BETWEEN",
        "IN",
        "NOT_IN",
        "HAS_PROPERTY",
        "NOT_HAS_PROPERTY",
        "CONTAINS_TOKEN",
        "NOT_CONTAINS_TOKEN",
    ]
)
_TOKEN = re.compile(r"[\w*]+")

Values = list[str]  # a record's values for one property (several for associations.*)


def search(state: AccountState, kind: str, body: Any) -> dict[str, Any]:
    """The ``CollectionResponseWithTotalSimplePublicObject`` for a search request body."""
    if body is None:
        body = {}
    if not isinstance(body, dict):
        raise errors.validation("Invalid input JSON: expected an object")
    limit = _int(body.get("limit", 10), "limit")
    if not 0 < limit <= MAX_LIMIT:
        raise errors.validation(f"limit must be between 1 and {MAX_LIMIT}; got {limit}")
    offset = _int(body.get("after") or 0, "after")
    if offset >= MAX_RESULTS or offset < 0:
        raise errors.validation(
            f"Paging past {MAX_RESULTS} results is not supported: after={offset}. "
            "Narrow the filters and search again."
        )
    matching = _cached_matches(state, kind, body)
    page = matching[offset : offset + limit]
    asked = body.get("properties") or DEFAULT_READ[kind]
    names = list(dict.fromkeys([*asked, *SEARCH_ALWAYS[kind]]))
    known = state.known(kind)
    results = [_indexed(state, state.records[kind][i]).to_json(names, known) for i in page]
    response: dict[str, Any] = {"total": len(matching), "results": results}
    end = offset + len(page)
    if end < len(matching):
        response["paging"] = {"next": {"after": str(end), "link": f"?after={end}"}}
    return response


def _cached_matches(state: AccountState, kind: str, body: dict[str, Any]) -> list[str]:
    """The matching ids; paging through one query re-uses them while nothing was written."""
    if state.search_lag_ms:  # what is visible moves with the clock
        return _matching_ids(state, kind, body)
    query = {k: v for k, v in body.items() if k not in ("after", "limit", "properties")}
    key = (kind, state.revision, json.dumps(query, sort_keys=True, default=str))
    cached = state.search_cache.get(kind)
    if cached is None or cached[0] != key:
        cached = (key, _matching_ids(state, kind, body))
        state.search_cache[kind] = cached
    return cached[1]


def _matching_ids(state: AccountState, kind: str, body: dict[str, Any]) -> list[str]:
    groups = body.get("filterGroups") or []
    _check_groups(groups)
    query = body.get("query")
    if query is not None and (not isinstance(query, str) or len(query) > MAX_QUERY_CHARS):
        raise errors.validation(f"query must be a string of at most {MAX_QUERY_CHARS} characters")
    cutoff = state.now() - timedelta(milliseconds=state.search_lag_ms)
    rows: list[tuple[Record, Properties]] = []
    for record in state.records[kind].values():
        if record.archived:
            continue
        props = _visible(record, cutoff, state.search_lag_ms > 0)
        if props is not None:
            rows.append((record, props))
    lookup = _values(state, kind)
    hits = [
        (record, props)
        for record, props in rows
        if (not groups or any(_group_matches(g, record, props, lookup) for g in groups))
        and (not query or _query_matches(query, props, kind))
    ]
    for prop_name, descending in reversed(_sorts(body.get("sorts"))):
        definition = state.prop(kind, prop_name)
        hits.sort(key=lambda hit: _sort_key(hit[1].get(prop_name), definition), reverse=descending)
        # nulls go last whatever the direction
        hits.sort(key=lambda hit: hit[1].get(prop_name) is None)
    return [record.id for record, _ in hits]


def _visible(record: Record, cutoff: Any, lagging: bool) -> Properties | None:
    """The properties the search index holds for a record (``None``: not indexed yet)."""
    if not lagging or not record.snapshots:
        return record.properties
    seen = [snap for at, snap in record.snapshots if at <= cutoff]
    if len(seen) > 1:  # older snapshots are superseded; keep the list short
        record.snapshots = record.snapshots[len(seen) - 1 :]
    return seen[-1] if seen else None


def _indexed(state: AccountState, record: Record) -> Record:
    if not state.search_lag_ms or not record.snapshots:
        return record
    cutoff = state.now() - timedelta(milliseconds=state.search_lag_ms)
    props = _visible(record, cutoff, True) or record.properties
    return Record(record.id, record.kind, props, record.created_at, record.updated_at)


def _check_groups(groups: Any) -> None:
    if not isinstance(groups, list) or len(groups) > MAX_GROUPS:
        raise errors.validation(f"At most {MAX_GROUPS} filterGroups are allowed")
    total = 0
    for group in groups:
        filters = group.get("filters") if isinstance(group, dict) else None
        if not isinstance(filters, list) or len(filters) > MAX_FILTERS_PER_GROUP:
            raise errors.validation(f"A filterGroup holds 1 to {MAX_FILTERS_PER_GROUP} filters")
        total += len(filters)
        for f in filters:
            if not isinstance(f, dict) or not f.get("propertyName"):
                raise errors.validation("Each filter needs a propertyName")
            if f.get("operator") not in OPERATORS:
                raise errors.validation(f"Unsupported operator {f.get('operator')!r}")
    if total > MAX_FILTERS:
        raise errors.validation(f"At most {MAX_FILTERS} filters are allowed in total")


def _sorts(raw: Any) -> list[tuple[str, bool]]:
    sorts: list[tuple[str, bool]] = []
    for item in raw or []:
        if isinstance(item, str):
            sorts.append((item.lstrip("-"), item.startswith("-")))
        elif isinstance(item, dict) and item.get("propertyName"):
            sorts.append((str(item["propertyName"]), item.get("direction") == "DESCENDING"))
        else:
            raise errors.validation(f"Invalid sort {item!r}")
    return sorts or [("hs_object_id", False)]


Lookup = Callable[[Record, Properties, str], tuple[Values, PropertyDef | None]]


def _values(state: AccountState, kind: str) -> Lookup:
    def lookup(record: Record, props: Properties, name: str) -> tuple[Values, PropertyDef | None]:
        if name.startswith("associations."):
            other = name.split(".", 1)[1]
            other = other if other.endswith("s") else other + "s"
            if (kind, other) not in _LINKABLE:
                raise errors.validation(f"Cannot filter {kind} on {name}")
            return list(state.associated(kind, record.id, other)), None
        definition = state.prop(kind, name)
        if definition is None:
            raise errors.validation(f"Property {name} does not exist on {kind}")
        value = props.get(name)
        return ([] if value is None or value == "" else [value]), definition

    return lookup


_LINKABLE = {
    ("tasks", "contacts"),
    ("tasks", "deals"),
    ("deals", "contacts"),
    ("contacts", "deals"),
    ("contacts", "tasks"),
    ("deals", "tasks"),
}


def _group_matches(
    group: dict[str, Any], record: Record, props: Properties, lookup: Lookup
) -> bool:
    return all(
        _filter_matches(f, *lookup(record, props, f["propertyName"])) for f in group["filters"]
    )


def _filter_matches(f: dict[str, Any], values: Values, definition: PropertyDef | None) -> bool:
    op = f["operator"]
    if op == "HAS_PROPERTY":
        return bool(values)
    if op == "NOT_HAS_PROPERTY":
        return not values
    if op in ("IN", "NOT_IN"):
        wanted = [_comparable(v, definition) for v in f.get("values") or []]
        found = any(_comparable(v, definition) in wanted for v in values)
        return found if op == "IN" else not found
    if op in ("CONTAINS_TOKEN", "NOT_CONTAINS_TOKEN"):
        found = any(_contains_tokens(v, str(f.get("value", ""))) for v in values)
        return found if op == "CONTAINS_TOKEN" else not found
    if op == "NEQ":
        target = _comparable(f.get("value"), definition)
        return all(_comparable(v, definition) != target for v in values)
    if op == "BETWEEN":
        low, high = (
            _comparable(f.get("value"), definition),
            _comparable(f.get("highValue"), definition),
        )
        return any(low <= _comparable(v, definition) <= high for v in values)
    target = _comparable(f.get("value"), definition)
    compare: dict[str, Callable[[Any], bool]] = {
        "EQ": lambda v: v == target,
        "LT": lambda v: v < target,
        "LTE": lambda v: v <= target,
        "GT": lambda v: v > target,
        "GTE": lambda v: v >= target,
    }
    try:
        return any(compare[op](_comparable(v, definition)) for v in values)
    except TypeError:
        return False


def _comparable(value: Any, definition: PropertyDef | None) -> Any:
    """A filter or stored value in the form the property's type compares in."""
    text = stringify(value)
    if text is None:
        raise errors.validation("A filter value is missing")
    kind = definition.type if definition else "string"
    try:
        if kind in ("datetime", "date"):
            return parse_instant(text).timestamp()
        if kind == "number":
            return float(text)
    except ValueError as exc:
        raise errors.validation(f"{text!r} is not a valid {kind} filter value") from exc
    return text.lower()


def _sort_key(value: str | None, definition: PropertyDef | None) -> Any:
    if value is None:
        return (0, 0.0, "")
    if definition is not None and definition.type in ("number", "datetime", "date"):
        try:
            return (0, _comparable(value, definition), "")
        except errors.ApiError:
            return (1, 0.0, value.lower())
    return (1, 0.0, value.lower())


def _contains_tokens(text: str, phrase: str) -> bool:
    """Whether the phrase's tokens appear in order in the text's (``*`` is a wildcard)."""
    words = _TOKEN.findall(text.lower())
    wanted = _TOKEN.findall(phrase.lower())
    if not wanted:
        return False
    patterns = [re.compile(re.escape(w).replace(r"\*", r"\w*") + r"\Z") for w in wanted]
    return any(
        all(p.match(words[start + i]) for i, p in enumerate(patterns))
        for start in range(len(words) - len(patterns) + 1)
    )


def _query_matches(query: str, props: Properties, kind: str) -> bool:
    haystack = " ".join(props.get(n) or "" for n in QUERY_PROPERTIES[kind]).lower()
    words = _TOKEN.findall(haystack)
    return all(any(w.startswith(q) for w in words) for q in _TOKEN.findall(query.lower()))


def _int(value: Any, name: str) -> int:
    try:
        return int(value)
    except (TypeError, ValueError) as exc:
        raise errors.validation(f"{name} must be an integer; got {value!r}") from exc
