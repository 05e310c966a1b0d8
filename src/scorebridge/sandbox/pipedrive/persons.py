"""Persons v2 (crm-apis.md §2.3, §2.4): list, read, create, update (PATCH), delete and search.

Owns the person JSON (``samples/pipedrive/persons_v2_list_response.json``; Contact Sync fields
only when the company has Contact Sync), the validation of written persons (``name`` required,
``emails``/``phones`` as ``[{value, primary, label}]``, known owner and organization, custom
fields by ``field_code`` inside ``custom_fields``, unknown keys refused) and the search over the
lagging index (``samples/pipedrive/person_search_v2_response.json``).
"""

from __future__ import annotations

from typing import Any

from scorebridge.sandbox.base import Response
from scorebridge.sandbox.pipedrive import errors, values
from scorebridge.sandbox.pipedrive.items import ItemSpec, routes
from scorebridge.sandbox.pipedrive.paging import equals, list_response
from scorebridge.sandbox.pipedrive.routing import (
    CONTACTS_FULL,
    CONTACTS_READ,
    SEARCH,
    SEARCH_READ,
    Call,
    RouteRow,
)
from scorebridge.sandbox.pipedrive.state import Company, Record, SearchDoc

CONTACT_SYNC_KEYS = ("notes", "im", "birthday", "job_title", "postal_address")
WRITABLE = frozenset(
    {
        "name",
        "first_name",
        "last_name",
        "owner_id",
        "org_id",
        "emails",
        "phones",
        "visible_to",
        "label_ids",
        "marketing_status",
        "custom_fields",
        *CONTACT_SYNC_KEYS,
    }
)
VISIBILITY = (1, 3, 5, 7)
MAX_CUSTOM_FIELDS_ARG = 15
SEARCH_FIELDS = ("custom_fields", "email", "notes", "phone", "name")
#: include_fields a person list understands -> (deal status or None for activities).
COUNTS = {
    "open_deals_count": ("open",),
    "won_deals_count": ("won",),
    "lost_deals_count": ("lost",),
    "closed_deals_count": ("won", "lost"),
    "activities_count": None,
}


def render(company: Company, person: Record, custom: list[str] | None = None) -> Record:
    """A person as v2 returns it (``custom`` limits ``custom_fields`` to those codes)."""
    body = {k: v for k, v in person.items() if k not in CONTACT_SYNC_KEYS and k != "custom_fields"}
    codes = [f.code for f in company.custom_person_fields()]
    body["custom_fields"] = {
        code: person["custom_fields"].get(code) for code in codes if not custom or code in custom
    }
    if company.contact_sync:
        body.update({key: person.get(key) for key in CONTACT_SYNC_KEYS})
    return body


def new_person(owner_id: int) -> Record:
    """A person with every key at its default, in response order."""
    return {
        "name": "",
        "first_name": None,
        "last_name": None,
        "owner_id": owner_id,
        "org_id": None,
        "add_time": None,
        "update_time": None,
        "emails": [],
        "phones": [],
        "is_deleted": False,
        "visible_to": 3,
        "label_ids": [],
        "picture_id": None,
        "custom_fields": {},
        **dict.fromkeys(CONTACT_SYNC_KEYS),
    }


def _contacts(raw: Any, name: str) -> list[dict[str, Any]]:
    if not isinstance(raw, list):
        raise errors.bad_request(f"{name} must be an array of {{value, primary, label}}")
    items = []
    for item in raw:
        if not isinstance(item, dict) or not isinstance(item.get("value"), str):
            raise errors.bad_request(f"Every item of {name} needs a string value")
        primary = values.boolean(item.get("primary", False), f"{name}.primary")
        label = values.text(item.get("label") or "work", f"{name}.label")
        items.append({"value": item["value"], "primary": primary, "label": label})
    if items and not any(i["primary"] for i in items):
        items[0]["primary"] = True
    return items


def changes(call: Call, body: dict[str, Any], current: Record | None) -> Record:
    """The validated changes a create (``current`` is None) or PATCH body makes."""
    company = call.company
    synced = sorted(set(body) & set(CONTACT_SYNC_KEYS))
    if synced and not company.contact_sync:
        raise errors.ApiError(403, f"{', '.join(synced)} need Contact Sync to be enabled")
    out: Record = {key: body[key] for key in synced}
    name = body.get("name")
    if name is None and ("first_name" in body or "last_name" in body):
        name = " ".join(str(body.get(k) or "") for k in ("first_name", "last_name")).strip()
    if name is not None or current is None:
        name = values.string(name, "name") if name is not None else ""
        if not name.strip():
            raise errors.bad_request("Name must be given.")
        first, _, last = name.strip().partition(" ")
        out.update(name=name.strip(), first_name=first, last_name=last or None)
    if "owner_id" in body:
        owner = values.whole(body["owner_id"], "owner_id")
        if not company.exists("user", owner):
            raise errors.bad_request(f"User {owner} not found")
        out["owner_id"] = owner
    if "org_id" in body:
        org = values.integer(body["org_id"], "org_id")
        if org is not None and not company.exists("org", org):
            raise errors.bad_request(f"Organization {org} not found")
        out["org_id"] = org
    for key in ("emails", "phones"):
        if key in body:
            out[key] = _contacts(body[key], key)
    if "visible_to" in body:
        if body["visible_to"] not in VISIBILITY:
            raise errors.bad_request(f"visible_to must be one of {list(VISIBILITY)}")
        out["visible_to"] = body["visible_to"]
    if "label_ids" in body:
        labels = body["label_ids"]
        if not isinstance(labels, list):
            raise errors.bad_request("label_ids must be an array of integers")
        out["label_ids"] = [values.whole(i, "label_ids") for i in labels]
    if "custom_fields" in body:
        merged = dict(current["custom_fields"]) if current else {}
        merged.update(custom_values(company, body["custom_fields"]))
        out["custom_fields"] = {k: v for k, v in merged.items() if v is not None}
    return out


def custom_values(company: Company, raw: Any) -> dict[str, Any]:
    """Validated ``custom_fields`` of a person write (``None`` clears a field)."""
    if not isinstance(raw, dict):
        raise errors.bad_request("custom_fields must be an object keyed by field_code")
    out = {}
    for code, value in raw.items():
        definition = company.person_field(code)
        if definition is None or not definition.custom:
            raise errors.bad_request(f"Custom field {code} does not exist (field_code expected)")
        out[code] = definition.validate(value, company.exists)
    return out


def _custom_arg(call: Call) -> list[str]:
    codes = call.list_arg("custom_fields")
    if len(codes) > MAX_CUSTOM_FIELDS_ARG:
        raise errors.bad_request(f"custom_fields accepts at most {MAX_CUSTOM_FIELDS_ARG} keys")
    return codes


def list_persons(call: Call) -> Response:
    """``GET /api/v2/persons``."""
    company = call.company
    custom, include = _custom_arg(call), call.list_arg("include_fields")
    unknown = sorted(set(include) - set(COUNTS))
    if unknown:
        raise errors.bad_request(f"include_fields: unknown {', '.join(unknown)}")
    filters = [*equals(call, "owner_id"), *equals(call, "org_id")]
    deal_id = call.int_arg("deal_id")
    if deal_id is not None:
        deal = company.get("deals", deal_id)
        filters.append(lambda p: deal is not None and deal["person_id"] == p["id"])

    def shown(person: Record) -> Record:
        body = render(company, person, custom)
        for name in include:
            body[name] = _count(company, person["id"], COUNTS[name])
        return body

    live = (p for p in company.records["persons"].values() if not p["is_deleted"])
    return list_response(call, live, shown, filters)


def _count(company: Company, person_id: int, statuses: tuple[str, ...] | None) -> int:
    if statuses is None:
        items = company.records["activities"].values()
        return sum(1 for a in items if a["person_id"] == person_id and not a["is_deleted"])
    deals = company.records["deals"].values()
    return sum(1 for d in deals if d["person_id"] == person_id and d["status"] in statuses)


def search_persons(call: Call) -> Response:
    """``GET /api/v2/persons/search`` (also ``/api/v2/itemSearch?item_types=person``)."""
    term = (call.arg("term") or "").strip()
    exact = bool(call.bool_arg("exact_match"))
    if len(term) < (1 if exact else 2):
        raise errors.bad_request("term must be at least 2 characters (1 with exact_match)")
    fields = call.list_arg("fields") or list(SEARCH_FIELDS)
    unknown = sorted(set(fields) - set(SEARCH_FIELDS))
    if unknown:
        raise errors.bad_request(f"fields: unknown {', '.join(unknown)}")
    types = call.list_arg("item_types")
    org_id = call.int_arg("organization_id")
    company = call.company
    hits = []
    if not types or "person" in types:
        for doc in company.searchable(company.now_exact()):
            if org_id is not None and doc.org_id != org_id:
                continue
            score = _score(doc, term.lower(), exact, fields)
            if score:
                hits.append((score, doc))
    hits.sort(key=lambda hit: (-hit[0], hit[1].id))
    limit = call.int_arg("limit") or 100
    if not 0 < limit <= 500:
        raise errors.bad_request("limit must be between 1 and 500")
    start = call.int_arg("cursor") or 0
    items = [
        {"result_score": score, "item": _search_item(company, doc)}
        for score, doc in hits[start : start + limit]
    ]
    more = start + limit < len(hits)
    body = {
        "success": True,
        "data": {"items": items},
        "additional_data": {"next_cursor": str(start + limit) if more else None},
    }
    return Response(200, body)


def _score(doc: SearchDoc, term: str, exact: bool, fields: list[str]) -> float:
    texts = {
        "name": (doc.name,),
        "email": doc.emails,
        "phone": doc.phones,
        "custom_fields": doc.custom,
        "notes": doc.notes,
    }
    best = 0.0
    for field in fields:
        for text in texts[field]:
            lowered = text.lower()
            if lowered == term:
                return 1.0
            if not exact and term in lowered:
                best = max(best, round(len(term) / len(lowered), 3))
    return best


def _search_item(company: Company, doc: SearchDoc) -> Record:
    org = company.get("organizations", doc.org_id) if doc.org_id else None
    organization = None if org is None else {"id": org["id"], "name": org["name"], "address": None}
    return {
        "id": doc.id,
        "type": "person",
        "name": doc.name,
        "phones": list(doc.phones),
        "emails": list(doc.emails),
        "visible_to": doc.visible_to,
        "owner": {"id": doc.owner_id},
        "organization": organization,
        "custom_fields": list(doc.custom),
        "notes": list(doc.notes),
    }


SPEC = ItemSpec(
    kind="persons",
    label="Person",
    path="/api/v2/persons",
    writable=WRITABLE,
    new=lambda call: new_person(call.principal.user_id),
    changes=changes,
    read_scopes=CONTACTS_READ,
    write_scopes=CONTACTS_FULL,
    render=lambda call, person: render(call.company, person, _custom_arg(call)),
)
ROUTES: tuple[RouteRow, ...] = (
    ("GET", "/api/v2/persons/search", search_persons, SEARCH, SEARCH_READ),
    ("GET", "/api/v2/itemSearch", search_persons, SEARCH, SEARCH_READ),
    *routes(SPEC, list_persons),
)
