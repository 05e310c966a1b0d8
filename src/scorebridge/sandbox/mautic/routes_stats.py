"""``/api/stats/{table}`` and the activity timeline (mautic-api.md §4.2, §4.3).

Stats: raw rows, every value a string (or null), ``total`` a string, ``where``/``order``/
``start``/``limit`` (default 100, ``limit=0`` -> no rows); a table no subscriber serves answers
the table listing, as ``StatsApiController`` does when no results were set. Keyset paging on
``id`` is served by bisection so big tables stay fast.

Activity: per-type LIMIT/OFFSET paging, ``total`` over all types, ``maxPages`` from the largest
type, API-form events with ``contactId`` strings and camelCase ``details``.
"""

from __future__ import annotations

import math
from collections.abc import Callable
from datetime import datetime
from typing import Any

from scorebridge.sandbox.base import Response
from scorebridge.sandbox.mautic.query import (
    Getter,
    SqlError,
    as_list,
    compile_where,
    order_keys,
    php_float,
    php_int,
    sort_rows,
    strip_alias,
)
from scorebridge.sandbox.mautic.recording import CATALOGUE_TITLES
from scorebridge.sandbox.mautic.routing import GENERIC_500, NOT_FOUND, ApiError, Call, Router, ok
from scorebridge.sandbox.mautic.state import DB_FORMAT, MauticState, db_time, iso_time
from scorebridge.sandbox.mautic.tables import Row, Table
from scorebridge.sandbox.world import SITE

ACTIVITY_TYPES = {
    "asset.download": "Asset downloaded",
    "lead.donotcontact": "Do not contact",
    "email.read": "Email read",
    "email.sent": "Email sent",
    "form.submitted": "Form submitted",
    "page.hit": "Page hit",
    "point.gained": "Point gained",
    "stage.changed": "Stage changed",
}
# type -> (table, timestamp column, row filter)
_SOURCES: dict[str, tuple[str, str, Callable[[Row], bool]]] = {
    "asset.download": ("asset_downloads", "date_download", lambda r: True),
    "lead.donotcontact": ("lead_donotcontact", "date_added", lambda r: True),
    "email.read": ("email_stats", "date_read", lambda r: bool(r["is_read"])),
    "email.sent": ("email_stats", "date_sent", lambda r: True),
    "form.submitted": ("form_submissions", "date_submitted", lambda r: True),
    "page.hit": ("page_hits", "date_hit", lambda r: True),
    "point.gained": ("lead_points_change_log", "date_added", lambda r: True),
    "stage.changed": ("lead_stages_change_log", "date_added", lambda r: True),
}
_EXPOSED = tuple(name for name in sorted(MauticState().tables))


def register(router: Router) -> None:
    """Add the stats and activity routes."""
    router.add("GET", "/api/stats", stats_tables)
    router.add("GET", "/api/stats/{table}", stats_rows)
    router.add("GET", "/api/contacts/activity", all_activity)
    router.add("GET", "/api/contacts/{id}/activity", contact_activity)


def stats_tables(call: Call) -> Response:
    """``GET /api/stats``: the available tables and their columns."""
    tables = call.emulator.state.tables
    return ok(
        {
            "availableTables": list(_EXPOSED),
            "tableColumns": {name: sorted(tables[name].columns) for name in _EXPOSED},
        }
    )


def _resolver(table: Table) -> Callable[[str], tuple[Getter, bool]]:
    def resolve(name: str) -> tuple[Getter, bool]:
        if name not in table.columns:
            raise SqlError(f"Unknown column '{name}'")
        return (lambda row: row[name]), name in table.numeric

    return resolve


def _id_bounds(where: Any) -> tuple[tuple[int | None, int | None], bool]:
    """Top-level ``id`` comparisons as bisection bounds, and whether they were all clauses."""
    low: int | None = None
    high: int | None = None
    consumed = True
    for clause in as_list(where):
        if not isinstance(clause, dict) or "internal" in clause:
            continue
        column = clause.get("col", clause.get("column"))
        value = clause.get("val", clause.get("value"))
        expr = clause.get("expr")
        if (
            not isinstance(column, str)
            or strip_alias(column) != "id"
            or expr not in ("gt", "gte", "lt", "lte", "eq")
            or isinstance(value, dict | list)
            or value is None
        ):
            consumed = False
            continue
        number = php_float(value)
        if expr in ("gt", "gte", "eq"):
            bound = math.floor(number) + 1 if expr == "gt" else math.ceil(number)
            low = bound if low is None else max(low, bound)
        if expr in ("lt", "lte", "eq"):
            bound = math.ceil(number) - 1 if expr == "lt" else math.floor(number)
            high = bound if high is None else min(high, bound)
    return (low, high), consumed


def _id_order(order: Any) -> str | None:
    """``"ASC"``/``"DESC"`` when the order is exactly one key on ``id``."""
    entries = as_list(order)
    if len(entries) != 1 or not isinstance(entries[0], dict):
        return None
    entry = entries[0]
    if strip_alias(str(entry.get("col", ""))) != "id":
        return None
    return "DESC" if str(entry.get("dir", "ASC")).upper() == "DESC" else "ASC"


def _stringify(row: Row) -> dict[str, str | None]:
    return {key: None if value is None else str(value) for key, value in row.items()}


def stats_rows(call: Call) -> Response:
    """``GET /api/stats/{table}``."""
    table = call.emulator.state.tables.get(call.params["table"])
    if table is None:
        return stats_tables(call)
    where = call.arg("where")
    resolve = _resolver(table)
    try:
        rows: list[Row] = table.rows
        predicate = compile_where(where, resolve) if where else None
        if table.has_id and where:
            (low, high), consumed = _id_bounds(where)
            rows = table.id_range(low, high)
            if consumed:  # only id comparisons: the bisected range is the answer
                predicate = None
        if predicate is not None:
            rows = [row for row in rows if predicate(row)]
        order = call.arg("order")
        keys = order_keys(order, None, None, resolve)
    except SqlError as exc:
        raise ApiError(500, GENERIC_500) from exc
    by_id = _id_order(order) if table.has_id else None
    if by_id == "ASC":
        pass  # rows are kept in id order
    elif by_id == "DESC":
        rows = rows[::-1]
    elif keys:
        rows = sort_rows(rows, keys)
    start = max(0, call.int_arg("start", 0))
    limit = max(0, call.int_arg("limit", 100))
    page = rows[start : start + limit]
    return ok({"total": str(len(rows)), "stats": [_stringify(row) for row in page]})


# -- activity ----------------------------------------------------------------------------------


def all_activity(call: Call) -> Response:
    """``GET /api/contacts/activity``."""
    return _activity(call, None)


def contact_activity(call: Call) -> Response:
    """``GET /api/contacts/{id}/activity``."""
    value = call.params["id"]
    if not value.isdigit() or int(value) not in call.emulator.state.contacts:
        raise ApiError(404, NOT_FOUND)
    return _activity(call, int(value))


def _date_filter(raw: Any) -> str | None:
    if raw in (None, ""):
        return None
    text = str(raw).strip().replace("T", " ")
    for fmt in (DB_FORMAT, "%Y-%m-%d %H:%M", "%Y-%m-%d"):
        try:
            return datetime.strptime(text[: len(fmt) + 2], fmt).strftime(DB_FORMAT)  # noqa: DTZ007 - UTC text
        except ValueError:
            continue
    try:
        return db_time(datetime.fromisoformat(str(raw)))
    except ValueError as exc:
        raise ApiError(500, GENERIC_500) from exc


def _activity(call: Call, contact_id: int | None) -> Response:
    filters = call.arg("filters") or {}
    if not isinstance(filters, dict):
        filters = {}
    include = [str(x) for x in as_list(filters.get("includeEvents"))]
    exclude = [str(x) for x in as_list(filters.get("excludeEvents"))]
    search = str(filters.get("search", "") or "")
    date_from = _date_filter(filters.get("dateFrom"))
    date_to = _date_filter(filters.get("dateTo"))
    order = as_list(call.arg("order")) or ["timestamp", "DESC"]
    order_column = str(order[0]) if order and order[0] else "timestamp"
    descending = str(order[1] if len(order) > 1 else "DESC").upper() == "DESC"
    page = max(1, call.int_arg("page", 1))
    limit = max(1, call.int_arg("limit", 25))
    state = call.emulator.state
    events: list[dict[str, Any]] = []
    total = 0
    largest = 0
    for kind, (table_name, column, keep) in _SOURCES.items():
        if (include and kind not in include) or kind in exclude:
            continue
        table = state.table(table_name)
        rows = table.by_lead.get(contact_id, []) if contact_id is not None else table.rows
        chosen = [
            row
            for row in rows
            if keep(row)
            and row[column] is not None
            and (date_from is None or row[column] >= date_from)
            and (date_to is None or row[column] <= date_to)
        ]
        chosen.sort(key=_sort_key(column), reverse=descending)
        window = slice((page - 1) * limit, page * limit)
        if search:
            needle = search.casefold()
            built = [_event(state, kind, row, column) for row in chosen]
            matching = [e for e in built if needle in _label_text(e).casefold()]
            count, shown = len(matching), matching[window]
        else:
            count, shown = len(chosen), [_event(state, kind, r, column) for r in chosen[window]]
        total += count
        largest = max(largest, count)
        events.extend(shown)
    if order_column == "eventLabel":
        events.sort(key=_label_text, reverse=descending)
    else:
        events.sort(key=lambda e: e["timestamp"], reverse=descending)
    return ok(
        {
            "events": events,
            "filters": {"search": search, "includeEvents": include, "excludeEvents": exclude},
            "order": [order_column, "DESC" if descending else "ASC"],
            "types": ACTIVITY_TYPES,
            "total": total,
            "page": page,
            "limit": limit,
            "maxPages": math.ceil(largest / limit) if largest else 1,
        }
    )


def _sort_key(column: str) -> Callable[[Row], tuple[Any, Any]]:
    return lambda row: (row[column], row["id"])


def _label_text(event: dict[str, Any]) -> str:
    label = event["eventLabel"]
    return str(label["label"] if isinstance(label, dict) else label)


def _camel(key: str) -> str:
    head, *rest = key.split("_")
    return head + "".join(part.title() for part in rest)


def _details(row: Row, dates: tuple[str, ...]) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in row.items():
        if key == "lead_id":
            continue
        if key in dates:
            out[_camel(key)] = iso_time(value)
        else:
            out[_camel(key)] = None if value is None else str(value)
    return out


def _event(state: MauticState, kind: str, row: Row, column: str) -> dict[str, Any]:
    label: Any
    details: dict[str, Any]
    if kind == "point.gained":
        group = state.point_groups.get(row["group_id"] or 0)
        label = f"{row['event_name']} / {row['delta']}" + (f" ({group.name})" if group else "")
        log = _details(row, ("date_added",))
        log["groupName"] = group.name if group else None
        details = {"log": log}
    elif kind == "page.hit":
        label = {"label": row["url_title"] or row["url"], "href": row["url"], "isExternal": True}
        details = {"hit": _details(row, ("date_hit", "date_left"))}
    elif kind in ("email.sent", "email.read"):
        title = CATALOGUE_TITLES["email"].get(row["email_id"], f"Email {row['email_id']}")
        href = f"{SITE}/email/view/{row['tracking_hash']}"
        label = {"label": title, "href": href, "isExternal": True}
        stat = _details(row, ("date_sent", "date_read", "last_opened"))
        stat.pop("openDetails", None)
        stat["emailName"] = title
        details = {"stat": stat, "type": "read" if kind == "email.read" else "sent"}
    elif kind == "form.submitted":
        form = {
            "id": row["form_id"],
            "name": CATALOGUE_TITLES["form"].get(row["form_id"], f"Form {row['form_id']}"),
        }
        label = {"label": form["name"], "href": f"/s/forms/view/{row['form_id']}"}
        details = {"submission": _details(row, ("date_submitted",)), "form": form, "page": {}}
    elif kind == "asset.download":
        title = CATALOGUE_TITLES["asset"].get(row["asset_id"], f"Asset {row['asset_id']}")
        label = {"label": title, "href": f"/s/assets/view/{row['asset_id']}"}
        details = {
            "asset": {"id": row["asset_id"], "title": title},
            "assetDownloadUrl": f"{SITE}/asset/{row['asset_id']}",
        }
    elif kind == "stage.changed":
        label = row["event_name"]
        details = {"log": _details(row, ("date_added",))}
    else:
        reasons = {1: "Unsubscribed", 2: "Bounced", 3: "Manually"}
        label = f"{row['channel']}: {reasons.get(php_int(row['reason']), 'Contactable')}"
        details = {"dnc": _details(row, ("date_added",))}
    return {
        "event": kind,
        "eventId": f"{kind}{row['id']}",
        "eventLabel": label,
        "eventType": ACTIVITY_TYPES[kind],
        "timestamp": iso_time(row[column]),
        "contactId": str(row["lead_id"]),
        "details": details,
    }
