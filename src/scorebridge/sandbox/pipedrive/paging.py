"""The v2 list contract shared by persons, organizations, deals, activities and fields
(crm-apis.md §2.3, §2.5, §2.7): ``updated_since`` (inclusive) / ``updated_until`` (exclusive),
``ids`` (at most 100), ``sort_by`` / ``sort_direction``, ``limit`` (default 100, at most 500) and
an opaque keyset ``cursor`` (``additional_data.next_cursor``, ``null`` on the last page).

The cursor holds the sort field and the last item's sort key, so items added or changed while a
client pages are neither skipped nor repeated out of order. Never writes.
"""

from __future__ import annotations

import base64
import binascii
import json
from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from scorebridge.sandbox.base import Response
from scorebridge.sandbox.pipedrive import errors
from scorebridge.sandbox.pipedrive.routing import Call, page
from scorebridge.sandbox.pipedrive.state import Record
from scorebridge.sandbox.pipedrive.values import parse_rfc3339

DEFAULT_LIMIT = 100
MAX_LIMIT = 500
MAX_IDS = 100
SORTS = ("id", "update_time", "add_time")

Filter = Callable[[Record], bool]
SortKey = tuple[int, Any, int]


def list_response(
    call: Call,
    records: Iterable[Record],
    render: Callable[[Record], Any],
    filters: Iterable[Filter] = (),
    sorts: tuple[str, ...] = SORTS,
) -> Response:
    """One page of ``records`` after the common and the given filters."""
    checks = [*common_filters(call), *filters]
    sort_by = call.arg("sort_by") or "id"
    if sort_by not in sorts:
        raise errors.bad_request(f"sort_by must be one of {', '.join(sorts)}")
    direction = call.arg("sort_direction") or "asc"
    if direction not in ("asc", "desc"):
        raise errors.bad_request("sort_direction must be asc or desc")
    limit = call.int_arg("limit") or DEFAULT_LIMIT
    if not 0 < limit <= MAX_LIMIT:
        raise errors.bad_request(f"limit must be between 1 and {MAX_LIMIT}")
    after = _decode(call.arg("cursor"), sort_by)

    def key(record: Record) -> SortKey:
        return sort_key(record, sort_by)

    chosen = sorted(
        (r for r in records if all(check(r) for check in checks)),
        key=key,
        reverse=direction == "desc",
    )
    if after is not None:
        chosen = [r for r in chosen if (key(r) > after if direction == "asc" else key(r) < after)]
    shown = chosen[:limit]
    cursor = _encode(sort_by, key(shown[-1])) if len(chosen) > limit else None
    return page([render(r) for r in shown], cursor)


def common_filters(call: Call) -> list[Filter]:
    """``updated_since``, ``updated_until`` and ``ids``."""
    checks: list[Filter] = []
    since, until = call.arg("updated_since"), call.arg("updated_until")
    if since:
        low = parse_rfc3339(since, "updated_since")
        checks.append(lambda r: bool(r["update_time"] >= low))
    if until:
        high = parse_rfc3339(until, "updated_until")
        checks.append(lambda r: bool(r["update_time"] < high))
    raw_ids = call.list_arg("ids")
    if raw_ids:
        if len(raw_ids) > MAX_IDS:
            raise errors.bad_request(f"ids accepts at most {MAX_IDS} ids")
        try:
            wanted = {int(i) for i in raw_ids}
        except ValueError as exc:
            raise errors.bad_request("ids must be integers") from exc
        checks.append(lambda r: r["id"] in wanted)
    return checks


def equals(call: Call, name: str, key: str | None = None) -> list[Filter]:
    """A filter ``record[key] == int(query[name])`` when the parameter is given."""
    wanted = call.int_arg(name)
    if wanted is None:
        return []
    field = key or name
    return [lambda r: r.get(field) == wanted]


def sort_key(record: Record, field: str) -> SortKey:
    """(has value, value, id): ``None`` sorts first, ties break on id."""
    value = record.get(field)
    if isinstance(value, datetime):
        value = int(value.timestamp())
    return (0, 0, record["id"]) if value is None else (1, value, record["id"])


def _encode(field: str, key: SortKey) -> str:
    raw = json.dumps({"field": field, "key": list(key[:2]), "id": key[2]}, separators=(",", ":"))
    return base64.urlsafe_b64encode(raw.encode()).decode().rstrip("=")


def _decode(cursor: str | None, field: str) -> SortKey | None:
    if not cursor:
        return None
    try:
        padded = cursor + "=" * (-len(cursor) % 4)
        data = json.loads(base64.urlsafe_b64decode(padded.encode()))
        flag, value = data["key"]
        if data["field"] != field:
            raise errors.bad_request("cursor was made for another sort_by")
        return (int(flag), value, int(data["id"]))
    except (ValueError, KeyError, TypeError, binascii.Error) as exc:
        raise errors.bad_request("Invalid cursor") from exc
