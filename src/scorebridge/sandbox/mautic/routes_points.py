"""Points routes (mautic-api.md §3): main-points adjust with the unsigned-delta log quirk, point
actions and triggers (read), point groups CRUD + batch, per-contact group scores incl. ``set``
(signed log rows with ``group_id``, no ``date_modified`` bump, never in the contact JSON).
"""

from __future__ import annotations

import re
from typing import Any

from scorebridge.sandbox.base import Response
from scorebridge.sandbox.mautic.query import php_int
from scorebridge.sandbox.mautic.routing import (
    GENERIC_500,
    NOT_FOUND,
    ApiError,
    Call,
    Router,
    form_error,
    ok,
)
from scorebridge.sandbox.mautic.serialize import (
    point_action_json,
    point_group_json,
    trigger_json,
)
from scorebridge.sandbox.mautic.state import Contact, PointGroup, Publish

ACTION_TYPES = {
    "asset.download": "Downloads an asset",
    "email.open": "Opens an email",
    "email.send": "Is sent an email",
    "form.submit": "Submits a form",
    "page.hit": "Visits a landing page",
    "url.hit": "Visits specific URL",
}
TRIGGER_EVENT_TYPES = {
    "campaign.changecampaign": "Modify contact's campaigns",
    "lead.changelists": "Modify contact's segments",
    "lead.changetags": "Modify contact's tags",
    "plugin.leadpush": "Push contact to integration",
    "email.send": "Send an email",
    "email.send_to_user": "Send an email to user",
}
CALLER_IP = "127.0.0.1"  # the sandbox is only reachable from loopback
_OPERATOR_NAMES = {
    "plus": "add (+)",
    "minus": "subtract (-)",
    "times": "multiply (x)",
    "divide": "divide (/)",
}


def register(router: Router) -> None:
    """Add the points routes (groups before the generic operator route)."""
    router.add("GET", "/api/points/actions/types", lambda c: ok({"pointActionTypes": ACTION_TYPES}))
    router.add(
        "GET",
        "/api/points/triggers/events/types",
        lambda c: ok({"eventTypes": TRIGGER_EVENT_TYPES}),
    )
    router.add("GET", "/api/points/triggers", list_triggers)
    router.add("GET", "/api/points/triggers/{id}", get_trigger)
    router.add("GET", "/api/points/groups", list_groups)
    router.add("POST", "/api/points/groups/new", new_group)
    router.add("POST", "/api/points/groups/batch/new", batch_new_groups)
    router.add("PUT PATCH", "/api/points/groups/batch/edit", batch_edit_groups)
    router.add("DELETE", "/api/points/groups/batch/delete", batch_delete_groups)
    router.add("GET", "/api/points/groups/{id}", get_group)
    router.add("PUT PATCH", "/api/points/groups/{id}/edit", edit_group)
    router.add("DELETE", "/api/points/groups/{id}/delete", delete_group)
    router.add("GET", "/api/points", list_actions)
    router.add("GET", "/api/points/{id}", get_action)
    router.add("GET", "/api/contacts/{id}/points/groups", contact_group_scores)
    router.add("GET", "/api/contacts/{id}/points/groups/{group}", contact_group_score)
    router.add("POST", "/api/contacts/{id}/points/groups/{group}/{op}/{value}", adjust_group)
    router.add("POST", "/api/contacts/{id}/points/{op}/{delta}", adjust_points)


def list_actions(call: Call) -> Response:
    """``GET /api/points``."""
    actions = [point_action_json(a) for a in call.emulator.state.point_actions.values()]
    return ok({"total": len(actions), "points": actions})


def get_action(call: Call) -> Response:
    """``GET /api/points/{id}``."""
    action = call.emulator.state.point_actions.get(call.id_param())
    if action is None:
        raise ApiError(404, NOT_FOUND)
    return ok({"point": point_action_json(action)})


def list_triggers(call: Call) -> Response:
    """``GET /api/points/triggers``."""
    triggers = [trigger_json(t) for t in call.emulator.state.triggers.values()]
    return ok({"total": len(triggers), "triggers": triggers})


def get_trigger(call: Call) -> Response:
    """``GET /api/points/triggers/{id}``."""
    trigger = call.emulator.state.triggers.get(call.id_param())
    if trigger is None:
        raise ApiError(404, NOT_FOUND)
    return ok({"trigger": trigger_json(trigger)})


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


# -- point groups CRUD --------------------------------------------------------------------------


def list_groups(call: Call) -> Response:
    """``GET /api/points/groups`` (a JSON list)."""
    groups = [point_group_json(g) for g in call.emulator.state.point_groups.values()]
    return ok({"total": len(groups), "pointGroups": groups})


def get_group(call: Call) -> Response:
    """``GET /api/points/groups/{id}``."""
    group = call.emulator.state.point_groups.get(call.id_param())
    if group is None:
        raise ApiError(404, NOT_FOUND)
    return ok({"pointGroup": point_group_json(group)})


def _save_group(
    call: Call, group: PointGroup | None, data: dict[str, Any], put: bool
) -> PointGroup:
    emulator = call.emulator
    at = emulator.now_db()
    name = data.get("name", None if (put or group is None) else group.name)
    if not name:
        raise form_error({"name": ["A name is required."]})
    if group is None:
        publish = Publish(at, call.actor.user_id, call.actor.name)
        group = PointGroup(emulator.state.next_id("point_group"), str(name), publish)
        emulator.state.point_groups[group.id] = group
    else:
        group.publish.date_modified = at
        group.publish.modified_by, group.publish.modified_by_user = call.actor.stamp
    group.name = str(name)
    if "description" in data or put:
        description = data.get("description")
        group.description = None if description is None else str(description)
    if "isPublished" in data:
        group.publish.is_published = bool(data["isPublished"])
    return group


def new_group(call: Call) -> Response:
    """``POST /api/points/groups/new``."""
    group = _save_group(call, None, call.body_dict(), put=False)
    return ok({"pointGroup": point_group_json(group)}, 201)


def edit_group(call: Call) -> Response:
    """``PATCH|PUT /api/points/groups/{id}/edit`` (PUT creates a missing group)."""
    group = call.emulator.state.point_groups.get(call.id_param())
    put = call.request.method == "PUT"
    if group is None and not put:
        raise ApiError(404, NOT_FOUND)
    status = 201 if group is None else 200
    saved = _save_group(call, group, call.body_dict(), put=put)
    return ok({"pointGroup": point_group_json(saved)}, status)


def _drop_group(call: Call, group: PointGroup) -> None:
    state = call.emulator.state
    del state.point_groups[group.id]
    for contact in state.contacts.values():
        contact.group_scores.pop(group.id, None)
    for row in state.table("lead_points_change_log"):
        if row["group_id"] == group.id:
            row["group_id"] = None


def delete_group(call: Call) -> Response:
    """``DELETE /api/points/groups/{id}/delete``."""
    group = call.emulator.state.point_groups.get(call.id_param())
    if group is None:
        raise ApiError(404, NOT_FOUND)
    body = point_group_json(group)
    _drop_group(call, group)
    body["id"] = None
    return ok({"pointGroup": body})


def _batch(call: Call) -> list[tuple[int, Any]]:
    items = call.body()
    pairs = list(enumerate(items)) if isinstance(items, list) else list(enumerate(items.values()))
    limit = call.emulator.settings.batch_max
    if len(pairs) > limit:
        raise ApiError(500, f"A max of {limit} entities are supported at a time.")
    return pairs


def _answer(
    entities: dict[int, Any], codes: dict[int, int], errors: dict[int, Any], status: int
) -> Response:
    body: dict[str, Any] = {
        "pointGroups": list(entities.values())
        if not errors
        else {str(k): v for k, v in entities.items()},
        "statusCodes": [codes[k] for k in sorted(codes)],
    }
    if errors:
        body["errors"] = {str(k): v for k, v in errors.items()}
    return ok(body, status)


def batch_new_groups(call: Call) -> Response:
    """``POST /api/points/groups/batch/new``."""
    entities: dict[int, Any] = {}
    codes: dict[int, int] = {}
    errors: dict[int, Any] = {}
    for index, item in _batch(call):
        try:
            entities[index] = point_group_json(_save_group(call, None, dict(item), put=False))
            codes[index] = 201
        except ApiError as exc:
            codes[index] = exc.status
            errors[index] = {"code": exc.status, "message": exc.message, "details": exc.details,
                             "type": None}  # fmt: skip
    return _answer(entities, codes, errors, 201)


def batch_edit_groups(call: Call) -> Response:
    """``PUT|PATCH /api/points/groups/batch/edit``."""
    entities: dict[int, Any] = {}
    codes: dict[int, int] = {}
    errors: dict[int, Any] = {}
    put = call.request.method == "PUT"
    for index, item in _batch(call):
        group = call.emulator.state.point_groups.get(php_int(item.get("id", 0)))
        if item.get("id") in (None, ""):
            codes[index] = 400
            errors[index] = {"message": "mautic.api.call.id_missing", "code": 400, "type": "api"}
            continue
        if group is None and not put:
            codes[index] = 404
            errors[index] = {"message": NOT_FOUND, "code": 404, "type": "api"}
            continue
        try:
            data = {k: v for k, v in item.items() if k != "id"}
            entities[index] = point_group_json(_save_group(call, group, data, put=put))
            codes[index] = 201 if group is None else 200
        except ApiError as exc:
            codes[index] = exc.status
            errors[index] = {"code": exc.status, "message": exc.message, "details": exc.details,
                             "type": None}  # fmt: skip
    return _answer(entities, codes, errors, 200)


def batch_delete_groups(call: Call) -> Response:
    """``DELETE /api/points/groups/batch/delete?ids=1,2``."""
    raw = call.arg("ids")
    ids = str(raw).split(",") if isinstance(raw, str) else call.list_arg("ids")
    deleted: list[Any] = []
    errors: dict[str, Any] = {}
    for index, value in enumerate(ids):
        group = call.emulator.state.point_groups.get(php_int(value))
        if group is None:
            errors[str(index)] = {"message": NOT_FOUND, "code": 404, "type": "api"}
            continue
        deleted.append(point_group_json(group))
        _drop_group(call, group)
    body: dict[str, Any] = {"pointGroups": deleted}
    if errors:
        body["errors"] = errors
    return ok(body)
