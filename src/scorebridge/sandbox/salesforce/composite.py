"""sObject Collections (crm-apis.md §3.4): ``/composite/sobjects`` create (POST), update (PATCH),
delete (DELETE ``?ids=``), read (GET ``/{type}?ids=&fields=``) and upsert by external id (PATCH
``/{type}/{field}``).

Owns the collection contract: at most 200 records (``EXCEEDED_ID_LIMIT``), every record names its
``attributes.type`` (upserts: the path's type only, no record ids), results in input order as
``{id, success, errors[{statusCode, message, fields}]}`` (a failed item has no ``id``; upserts add
``created``). A well-formed request answers 200 even when items fail. ``allOrNone: true`` rolls
every change back when one item fails and marks the others
``ALL_OR_NONE_OPERATION_ROLLED_BACK``. The ``batch_item_failure_ratio`` fault fails items with
``UNABLE_TO_LOCK_ROW`` (worth retrying). One collection counts as one API call.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from scorebridge.sandbox.base import Response
from scorebridge.sandbox.salesforce import errors, ids
from scorebridge.sandbox.salesforce.org import Record
from scorebridge.sandbox.salesforce.routing import Call, RouteRow
from scorebridge.sandbox.salesforce.schema import ObjectSpec
from scorebridge.sandbox.salesforce.sobjects import external_field, upsert_one

MAX_RECORDS = 200
ROLLED_BACK = {
    "statusCode": "ALL_OR_NONE_OPERATION_ROLLED_BACK",
    "message": "Record rolled back because not all records were valid and the request was using "
    "AllOrNone header",
    "fields": [],
}

#: One item's work: the record JSON -> (record id, created or None).
Work = Callable[[dict[str, Any]], tuple[str, bool | None]]


def _records(call: Call) -> tuple[bool, list[Any]]:
    body = call.body_object()
    records = body.get("records")
    if not isinstance(records, list):
        raise errors.bad("JSON_PARSER_ERROR", "records must be an array of sObjects")
    if len(records) > MAX_RECORDS:
        raise errors.bad(
            "EXCEEDED_ID_LIMIT",
            f"record limit reached. cannot submit more than {MAX_RECORDS} records into this call",
        )
    return bool(body.get("allOrNone", False)), records


def _each(call: Call, all_or_none: bool, items: list[Any], work: Work) -> Response:
    """Run ``work`` per item and answer the result list."""
    point = call.org.savepoint() if all_or_none else None
    results: list[dict[str, Any]] = []
    for item in items:
        try:
            if not isinstance(item, dict):
                raise errors.bad("JSON_PARSER_ERROR", "each record must be an sObject")
            if call.item_fails():
                raise errors.bad(
                    "UNABLE_TO_LOCK_ROW",
                    "unable to obtain exclusive access to this record or 1 records",
                )
            record_id, created = work(item)
        except errors.ApiError as exc:
            results.append({"success": False, "errors": [exc.item()]})
            continue
        result: dict[str, Any] = {"id": record_id, "success": True, "errors": []}
        if created is not None:
            result["created"] = created
        results.append(result)
    if point is not None and not all(r["success"] for r in results):
        call.org.rollback(point)
        results = [
            r if not r["success"] else {"id": r["id"], "success": False, "errors": [ROLLED_BACK]}
            for r in results
        ]
    return Response(200, results)


def _typed(call: Call, item: dict[str, Any]) -> ObjectSpec:
    kind = (item.get("attributes") or {}).get("type")
    spec = call.org.spec(str(kind)) if kind else None
    if spec is None or spec.tooling:
        raise errors.bad("INVALID_TYPE", f"sObject type '{kind}' is not supported")
    return spec


def _fields(item: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in item.items() if k != "attributes" and k.lower() != "id"}


def create_many(call: Call) -> Response:
    """``POST /composite/sobjects``."""
    all_or_none, records = _records(call)

    def work(item: dict[str, Any]) -> tuple[str, bool | None]:
        if any(k.lower() == "id" for k in item):
            raise errors.bad("INVALID_FIELD", "cannot specify Id in an insert call", ["Id"])
        return call.org.create(_typed(call, item), _fields(item))["Id"], None

    return _each(call, all_or_none, records, work)


def update_many(call: Call) -> Response:
    """``PATCH /composite/sobjects`` (every record has its ``id``)."""
    all_or_none, records = _records(call)

    def work(item: dict[str, Any]) -> tuple[str, bool | None]:
        spec = _typed(call, item)
        record_id = next((v for k, v in item.items() if k.lower() == "id"), None)
        record = _existing(call, spec, record_id)
        call.org.update(spec, record, _fields(item))
        return str(record["Id"]), None

    return _each(call, all_or_none, records, work)


def upsert_many(call: Call) -> Response:
    """``PATCH /composite/sobjects/{type}/{field}``."""
    spec = call.spec()
    field_spec = external_field(call, spec, call.params["field"])
    all_or_none, records = _records(call)

    def work(item: dict[str, Any]) -> tuple[str, bool | None]:
        if _typed(call, item) is not spec:
            raise errors.bad("INVALID_TYPE", f"all records must be of type {spec.name}")
        if any(k.lower() == "id" for k in item):
            raise errors.bad("INVALID_FIELD", "record ids cannot be used in an upsert", ["Id"])
        value = next((v for k, v in item.items() if k.lower() == field_spec.name.lower()), None)
        record, created = upsert_one(call, spec, field_spec, value, _fields(item))
        return str(record["Id"]), created

    return _each(call, all_or_none, records, work)


def delete_many(call: Call) -> Response:
    """``DELETE /composite/sobjects?ids=a,b[&allOrNone=true]``."""
    wanted = [i for i in (call.arg("ids") or "").split(",") if i]
    if len(wanted) > MAX_RECORDS:
        raise errors.bad("EXCEEDED_ID_LIMIT", "record limit reached")

    def work(item: dict[str, Any]) -> tuple[str, bool | None]:
        found = call.org.find(item["id"])
        if found is None:
            raise _missing(call, item["id"])
        call.org.delete(*found)
        return str(found[1]["Id"]), None

    all_or_none = (call.arg("allOrNone") or "").lower() == "true"
    return _each(call, all_or_none, [{"id": i} for i in wanted], work)


def read_many(call: Call) -> Response:
    """``GET /composite/sobjects/{type}?ids=a,b&fields=X,Y`` (null for a missing record)."""
    spec = call.spec()
    names = [n.strip().lower() for n in (call.arg("fields") or "").split(",") if n.strip()]
    if not names:
        raise errors.bad("MISSING_ARGUMENT", "fields must be given")
    out: list[Record | None] = []
    for record_id in (i for i in (call.arg("ids") or "").split(",") if i):
        found = call.org.find(record_id)
        out.append(call.render(spec, found[1], names) if found and found[0] is spec else None)
    return Response(200, out)


def _existing(call: Call, spec: ObjectSpec, record_id: Any) -> Record:
    if not record_id:
        raise errors.bad("MISSING_ARGUMENT", "Id not specified in an update call", ["Id"])
    found = call.org.find(str(record_id))
    if found is None or found[0] is not spec:
        raise _missing(call, str(record_id))
    return found[1]


def _missing(call: Call, record_id: str) -> errors.ApiError:
    if ids.normalize(record_id) is None:
        return errors.bad("MALFORMED_ID", f"malformed id {record_id}")
    found = call.org.find(record_id, deleted=True)
    if found is not None and found[1]["IsDeleted"]:
        return errors.bad("ENTITY_IS_DELETED", "entity is deleted")
    return errors.bad("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id")


ROUTES: tuple[RouteRow, ...] = (
    ("POST", "/composite/sobjects", create_many),
    ("PATCH", "/composite/sobjects", update_many),
    ("DELETE", "/composite/sobjects", delete_many),
    ("GET", "/composite/sobjects/{type}", read_many),
    ("PATCH", "/composite/sobjects/{type}/{field}", upsert_many),
)
