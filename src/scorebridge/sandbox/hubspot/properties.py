"""The Properties v3 API: ``/crm/v3/properties/{type}[/{name}]``, its batch routes and groups
(crm-apis.md §1.4 "Custom properties").

Owns ``PropertyCreate`` validation (required fields, type and fieldType vocabularies, existing
group, 409 on a duplicate name, ``hasUniqueValue`` only where HubSpot allows it) and
property/group JSON. Records are not touched here.
"""

from __future__ import annotations

import re
from typing import Any

from scorebridge.sandbox.base import Response
from scorebridge.sandbox.hubspot import errors
from scorebridge.sandbox.hubspot.objects import object_kind
from scorebridge.sandbox.hubspot.routing import Call, Router
from scorebridge.sandbox.hubspot.schema import FIELD_TYPES, PROPERTY_TYPES, PropertyDef
from scorebridge.sandbox.hubspot.state import AccountState
from scorebridge.sandbox.hubspot.values import iso_ms

REQUIRED = ("name", "label", "type", "fieldType", "groupName")
UNIQUE_VALUE_KINDS = frozenset({"contacts", "deals"})  # of the types this emulator serves
MAX_UNIQUE_PER_KIND = 10
_NAME = re.compile(r"^[a-z][a-z0-9_]*$")
_EDITABLE = {
    "label": "label",
    "description": "description",
    "groupName": "group_name",
    "options": "options",
    "displayOrder": "display_order",
    "hidden": "hidden",
    "formField": "form_field",
    "fieldType": "field_type",
    "type": "type",
}


def _options(raw: Any) -> list[dict[str, Any]]:
    if raw is None:
        return []
    if not isinstance(raw, list):
        raise errors.validation("options must be a list")
    options = []
    for order, option in enumerate(raw):
        if not isinstance(option, dict) or "label" not in option or "value" not in option:
            raise errors.validation(f"Each option needs a label and a value: {option!r}")
        options.append(
            {
                "label": str(option["label"]),
                "value": str(option["value"]),
                "displayOrder": int(option.get("displayOrder", order)),
                "hidden": bool(option.get("hidden", False)),
                "description": str(option.get("description", "")),
            }
        )
    return options


def new_property(state: AccountState, kind: str, body: Any) -> PropertyDef:
    """Validate a ``PropertyCreate`` body and register the property."""
    if not isinstance(body, dict):
        raise errors.validation("Invalid input JSON: expected an object")
    missing = [name for name in REQUIRED if not body.get(name)]
    if missing:
        raise errors.validation(f"Missing required field(s): {missing}")
    name = str(body["name"])
    if not _NAME.match(name):
        raise errors.validation(f"Property name {name!r} must be lower-case letters, digits, _")
    if body["type"] not in PROPERTY_TYPES:
        raise errors.validation(f"type must be one of {list(PROPERTY_TYPES)}")
    if body["fieldType"] not in FIELD_TYPES:
        raise errors.validation(f"fieldType must be one of {list(FIELD_TYPES)}")
    if not any(g["name"] == body["groupName"] for g in state.groups[kind]):
        raise errors.validation(f"Property group {body['groupName']} does not exist")
    if name in state.properties[kind] and not state.properties[kind][name].archived:
        raise errors.conflict(f"Property named '{name}' already exists.")
    if body.get("hasUniqueValue"):
        _check_unique_allowed(state, kind)
    now = state.now()
    definition = PropertyDef(
        name=name,
        label=str(body["label"]),
        type=str(body["type"]),
        field_type=str(body["fieldType"]),
        group_name=str(body["groupName"]),
        description=str(body.get("description", "")),
        options=_options(body.get("options")),
        display_order=int(body.get("displayOrder", -1)),
        has_unique_value=bool(body.get("hasUniqueValue", False)),
        hidden=bool(body.get("hidden", False)),
        form_field=bool(body.get("formField", False)),
        hubspot_defined=False,
        created_at=now,
        updated_at=now,
    )
    state.add_property(kind, definition)
    return definition


def _check_unique_allowed(state: AccountState, kind: str) -> None:
    """HubSpot keeps unique values on contacts, companies, deals, tickets and custom objects
    (changelog "unique-properties-for-contacts"), at most 10 per object type; not on tasks."""
    if kind not in UNIQUE_VALUE_KINDS:
        raise errors.validation(f"Unique value properties are not supported for {kind}")
    live = [d for d in state.properties[kind].values() if d.has_unique_value and not d.archived]
    if sum(1 for d in live if not d.hubspot_defined) >= MAX_UNIQUE_PER_KIND:
        raise errors.validation(
            f"An object type can have at most {MAX_UNIQUE_PER_KIND} unique value properties"
        )


def _definition(call: Call, kind: str) -> PropertyDef:
    definition = call.state.properties[kind].get(call.params["name"])
    archived = call.arg("archived") == "true"
    if definition is None or definition.archived != archived:
        raise errors.not_found(f"Unable to find property {call.params['name']}")
    return definition


def list_properties(call: Call) -> Response:
    """``GET /crm/v3/properties/{type}``."""
    kind = object_kind(call.params["objectType"])
    archived = call.arg("archived") == "true"
    results = [d.to_json() for d in call.state.properties[kind].values() if d.archived == archived]
    return Response(200, {"results": results})


def read_property(call: Call) -> Response:
    """``GET /crm/v3/properties/{type}/{name}``."""
    return Response(200, _definition(call, object_kind(call.params["objectType"])).to_json())


def create_property(call: Call) -> Response:
    """``POST /crm/v3/properties/{type}``: 201, 400 or 409."""
    kind = object_kind(call.params["objectType"])
    return Response(201, new_property(call.state, kind, call.body()).to_json())


def update_property(call: Call) -> Response:
    """``PATCH /crm/v3/properties/{type}/{name}`` (custom properties only)."""
    kind = object_kind(call.params["objectType"])
    definition = _definition(call, kind)
    body = call.body_object()
    if definition.hubspot_defined:
        raise errors.validation(f"Property {definition.name} is HubSpot-defined and read-only")
    for key, attribute in _EDITABLE.items():
        if key in body:
            value = _options(body[key]) if key == "options" else body[key]
            setattr(definition, attribute, value)
    definition.updated_at = call.state.now()
    call.state.revision += 1
    return Response(200, definition.to_json())


def archive_property(call: Call) -> Response:
    """``DELETE /crm/v3/properties/{type}/{name}``: 204."""
    kind = object_kind(call.params["objectType"])
    definition = _definition(call, kind)
    if definition.hubspot_defined:
        raise errors.validation(
            f"Property {definition.name} is HubSpot-defined and cannot be archived"
        )
    definition.archived = True
    call.state.revision += 1
    return Response(204)


def batch_properties(call: Call) -> Response:
    """``POST /crm/v3/properties/{type}/batch/{create,read,archive}``."""
    kind = object_kind(call.params["objectType"])
    inputs = call.body_object().get("inputs")
    if not isinstance(inputs, list):
        raise errors.validation("inputs must be a list")
    state, action = call.state, call.params["action"]
    started = iso_ms(state.now())
    if action == "create":
        results = [new_property(state, kind, item).to_json() for item in inputs]
    elif action == "read":
        names = [str(item.get("name")) for item in inputs if isinstance(item, dict)]
        results = [state.properties[kind][n].to_json() for n in names if state.prop(kind, n)]
    elif action == "archive":
        for item in inputs:
            definition = state.prop(kind, str(item.get("name")))
            if definition is not None and not definition.hubspot_defined:
                definition.archived = True
        return Response(204)
    else:
        raise errors.not_found(f"Unknown batch action {action}")
    body = {"status": "COMPLETE", "results": results, "startedAt": started, "completedAt": started}
    return Response(201 if action == "create" else 200, body)


def list_groups(call: Call) -> Response:
    """``GET /crm/v3/properties/{type}/groups``."""
    return Response(200, {"results": call.state.groups[object_kind(call.params["objectType"])]})


def create_group(call: Call) -> Response:
    """``POST /crm/v3/properties/{type}/groups`` with ``{name, label, displayOrder?}``."""
    kind = object_kind(call.params["objectType"])
    body = call.body_object()
    if not body.get("name") or not body.get("label"):
        raise errors.validation("A property group needs a name and a label")
    if any(g["name"] == body["name"] for g in call.state.groups[kind]):
        raise errors.conflict(f"Property group named '{body['name']}' already exists.")
    group = {
        "name": str(body["name"]),
        "label": str(body["label"]),
        "displayOrder": int(body.get("displayOrder", -1)),
        "archived": False,
    }
    call.state.groups[kind].append(group)
    return Response(201, group)


def register(router: Router) -> None:
    """Add the properties routes (groups before ``{name}`` so they win)."""
    base = "/crm/v3/properties/{objectType}"
    router.add("GET", f"{base}/groups", list_groups)
    router.add("POST", f"{base}/groups", create_group)
    router.add("POST", f"{base}/batch/{{action}}", batch_properties)
    router.add("GET", base, list_properties)
    router.add("POST", base, create_property)
    router.add("GET", f"{base}/{{name}}", read_property)
    router.add("PATCH", f"{base}/{{name}}", update_property)
    router.add("DELETE", f"{base}/{{name}}", archive_property)
