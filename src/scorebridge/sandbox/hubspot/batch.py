"""``POST /crm/v3/objects/{type}/batch/{read,create,update,upsert,archive}`` (crm-apis.md §1.4).

Owns the batch contract: at most 100 inputs, whole-batch 400 for invalid property values or
duplicate ids, whole-batch 409 — nothing applied — for a unique value (e-mail, ``hasUniqueValue``
property) another record holds or the batch repeats, on create and update alike (HubSpot's
"Contact already exists. Existing ID: N" for an e-mail), and per-item failures (missing ids,
injected faults) reported as 207 multi-status with ``numErrors``/``errors`` while the other items
are applied. Upsert results carry ``new``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from scorebridge.sandbox.base import Response
from scorebridge.sandbox.hubspot import errors
from scorebridge.sandbox.hubspot.objects import (
    create_record,
    inline_associations,
    object_kind,
    record_json,
    written_names,
)
from scorebridge.sandbox.hubspot.routing import Call, Router
from scorebridge.sandbox.hubspot.schema import DEFAULT_READ
from scorebridge.sandbox.hubspot.state import SINGULAR, AccountState
from scorebridge.sandbox.hubspot.values import iso_ms

MAX_INPUTS = 100
INJECTED_FAILURE = "The write of this input failed temporarily; retry it."


def _inputs(call: Call) -> tuple[dict[str, Any], list[dict[str, Any]]]:
    body = call.body_object()
    inputs = body.get("inputs")
    if not isinstance(inputs, list) or not all(isinstance(i, dict) for i in inputs):
        raise errors.validation("inputs must be a list of objects")
    if len(inputs) > MAX_INPUTS:
        raise errors.validation(
            f"Too many inputs: {len(inputs)}. A batch accepts at most {MAX_INPUTS} inputs.",
            context={"inputs": [str(len(inputs))]},
        )
    return body, inputs


def _missing(kind: str, ids: list[str]) -> dict[str, Any]:
    return {
        "status": "error",
        "category": "OBJECT_NOT_FOUND",
        "message": f"Could not get some {SINGULAR[kind].upper()} objects, they may be deleted or "
        "not exist.",
        "context": {"ids": ids},
        "errors": [],
        "links": {},
    }


def _injected(key: str, trace_id: Any) -> dict[str, Any]:
    context: dict[str, list[str]] = {"ids": [key]} if key else {}
    if trace_id:
        context["objectWriteTraceId"] = [str(trace_id)]
    return {
        "status": "error",
        "category": "INTERNAL_ERROR",
        "message": INJECTED_FAILURE,
        "context": context,
        "errors": [],
        "links": {},
    }


def _answer(
    started: datetime, results: list[dict[str, Any]], failures: list[dict[str, Any]], ok: int
) -> Response:
    body: dict[str, Any] = {
        "status": "COMPLETE",
        "results": results,
        "requestedAt": iso_ms(started),
        "startedAt": iso_ms(started),
        "completedAt": iso_ms(started),
    }
    if failures:
        body["numErrors"] = len(failures)
        body["errors"] = failures
        return Response(207, body)
    return Response(ok, body)


def _unique_ids(inputs: list[dict[str, Any]]) -> list[str]:
    ids = [str(item.get("id", "")) for item in inputs]
    duplicates = sorted({i for i in ids if ids.count(i) > 1})
    if duplicates:
        raise errors.validation(f"Duplicate IDs found in batch input: {duplicates}")
    return ids


def _read(call: Call, kind: str, body: dict[str, Any], inputs: list[dict[str, Any]]) -> Response:
    names = body.get("properties") or list(DEFAULT_READ[kind])
    results, missing = [], []
    for key in (str(item.get("id", "")) for item in inputs):
        record = call.state.get(kind, key, body.get("idProperty"))
        if record is None:
            missing.append(key)
        else:
            results.append(record_json(call, record, names))
    return _answer(call.state.now(), results, [_missing(kind, missing)] if missing else [], 200)


def _check_conflicts(
    state: AccountState, kind: str, writes: list[tuple[dict[str, Any], str | None]]
) -> None:
    """Refuse the whole batch, before anything is applied, when a written unique value (a
    contact's e-mail, a ``hasUniqueValue`` property) is held by another record or repeated in
    the batch. ``writes`` are (validated properties, own record id or ``None`` for a create)."""
    seen: set[tuple[str, str]] = set()
    for props, own_id in writes:
        state.check_unique(kind, props, own_id)
        for index_kind, name in state.unique:
            value = props.get(name)
            if index_kind != kind or not value:
                continue
            if (name, value) in seen:
                raise errors.conflict(f"Duplicate {name} in batch input: {value}")
            seen.add((name, value))


def _create(call: Call, kind: str, inputs: list[dict[str, Any]]) -> Response:
    state = call.state
    writes: list[tuple[dict[str, Any], str | None]] = []
    for item in inputs:
        writes.append((state.validate(kind, item.get("properties") or {}), None))
        inline_associations(state, kind, item.get("associations"))
    _check_conflicts(state, kind, writes)
    results, failures = [], []
    for item in inputs:
        trace = item.get("objectWriteTraceId")
        if call.item_fails():
            failures.append(_injected("", trace))
            continue
        record = create_record(state, kind, item)
        result = record_json(call, record, written_names(kind, item.get("properties") or {}))
        if trace:
            result["objectWriteTraceId"] = trace
        results.append(result)
    return _answer(state.now(), results, failures, 201)


def _update(call: Call, kind: str, body: dict[str, Any], inputs: list[dict[str, Any]]) -> Response:
    state = call.state
    _unique_ids(inputs)
    writes: list[tuple[dict[str, Any], str | None]] = []
    for item in inputs:
        props = state.validate(kind, item.get("properties") or {})
        record = state.get(
            kind, str(item.get("id", "")), item.get("idProperty") or body.get("idProperty")
        )
        if record is not None:
            writes.append((props, record.id))
    _check_conflicts(state, kind, writes)
    results, failures, missing = [], [], []
    for item in inputs:
        key = str(item.get("id", ""))
        record = state.get(kind, key, item.get("idProperty") or body.get("idProperty"))
        if record is None:
            missing.append(key)
            continue
        if call.item_fails():
            failures.append(_injected(key, item.get("objectWriteTraceId")))
            continue
        values = item.get("properties") or {}
        state.update(record, values)
        results.append(record_json(call, record, written_names(kind, values)))
    if missing:
        failures.insert(0, _missing(kind, missing))
    return _answer(state.now(), results, failures, 200)


def _upsert(call: Call, kind: str, inputs: list[dict[str, Any]]) -> Response:
    state = call.state
    _unique_ids(inputs)
    for item in inputs:
        id_property = item.get("idProperty")
        if not id_property or (kind, id_property) not in state.unique:
            raise errors.validation(
                f"idProperty {id_property!r} is not a unique-value property of {kind}"
            )
        state.validate(kind, item.get("properties") or {})
    results, failures = [], []
    for item in inputs:
        key, id_property = str(item.get("id", "")), str(item["idProperty"])
        trace = item.get("objectWriteTraceId")
        if call.item_fails():
            failures.append(_injected(key, trace))
            continue
        values = dict(item.get("properties") or {})
        record = state.get(kind, key, id_property)
        created = record is None
        if record is None:
            values[id_property] = key
            record = state.create(kind, values)
        else:
            state.update(record, values)
        result = {"new": created, **record_json(call, record, written_names(kind, values))}
        if trace:
            result["objectWriteTraceId"] = trace
        results.append(result)
    return _answer(state.now(), results, failures, 200)


def batch(call: Call) -> Response:
    """Dispatch one batch action."""
    kind = object_kind(call.params["objectType"])
    action = call.params["action"]
    body, inputs = _inputs(call)
    if action == "read":
        return _read(call, kind, body, inputs)
    if action == "create":
        return _create(call, kind, inputs)
    if action == "update":
        return _update(call, kind, body, inputs)
    if action == "upsert":
        return _upsert(call, kind, inputs)
    if action == "archive":
        for item in inputs:
            record = call.state.get(kind, str(item.get("id", "")))
            if record is not None:
                call.state.archive(record)
        return Response(204)
    raise errors.not_found(f"Unknown batch action {action}")


def register(router: Router) -> None:
    """Add the batch routes."""
    router.add("POST", "/crm/v3/objects/{objectType}/batch/{action}", batch)
