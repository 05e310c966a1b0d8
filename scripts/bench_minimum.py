"""The minimum number of requests a cycle could have sent, given the page and batch limits, and
the requests it did send, per category (used by ``bench_sync.py``).

Every route the emulators counted falls in one category; each category's minimum comes from
what the cycle read (rows per stream, from its report) and wrote (its acked outbox operations):

- reads: a paged stream needs ``ceil((rows + 1) / page)`` Mautic pages (a short page ends it)
  and ``max(1, ceil(rows / 200))`` HubSpot search pages; HubSpot owners one page; deal
  associations ``ceil(deals / 100)``; Mautic zero-score writes one ``ids:`` read per 200;
- batch writes: ``ceil(items / 200)`` per Mautic batch edit (PATCH; the zero-score PUT path
  apart), per segment for segment adds; ``ceil(items / 100)`` per HubSpot batch action;
- stage moves: ``ceil(moves / 200)`` batch edits (the contact edit takes ``"stage": id``);
- per item (the API has no batch): Mautic notes, HubSpot tasks and deals; lookups before a
  create are not in the minimum (a first attempt need not look);
- point-group sets: one per contact and topic group whose computed score differs from what
  Mautic held before the sync (the sum of its point log for that group; Mautic has no batch);
- setup (field/property/group/segment/stage lists and creates): a fixed cost per run, counted
  at its measured value on both sides; anything else: minimum 0.
"""

from __future__ import annotations

import json
import math
from collections import Counter
from typing import Any

import sqlalchemy as sa

MAUTIC_BATCH = 200
HUBSPOT_BATCH = 100
HUBSPOT_SEARCH_PAGE = 200

_MAUTIC = {
    "GET /api/contacts": "reads",
    "GET /api/stats/{table}": "reads",
    "PATCH /api/contacts/batch/edit": "batch writes",
    "PUT /api/contacts/batch/edit": "batch writes",
    "POST /api/segments/{id}/contacts/add": "batch writes",
    "POST /api/segments/{id}/contacts/remove": "batch writes",
    "POST /api/stages/{id}/contact/{contact}/add": "per item",  # before stage moves were batched
    "POST /api/notes/new": "per item",
    "GET /api/contacts/{id}/notes": "per item",
    "POST /api/contacts/{id}/points/groups/{group}/{op}/{value}": "point-group sets",
}
_HUBSPOT = {
    "POST /crm/v3/objects/{objectType}/search": "reads",
    "GET /crm/v3/owners": "reads",
    "POST /crm/v4/associations/{fromObjectType}/{toObjectType}/batch/read": "reads",
    "POST /crm/v3/objects/{objectType}/batch/{action}": "batch writes",
    "POST /crm/v3/objects/{objectType}": "per item",
    "GET /crm/v4/objects/{objectType}/{objectId}/associations/{toObjectType}": "per item",
}
_SETUP = ("/api/fields", "/api/points/groups", "/api/segments", "/api/stages", "/crm/v3/properties")


def category(system: str, route: str) -> str:
    """The category a counted route belongs to."""
    known = (_MAUTIC if system == "mautic" else _HUBSPOT).get(route)
    if known:
        return known
    path = route.split(" ", 1)[-1]
    return "setup" if path.startswith(_SETUP) else "other"


def _is_zero(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool) and int(value) == 0


def _done_ops(cycle: Any) -> list[tuple[str, int | None, dict[str, Any]]]:
    with cycle.store.read() as conn:
        rows = conn.execute(
            sa.text("SELECT op, contact_id, payload FROM outbox WHERE status = 'done'")
        ).all()
    return [(op, cid, p if isinstance(p, dict) else json.loads(p or "{}")) for op, cid, p in rows]


def _pages(rows: int, size: int) -> int:
    return math.ceil((rows + 1) / size)


def _minimums(run: dict[str, Any], cycle: Any) -> tuple[dict[tuple[str, str], int], int]:
    """Minimum per (system, category) and the number of contacts written."""
    settings = cycle.settings
    steps = run["report"]["steps"]
    ops = _done_ops(cycle)
    kinds = Counter(op for op, _, _ in ops)
    zero = sum(
        1
        for op, _, p in ops
        if op == "mautic.fields" and any(_is_zero(v) for v in (p.get("fields") or {}).values())
    )
    segments = Counter(
        (op, str((p.get("params") or {}).get("segment")))
        for op, _, p in ops
        if op.startswith("mautic.segment.")
    )
    groups = _differing_groups(cycle)
    minimum: dict[tuple[str, str], int] = Counter()
    for name, stream in steps["pull"]["streams"].items():
        size = (
            settings.mautic.page_size.contacts
            if name == "contacts"
            else settings.mautic.page_size.stats
        )
        minimum["mautic", "reads"] += _pages(stream["rows"], size)
    minimum["mautic", "reads"] += math.ceil(zero / MAUTIC_BATCH)
    nonzero = kinds["mautic.fields"] - zero
    tags = kinds["mautic.tag.add"] + kinds["mautic.tag.remove"]
    minimum["mautic", "batch writes"] += sum(
        math.ceil(n / MAUTIC_BATCH) for n in (nonzero, zero, tags)
    )
    minimum["mautic", "batch writes"] += sum(math.ceil(n / MAUTIC_BATCH) for n in segments.values())
    minimum["mautic", "batch writes"] += math.ceil(kinds["mautic.stage"] / MAUTIC_BATCH)
    minimum["mautic", "per item"] = kinds["mautic.note"]
    minimum["mautic", "point-group sets"] = groups
    crm = steps.get("crm_pull", {})
    for stream in crm.get("streams", {}).values():
        minimum["hubspot", "reads"] += max(1, math.ceil(stream["rows"] / HUBSPOT_SEARCH_PAGE))
    deals = crm.get("streams", {}).get("deals", {}).get("rows", 0)
    minimum["hubspot", "reads"] += 1 + (math.ceil(deals / HUBSPOT_BATCH) if deals else 0)
    minimum["hubspot", "batch writes"] = sum(
        math.ceil(kinds[k] / HUBSPOT_BATCH) for k in ("crm.update", "crm.create")
    )
    minimum["hubspot", "per item"] = kinds["crm.task"] + kinds["crm.deal"]
    written = {
        cid
        for op, cid, _ in ops
        if op in ("mautic.fields", "crm.update", "crm.create") and cid is not None
    }
    return dict(minimum), len(written)


def _differing_groups(cycle: Any) -> int:
    """(contact, topic group) pairs whose computed score differs from what Mautic's point group
    held before the first sync: the sum of the pulled point log's deltas for that group (no
    scorebridge set had been made yet). Zero unless the groups go to point groups."""
    mode = cycle.settings.write.mautic.group_scores
    if mode not in ("point_groups", "both", True):
        return 0
    names = {k: n for n, k in reversed(list(cycle.rules.mautic_groups.items()))}
    with cycle.store.read() as conn:
        scores = conn.execute(
            sa.text(
                "SELECT s.contact_id, s.group_key, s.value FROM score s JOIN contact c"
                " ON c.id = s.contact_id WHERE c.mautic_id IS NOT NULL"
            )
        ).all()
        log = conn.execute(
            sa.text("SELECT contact_id, attributes FROM event WHERE kind = 'mautic.points'")
        ).all()
    held: Counter[tuple[int, str]] = Counter()
    for cid, attributes in log:
        attrs = attributes if isinstance(attributes, dict) else json.loads(attributes or "{}")
        if attrs.get("group"):
            held[cid, str(attrs["group"]).casefold()] += int(attrs.get("delta") or 0)
    return sum(
        1
        for cid, key, value in scores
        if key in names and value != held[cid, names[key].casefold()]
    )


def minimum_requests(run: dict[str, Any], cycle: Any) -> dict[str, Any]:
    """Requests sent against the minimum, per (system, category), for a first full sync."""
    actual: Counter[tuple[str, str]] = Counter()
    for system, routes in run["routes"].items():
        for route, count in routes.items():
            actual[system, category(system, route)] += count
    minimum, synced = _minimums(run, cycle)
    rows: list[dict[str, Any]] = []
    for key in sorted(set(actual) | set(minimum)):
        floor = actual[key] if key[1] == "setup" else minimum.get(key, 0)
        rows.append(
            {"system": key[0], "category": key[1], "requests": actual[key], "minimum": floor}
        )
    by_group: Counter[str] = Counter()
    for op, _, payload in _done_ops(cycle):
        if op == "mautic.groups":
            by_group.update(list(payload.get("groups") or {}))  # one set per group named
    apart = [r for r in rows if r["category"] == "point-group sets"]
    counted = [r for r in rows if r["category"] != "point-group sets"]
    sent = sum(r["requests"] for r in counted)
    floor = sum(r["minimum"] for r in counted)
    sets = sum(r["requests"] for r in apart)
    return {
        "contacts_synced": synced,
        "requests": sent,
        "minimum": floor,
        "ratio": round(sent / floor, 3) if floor else None,
        "point_group_sets": sets,
        "point_group_minimum": sum(r["minimum"] for r in apart),
        "point_group_sets_by_group": dict(sorted(by_group.items())),
        "per_contact": round(sent / max(1, synced), 4),
        "per_contact_all": round((sent + sets) / max(1, synced), 4),
        "per_contact_minimum": round(floor / max(1, synced), 4),
        "by_category": rows,
    }


def stream_requests(run: dict[str, Any]) -> dict[str, int]:
    """Requests per pulled stream in a cycle (a stream with no rows still costs one request),
    plus the other read routes the cycle sent (setup lists, owners) under their route."""
    steps = run["report"]["steps"]
    out = {f"mautic.{n}": max(1, s["pages"]) for n, s in steps["pull"]["streams"].items()}
    for name, stream in steps.get("crm_pull", {}).get("streams", {}).items():
        out[f"hubspot.{name}"] = max(1, stream["pages"])
    owners = run["routes"].get("hubspot", {}).get("GET /crm/v3/owners", 0)
    if owners:
        out["hubspot.owners"] = owners
    return out
