"""Routes of one CRM object at a time: ``/crm/v3/objects/{contacts,deals,tasks}`` list, create,
read, update, archive and search (crm-apis.md §1.3-§1.5, §1.7).

Owns the object type names, the record JSON with ``associations``, the opaque list cursor and the
inline associations of a create. Batch routes are in :mod:`.batch`, search semantics in
:mod:`.search`, write rules in :class:`AccountState`.
"""

from __future__ import annotations

import base64
import itertools
from typing import Any

from scorebridge.sandbox.base import Response
from scorebridge.sandbox.hubspot import errors
from scorebridge.sandbox.hubspot.routing import Call, Router
from scorebridge.sandbox.hubspot.schema import DEFAULT_READ, SEARCH_ALWAYS
from scorebridge.sandbox.hubspot.search import search
from scorebridge.sandbox.hubspot.state import ASSOCIATION_TYPES, AccountState, Record

#: Accepted spellings of an object type in paths.
OBJECT_ALIASES = {
    "contacts": "contacts",
    "contact": "contacts",
    "0-1": "contacts",
    "deals": "deals",
    "deal": "deals",
    "0-3": "deals",
    "tasks": "tasks",
    "task": "tasks",
    "0-27": "tasks",
}
LIST_DEFAULT_LIMIT = 10
LIST_MAX_LIMIT = 100
_TYPE_BY_ID = {type_id: pair for pair, (type_id, _) in ASSOCIATION_TYPES.items()}


def object_kind(name: str) -> str:
    """The canonical object type for a path segment, or HubSpot's 400."""
    kind = OBJECT_ALIASES.get(name.lower())
    if kind is None:
        raise errors.validation(f"Unable to infer object type from: {name}")
    return kind


def record_json(
    call: Call, record: Record, names: list[str], associations: list[str] | None = None
) -> dict[str, Any]:
    """A record with the named properties and, if asked, its associations."""
    state = call.state
    body = record.to_json(names, state.known(record.kind))
    linked: dict[str, Any] = {}
    for other in associations or []:
        other_kind = OBJECT_ALIASES.get(other.lower())
        if other_kind is None or (record.kind, other_kind) not in ASSOCIATION_TYPES:
            continue
        type_name = ASSOCIATION_TYPES[(record.kind, other_kind)][1]
        results = [
            {"id": other_id, "type": type_name}
            for other_id in state.associated(record.kind, record.id, other_kind)
        ]
        if results:
            linked[other] = {"results": results}
    if linked:
        body["associations"] = linked
    return body


def read_names(call: Call, kind: str) -> list[str]:
    """The properties a read returns: ``properties=`` or the type's defaults."""
    return call.arg_list("properties") or list(DEFAULT_READ[kind])


def written_names(kind: str, values: dict[str, Any]) -> list[str]:
    """The properties a write echoes: what was written plus the id and time stamps."""
    return list(dict.fromkeys([*values, *SEARCH_ALWAYS[kind]]))


def inline_associations(state: AccountState, kind: str, raw: Any) -> list[tuple[str, str]]:
    """Validate a create's ``associations`` list; the (to type, to id) pairs to link."""
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise errors.validation("associations must be a list")
    links: list[tuple[str, str]] = []
    for item in raw:
        try:
            to_id = str(item["to"]["id"])
            types = item["types"]
            type_ids = [int(t["associationTypeId"]) for t in types]
        except (KeyError, TypeError, ValueError) as exc:
            raise errors.validation(f"Invalid association {item!r}") from exc
        for type_id in type_ids:
            pair = _TYPE_BY_ID.get(type_id)
            if pair is None or pair[0] != kind:
                raise errors.validation(f"Association type {type_id} is not valid from {kind}")
            if state.get(pair[1], to_id) is None:
                raise errors.validation(f"Association target {pair[1]} {to_id} does not exist")
            links.append((pair[1], to_id))
    return links


def create_record(state: AccountState, kind: str, item: Any) -> Record:
    """Create one record from a ``{properties, associations}`` input."""
    if not isinstance(item, dict):
        raise errors.validation("Each input must be an object")
    links = inline_associations(state, kind, item.get("associations"))
    record = state.create(kind, item.get("properties") or {})
    for to_kind, to_id in links:
        state.associate(kind, record.id, to_kind, to_id)
    return record


def _cursor(record_id: str) -> str:
    return base64.urlsafe_b64encode(f"{record_id}\n".encode()).decode()


def _after(token: str | None) -> int:
    if not token:
        return 0
    try:
        return int(base64.urlsafe_b64decode(token.encode()).decode().strip())
    except ValueError as exc:
        raise errors.validation(f"Invalid paging cursor {token!r}") from exc


def list_objects(call: Call) -> Response:
    """``GET /crm/v3/objects/{type}``: id order, opaque ``after``, ``paging`` absent at the end."""
    kind = object_kind(call.params["objectType"])
    try:
        limit = min(int(call.arg("limit") or LIST_DEFAULT_LIMIT), LIST_MAX_LIMIT)
    except ValueError as exc:
        raise errors.validation("limit must be an integer") from exc
    archived = call.arg("archived") == "true"
    start = _after(call.arg("after"))
    # records are kept in creation order, which is id order: stop after one look-ahead row
    candidates = (
        r
        for r in call.state.records[kind].values()
        if r.archived == archived and int(r.id) >= start
    )
    rows = list(itertools.islice(candidates, limit + 1))
    names, assoc = read_names(call, kind), call.arg_list("associations")
    body: dict[str, Any] = {"results": [record_json(call, r, names, assoc) for r in rows[:limit]]}
    if len(rows) > limit:
        token = _cursor(rows[limit].id)
        body["paging"] = {"next": {"after": token, "link": f"?after={token}"}}
    return Response(200, body)


def _record(call: Call) -> Record:
    kind = object_kind(call.params["objectType"])
    id_property = call.arg("idProperty")
    if call.arg("archived") == "true":
        record = call.state.records[kind].get(call.params["objectId"])
        if record is not None and record.archived:
            return record
        raise errors.not_found()
    record = call.state.get(kind, call.params["objectId"], id_property)
    if record is None:
        raise errors.not_found()
    return record


def read_object(call: Call) -> Response:
    """``GET /crm/v3/objects/{type}/{id}`` (``idProperty``, ``properties``, ``associations``)."""
    record = _record(call)
    names = read_names(call, record.kind)
    return Response(200, record_json(call, record, names, call.arg_list("associations")))


def create_object(call: Call) -> Response:
    """``POST /crm/v3/objects/{type}``: 201, or 400/409 as HubSpot refuses it."""
    kind = object_kind(call.params["objectType"])
    body = call.body_object()
    record = create_record(call.state, kind, body)
    names = written_names(kind, body.get("properties") or {})
    return Response(201, record_json(call, record, names))


def update_object(call: Call) -> Response:
    """``PATCH /crm/v3/objects/{type}/{id}``: ``{properties}``; ``""`` clears a value."""
    record = _record(call)
    values = call.body_object().get("properties") or {}
    call.state.update(record, values)
    return Response(200, record_json(call, record, written_names(record.kind, values)))


def archive_object(call: Call) -> Response:
    """``DELETE /crm/v3/objects/{type}/{id}``: 204 (also when already gone)."""
    kind = object_kind(call.params["objectType"])
    record = call.state.get(kind, call.params["objectId"])
    if record is not None:
        call.state.archive(record)
    return Response(204)


def search_objects(call: Call) -> Response:
    """``POST /crm/v3/objects/{type}/search``."""
    kind = object_kind(call.params["objectType"])
    return Response(200, search(call.state, kind, call.body()))


def register(router: Router) -> None:
    """Add the single-object routes."""
    base = "/crm/v3/objects/{objectType}"
    router.add("POST", f"{base}/search", search_objects)
    router.add("GET", base, list_objects)
    router.add("POST", base, create_object)
    router.add("GET", f"{base}/{{objectId}}", read_object)
    router.add("PATCH", f"{base}/{{objectId}}", update_object)
    router.add("DELETE", f"{base}/{{objectId}}", archive_object)
