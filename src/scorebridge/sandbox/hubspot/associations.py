"""Association routes: v4 batch read, v4 per-record list, default and labelled PUTs, DELETE, and
the v3 per-record PUT (crm-apis.md §1.5, §1.7).

Owns the v4 JSON shapes (``toObjectId``, ``associationTypes[{category, typeId, label}]``) and the
"no associations" per-item error of a batch read. Links themselves live in :class:`AccountState`.
"""

from __future__ import annotations

from typing import Any

from scorebridge.sandbox.base import Response
from scorebridge.sandbox.hubspot import errors
from scorebridge.sandbox.hubspot.objects import object_kind, record_json
from scorebridge.sandbox.hubspot.routing import Call, Router
from scorebridge.sandbox.hubspot.state import ASSOCIATION_TYPES, SINGULAR
from scorebridge.sandbox.hubspot.values import iso_ms

MAX_BATCH_READ = 1000
PER_RECORD_LIMIT = 500
OBJECT_TYPE_IDS = {"contacts": "0-1", "deals": "0-3", "tasks": "0-27"}


def _types(type_ids: list[int]) -> list[dict[str, Any]]:
    return [{"category": "HUBSPOT_DEFINED", "typeId": t, "label": None} for t in type_ids]


def _pair(call: Call, from_key: str, to_key: str) -> tuple[str, str]:
    kinds = object_kind(call.params[from_key]), object_kind(call.params[to_key])
    if kinds not in ASSOCIATION_TYPES:
        raise errors.validation(f"No association between {kinds[0]} and {kinds[1]}")
    return kinds


def batch_read(call: Call) -> Response:
    """``POST /crm/v4/associations/{from}/{to}/batch/read``; 207 lists inputs with no links."""
    kind, to_kind = _pair(call, "fromObjectType", "toObjectType")
    inputs = call.body_object().get("inputs")
    if not isinstance(inputs, list) or len(inputs) > MAX_BATCH_READ:
        raise errors.validation(f"inputs must be a list of at most {MAX_BATCH_READ} objects")
    results, failures = [], []
    for item in inputs:
        record_id = str(item.get("id", "")) if isinstance(item, dict) else ""
        linked = call.state.associated(kind, record_id, to_kind)
        if not linked:
            failures.append(
                {
                    "status": "error",
                    "category": "OBJECT_NOT_FOUND",
                    "subCategory": "crm.associations.NO_ASSOCIATIONS_FOUND",
                    "message": f"No {SINGULAR[to_kind]} is associated with "
                    f"{SINGULAR[kind]} {record_id}.",
                    "context": {"fromObjectId": [record_id]},
                    "errors": [],
                    "links": {},
                }
            )
            continue
        results.append(
            {
                "from": {"id": record_id},
                "to": [
                    {"toObjectId": other, "associationTypes": _types(types)}
                    for other, types in linked.items()
                ],
            }
        )
    now = iso_ms(call.state.now())
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "startedAt": now,
        "completedAt": now,
    }
    if failures:
        body["numErrors"] = len(failures)
        body["errors"] = failures
        return Response(207, body)
    return Response(200, body)


def list_for_record(call: Call) -> Response:
    """``GET /crm/v4/objects/{type}/{id}/associations/{toType}`` (limit 500, ``after``)."""
    kind, to_kind = _pair(call, "objectType", "toObjectType")
    if call.state.get(kind, call.params["objectId"]) is None:
        raise errors.not_found()
    linked = list(call.state.associated(kind, call.params["objectId"], to_kind).items())
    try:
        limit = min(int(call.arg("limit") or PER_RECORD_LIMIT), PER_RECORD_LIMIT)
        start = int(call.arg("after") or 0)
    except ValueError as exc:
        raise errors.validation("limit and after must be integers") from exc
    page = linked[start : start + limit]
    body: dict[str, Any] = {
        "results": [{"toObjectId": o, "associationTypes": _types(t)} for o, t in page]
    }
    if start + limit < len(linked):
        after = str(start + limit)
        body["paging"] = {"next": {"after": after, "link": f"?after={after}"}}
    return Response(200, body)


def put_default(call: Call) -> Response:
    """``PUT /crm/v4/objects/{from}/{id}/associations/default/{to}/{toId}``."""
    kind, to_kind = _pair(call, "objectType", "toObjectType")
    record_id, to_id = call.params["objectId"], call.params["toObjectId"]
    type_id = call.state.associate(kind, record_id, to_kind, to_id)
    now = iso_ms(call.state.now())
    spec = {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": type_id}
    results = [{"from": {"id": record_id}, "to": {"id": to_id}, "associationSpec": spec}]
    body = {"status": "COMPLETE", "results": results, "startedAt": now, "completedAt": now}
    return Response(200, body)


def put_labelled(call: Call) -> Response:
    """``PUT /crm/v4/objects/{from}/{id}/associations/{to}/{toId}`` with a list of specs."""
    kind, to_kind = _pair(call, "objectType", "toObjectType")
    specs = call.body()
    expected = ASSOCIATION_TYPES[(kind, to_kind)][0]
    if not isinstance(specs, list) or not specs:
        raise errors.validation("Body must be a non-empty list of association specs")
    for spec in specs:
        if not isinstance(spec, dict) or spec.get("associationTypeId") != expected:
            raise errors.validation(f"Association type must be {expected} for {kind} -> {to_kind}")
    record_id, to_id = call.params["objectId"], call.params["toObjectId"]
    call.state.associate(kind, record_id, to_kind, to_id)
    body = {
        "fromObjectTypeId": OBJECT_TYPE_IDS[kind],
        "fromObjectId": record_id,
        "toObjectTypeId": OBJECT_TYPE_IDS[to_kind],
        "toObjectId": to_id,
        "labels": [],
    }
    return Response(201, body)


def delete_v4(call: Call) -> Response:
    """``DELETE /crm/v4/objects/{from}/{id}/associations/{to}/{toId}``: 204."""
    kind, to_kind = _pair(call, "objectType", "toObjectType")
    call.state.dissociate(kind, call.params["objectId"], to_kind, call.params["toObjectId"])
    return Response(204)


def put_v3(call: Call) -> Response:
    """``PUT /crm/v3/objects/{type}/{id}/associations/{toType}/{toId}/{associationType}``."""
    kind, to_kind = _pair(call, "objectType", "toObjectType")
    type_id, type_name = ASSOCIATION_TYPES[(kind, to_kind)]
    if call.params["associationType"] not in (str(type_id), type_name):
        raise errors.validation(f"Association type must be {type_id} or {type_name}")
    record_id = call.params["objectId"]
    call.state.associate(kind, record_id, to_kind, call.params["toObjectId"])
    record = call.state.get(kind, record_id)
    assert record is not None  # associate() has checked it exists
    return Response(200, record_json(call, record, ["hs_object_id"], [to_kind]))


def register(router: Router) -> None:
    """Add the association routes."""
    v4 = "/crm/v4/objects/{objectType}/{objectId}/associations"
    router.add(
        "POST", "/crm/v4/associations/{fromObjectType}/{toObjectType}/batch/read", batch_read
    )
    router.add("GET", f"{v4}/{{toObjectType}}", list_for_record)
    router.add("PUT", f"{v4}/default/{{toObjectType}}/{{toObjectId}}", put_default)
    router.add("PUT", f"{v4}/{{toObjectType}}/{{toObjectId}}", put_labelled)
    router.add("DELETE", f"{v4}/{{toObjectType}}/{{toObjectId}}", delete_v4)
    router.add(
        "PUT",
        "/crm/v3/objects/{objectType}/{objectId}/associations/{toObjectType}/{toObjectId}"
        "/{associationType}",
        put_v3,
    )
