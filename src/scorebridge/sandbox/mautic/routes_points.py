"""Points routes beyond the standard CRUD (mautic-api.md §3): action and trigger-event types,
trigger event deletion, main-points adjust with the unsigned-delta log quirk, per-contact group
scores incl. ``set`` (signed log rows with ``group_id``, no ``date_modified`` bump, never in the
contact JSON). Every call reads its body before changing anything.
"""

from __future__ import annotations

import re
from typing import Any

from scorebridge.sandbox.base import Response
from scorebridge.sandbox.mautic.entities import ACTION_TYPES, TRIGGER_EVENT_TYPES
from scorebridge.sandbox.mautic.query import as_list, php_int
from scorebridge.sandbox.mautic.routing import GENERIC_500, NOT_FOUND, ApiError, Call, Router, ok
from scorebridge.sandbox.mautic.serialize import point_group_json, trigger_json
from scorebridge.sandbox.mautic.state import Contact, PointGroup

CALLER_IP = "127.0.0.1"  # the sandbox is only reachable from loopback
_OPERATOR_NAMES = {
    "plus": "add (+)",
    "minus": "subtract (-)",
    "times": "multiply (x)",
    "divide": "divide (/)",
}


def register(router: Router) -> None:
    """Add the points routes (before the standard controller's ``/api/points/{id}``)."""
    router.add("GET", "/api/points/actions/types", lambda c: ok({"pointActionTypes": ACTION_TYPES}))
    router.add(
        "GET",
        "/api/points/triggers/events/types",
        lambda c: ok({"eventTypes": TRIGGER_EVENT_TYPES}),
    )
    router.add("DELETE", "/api/points/triggers/{id}/events/delete", delete_trigger_events)
    router.add("GET", "/api/contacts/{id}/points/groups", contact_group_scores)
    router.add("GET", "/api/contacts/{id}/points/groups/{group}", contact_group_score)
    router.add("POST", "/api/contacts/{id}/points/groups/{group}/{op}/{value}", adjust_group)
    router.add("POST", "/api/contacts/{id}/points/{op}/{delta}", adjust_points)


def _contact(call: Call, message: str) -> Contact:
    value = call.params["id"]
    contact = call.emulator.state.contacts.get(int(value)) if value.isdigit() else None
    if contact is None:
        raise ApiError(404, message)
    return contact


def adjust_points(call: Call) -> Response:
    """``POST /api/contacts/{id}/points/{op}/{delta}``: logs the raw, unsigned delta."""
    contact = _contact(call, "Contact not found.")
    operator = call.params["op"]
    if operator not in _OPERATOR_NAMES:
        raise ApiError(400, "Invalid operator")
    delta = php_int(call.params["delta"])
    body = call.body_dict()  # before any change: a refused call changes nothing
    old = contact.points
    new = old
    if delta != 0:
        if operator == "plus":
            new = old + delta
        elif operator == "minus":
            new = old - delta
        elif operator == "times":
            new = old * delta
        else:
            new = int(old / delta)
    emulator = call.emulator
    at = emulator.now_db()
    emulator.recorder.adjust_points(contact, new, at, call.actor.stamp)
    emulator.recorder.log_points(
        contact,
        at,
        kind="API",
        event_name=str(body.get("eventName") or _OPERATOR_NAMES[operator]),
        action_name=str(body.get("actionName") or "API"),
        ip_address=CALLER_IP,
        delta=delta,
    )
    return ok({"success": 1})


def _group_score_json(group: PointGroup, score: int) -> dict[str, Any]:
    return {"score": score, "group": point_group_json(group, nested=True)}


def contact_group_scores(call: Call) -> Response:
    """``GET /api/contacts/{id}/points/groups``."""
    contact = _contact(call, "Contact could not be found.")
    groups = call.emulator.state.point_groups
    scores = [
        _group_score_json(groups[gid], score)
        for gid, score in sorted(contact.group_scores.items())
        if gid in groups
    ]
    return ok({"total": len(scores), "groupScores": scores})


def _group(call: Call) -> PointGroup:
    value = call.params["group"]
    group = call.emulator.state.point_groups.get(int(value)) if value.isdigit() else None
    if group is None:
        raise ApiError(404, "The specified point group was not found.")
    return group


def contact_group_score(call: Call) -> Response:
    """``GET /api/contacts/{id}/points/groups/{group}`` (``null`` without a score row)."""
    contact = _contact(call, "Contact could not be found.")
    group = _group(call)
    score = contact.group_scores.get(group.id)
    return ok({"groupScore": None if score is None else _group_score_json(group, score)})


def adjust_group(call: Call) -> Response:
    """``POST /api/contacts/{id}/points/groups/{group}/{op}/{value}``."""
    contact = _contact(call, "Contact could not be found.")
    group = _group(call)
    operator = call.params["op"]
    if operator not in ("plus", "minus", "times", "divide", "set"):
        raise ApiError(400, "The requested operation is not permitted.")
    if not re.fullmatch(r"[+-]?\d+", call.params["value"]):
        raise ApiError(500, GENERIC_500)
    value = int(call.params["value"])
    body = call.body_dict()
    old = contact.group_scores.get(group.id, 0)
    if operator == "plus":
        new = old + value
    elif operator == "minus":
        new = old - value
    elif operator == "times":
        new = old * value
    elif operator == "set":
        new = value
    else:
        if value == 0 or old % value:
            raise ApiError(500, GENERIC_500)
        new = old // value
    contact.group_scores[group.id] = new
    call.emulator.recorder.log_points(
        contact,
        call.emulator.now_db(),
        kind="API",
        event_name=str(body.get("eventName") or "Manual change"),
        action_name=str(body.get("actionName") or "API"),
        ip_address=CALLER_IP,
        delta=new - old,
        group_id=group.id,
    )
    return ok({"groupScore": _group_score_json(group, new)})


def delete_trigger_events(call: Call) -> Response:
    """``DELETE /api/points/triggers/{id}/events/delete?events[]=ID``
    (``TriggerApiController::deleteTriggerEventsAction``)."""
    trigger = call.emulator.state.triggers.get(call.id_param())
    if trigger is None:
        raise ApiError(404, NOT_FOUND)
    events = call.arg("events")
    if not isinstance(events, dict | list):
        raise ApiError(400, "The events attribute must be array.")
    gone = {php_int(v) for v in as_list(events)}
    trigger.events = [e for e in trigger.events if e["id"] not in gone]
    return ok({"trigger": trigger_json(trigger)})
