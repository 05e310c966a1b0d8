"""Activities v2 (crm-apis.md §2.5): list, read, create, update, delete.

Owns the activity JSON (``samples/pipedrive/activity_create_v2_response.json``) and its write
rules: ``type`` must be an active activity type's ``key_string`` (default ``call``, the first
type), ``subject`` defaults to the type's name, ``owner_id`` to the caller; a person is linked
through ``participants[{person_id, primary}]`` or ``person_id`` (which makes that person the
primary participant) and the answer's ``person_id`` is the primary participant; ``done: true``
stamps ``marked_as_done_time``. ``due_date`` is ``YYYY-MM-DD``, ``due_time``/``duration`` are
``HH:MM`` (UTC). The list filters on ``person_id`` (primary participant), ``deal_id``,
``org_id``, ``owner_id`` and ``done``.
"""

from __future__ import annotations

from typing import Any

from scorebridge.sandbox.base import Response
from scorebridge.sandbox.pipedrive import errors, values
from scorebridge.sandbox.pipedrive.items import ItemSpec, routes
from scorebridge.sandbox.pipedrive.paging import SORTS, equals, list_response
from scorebridge.sandbox.pipedrive.routing import ACTIVITIES_FULL, ACTIVITIES_READ, Call, RouteRow
from scorebridge.sandbox.pipedrive.state import Company, Record

WRITABLE = frozenset(
    {
        "subject",
        "type",
        "owner_id",
        "deal_id",
        "lead_id",
        "person_id",
        "org_id",
        "project_id",
        "due_date",
        "due_time",
        "duration",
        "busy",
        "done",
        "participants",
        "attendees",
        "public_description",
        "priority",
        "note",
    }
)
DEFAULT_TYPE = "call"


def new_activity(call: Call) -> Record:
    """An activity with every key at its default, in response order."""
    owner_id = call.principal.user_id
    return {
        "subject": "",
        "type": DEFAULT_TYPE,
        "owner_id": owner_id,
        "creator_user_id": owner_id,
        "is_deleted": False,
        "add_time": None,
        "update_time": None,
        "deal_id": None,
        "lead_id": None,
        "person_id": None,
        "org_id": None,
        "project_id": None,
        "due_date": None,
        "due_time": None,
        "duration": None,
        "busy": False,
        "done": False,
        "marked_as_done_time": None,
        "participants": [],
        "attendees": [],
        "public_description": None,
        "priority": None,
        "note": None,
    }


def _type_name(company: Company, key: Any) -> str:
    for kind in company.activity_types:
        if kind["key_string"] == key and kind["active_flag"]:
            return str(kind["name"])
    known = ", ".join(k["key_string"] for k in company.activity_types if k["active_flag"])
    raise errors.bad_request(f"type must be an activity type key_string ({known})")


def _linked(company: Company, body: dict[str, Any], out: Record) -> None:
    for key, kind, label in (("deal_id", "deals", "Deal"), ("org_id", "organizations", "Org")):
        if key in body:
            item = values.integer(body[key], key)
            if item is not None and company.get(kind, item) is None:
                raise errors.bad_request(f"{label} {item} not found")
            out[key] = item
    for key in ("lead_id", "project_id"):
        if body.get(key) is not None:
            raise errors.bad_request(f"{key} {body[key]} not found")


def _participants(company: Company, body: dict[str, Any], current: Record | None) -> Record:
    people: list[dict[str, Any]]
    if "participants" in body:
        raw = body["participants"]
        if not isinstance(raw, list):
            raise errors.bad_request("participants must be an array of {person_id, primary}")
        people = []
        for item in raw:
            if not isinstance(item, dict):
                raise errors.bad_request("participants must be an array of {person_id, primary}")
            person = values.whole(item.get("person_id"), "participants.person_id")
            flag = values.boolean(item.get("primary", False), "participants.primary")
            people.append({"person_id": person, "primary": flag})
    else:
        people = [dict(p) for p in (current or {}).get("participants", [])]
    if "person_id" in body:
        chosen = values.integer(body["person_id"], "person_id")
        for item in people:
            item["primary"] = item["person_id"] == chosen
        if chosen is not None and not any(p["primary"] for p in people):
            people.insert(0, {"person_id": chosen, "primary": True})
    for item in people:
        if not company.exists("people", item["person_id"]):
            raise errors.bad_request(f"Person {item['person_id']} not found")
    if sum(p["primary"] for p in people) > 1:
        raise errors.bad_request("Only one participant can be primary")
    if people and not any(p["primary"] for p in people):
        people[0]["primary"] = True
    lead = next((p["person_id"] for p in people if p["primary"]), None)
    return {"participants": people, "person_id": lead}


def changes(call: Call, body: dict[str, Any], current: Record | None) -> Record:
    """The validated changes of a create (``current`` is None) or PATCH body."""
    company = call.company
    out: Record = {}
    kind = body.get("type", current["type"] if current else DEFAULT_TYPE)
    type_name = _type_name(company, kind)
    out["type"] = kind
    subject = values.text(body.get("subject"), "subject")
    if subject is not None or current is None:
        out["subject"] = subject if subject else type_name
    if "owner_id" in body:
        owner = values.whole(body["owner_id"], "owner_id")
        if not company.exists("user", owner):
            raise errors.bad_request(f"User {owner} not found")
        out["owner_id"] = owner
    _linked(company, body, out)
    if "participants" in body or "person_id" in body:
        out.update(_participants(company, body, current))
    for key, parse in (
        ("due_date", values.day),
        ("due_time", values.clock_time),
        ("duration", values.clock_time),
    ):
        if key in body:
            out[key] = parse(body[key], key)
    for key in ("busy", "done"):
        if key in body:
            out[key] = values.boolean(body[key], key)
    if "done" in out and out["done"] != (current or {}).get("done", False):
        out["marked_as_done_time"] = company.now() if out["done"] else None
    if "priority" in body:
        out["priority"] = values.integer(body["priority"], "priority")
    for key, limit in (("note", 65_535), ("public_description", 65_535)):
        if key in body:
            out[key] = values.text(body[key], key, limit=limit)
    if "attendees" in body:
        if not isinstance(body["attendees"], list):
            raise errors.bad_request("attendees must be an array")
        out["attendees"] = body["attendees"]
    return out


def list_activities(call: Call) -> Response:
    """``GET /api/v2/activities``."""
    filters = [
        *equals(call, "person_id"),
        *equals(call, "deal_id"),
        *equals(call, "org_id"),
        *equals(call, "owner_id"),
    ]
    done = call.bool_arg("done")
    if done is not None:
        filters.append(lambda a: a["done"] is done)
    live = (a for a in call.company.records["activities"].values() if not a["is_deleted"])
    return list_response(call, live, dict, filters, (*SORTS, "due_date"))


SPEC = ItemSpec(
    kind="activities",
    label="Activity",
    path="/api/v2/activities",
    writable=WRITABLE,
    new=new_activity,
    changes=changes,
    read_scopes=ACTIVITIES_READ,
    write_scopes=ACTIVITIES_FULL,
)
ROUTES: tuple[RouteRow, ...] = routes(SPEC, list_activities)
