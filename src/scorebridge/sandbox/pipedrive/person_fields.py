"""``/api/v2/personFields`` (crm-apis.md §2.4): list, read, create, rename, delete custom person
fields, and add, relabel or delete the options of enum/set fields.

Owns the request contract (``field_name`` and ``field_type`` required, ``options: [{label}]``
required for ``enum``/``set``, standard fields read-only) and the answers shaped like
``samples/pipedrive/person_field_create_v2_response.json``. Two fields may share a name, as in
Pipedrive: a client that wants one field per name must list before it creates.
"""

from __future__ import annotations

from typing import Any

from scorebridge.sandbox.base import Response
from scorebridge.sandbox.pipedrive import errors, values
from scorebridge.sandbox.pipedrive.fields import (
    FIELD_TYPES,
    WITH_OPTIONS,
    FieldDef,
    new_field_code,
    parse_options,
)
from scorebridge.sandbox.pipedrive.paging import DEFAULT_LIMIT, MAX_LIMIT
from scorebridge.sandbox.pipedrive.routing import (
    CONTACTS_READ,
    DELETE,
    FIELDS_FULL,
    GET_ONE,
    LIST,
    WRITE,
    Call,
    RouteRow,
    ok,
    page,
)

CREATE_KEYS = frozenset(
    {
        "field_name",
        "field_type",
        "options",
        "description",
        "ui_visibility",
        "important_fields",
        "required_fields",
    }
)


def _field(call: Call, custom: bool = False) -> FieldDef:
    definition = call.company.person_field(call.params["field_code"])
    if definition is None:
        raise errors.not_found("Field")
    if custom and not definition.custom:
        raise errors.bad_request("Standard fields cannot be changed")
    return definition


def list_fields(call: Call) -> Response:
    """``GET /api/v2/personFields`` (offset cursor)."""
    limit = call.int_arg("limit") or DEFAULT_LIMIT
    if not 0 < limit <= MAX_LIMIT:
        raise errors.bad_request(f"limit must be between 1 and {MAX_LIMIT}")
    start = call.int_arg("cursor") or 0
    fields = call.company.person_fields
    shown = [f.to_json() for f in fields[start : start + limit]]
    return page(shown, str(start + limit) if start + limit < len(fields) else None)


def read_field(call: Call) -> Response:
    """``GET /api/v2/personFields/{field_code}``."""
    return ok(_field(call).to_json())


def create_field(call: Call) -> Response:
    """``POST /api/v2/personFields``: a new custom field with a fresh 40-character code."""
    body = call.body_object()
    unknown = sorted(set(body) - CREATE_KEYS)
    if unknown:
        raise errors.bad_request(f"Unknown field(s): {', '.join(unknown)}")
    name = values.string(body.get("field_name"), "field_name")
    if not name.strip():
        raise errors.bad_request("field_name must be given")
    kind = body.get("field_type")
    if kind not in FIELD_TYPES:
        raise errors.bad_request(f"field_type must be one of {', '.join(FIELD_TYPES)}")
    company = call.company
    options: list[dict[str, Any]] = []
    if kind in WITH_OPTIONS:
        options = parse_options(body.get("options"), company.option_id)
    elif body.get("options"):
        raise errors.bad_request(f"options are only allowed for {' and '.join(WITH_OPTIONS)}")
    definition = FieldDef(new_field_code(), name.strip(), str(kind), options=options)
    company.person_fields.append(definition)
    return ok(definition.to_json())


def update_field(call: Call) -> Response:
    """``PATCH /api/v2/personFields/{field_code}``: rename."""
    definition = _field(call, custom=True)
    body = call.body_object()
    if set(body) - {"field_name", "description", "ui_visibility"}:
        raise errors.bad_request("Only field_name, description and ui_visibility can change")
    if "field_name" in body:
        name = values.string(body["field_name"], "field_name")
        if not name.strip():
            raise errors.bad_request("field_name must be given")
        definition.name = name.strip()
    return ok(definition.to_json())


def delete_field(call: Call) -> Response:
    """``DELETE /api/v2/personFields/{field_code}``: the field and its values go."""
    definition = _field(call, custom=True)
    company = call.company
    company.person_fields.remove(definition)
    for person in company.records["persons"].values():
        person["custom_fields"].pop(definition.code, None)
    return ok({"field_code": definition.code})


def _options_body(call: Call, definition: FieldDef) -> list[Any]:
    if definition.type not in WITH_OPTIONS:
        raise errors.bad_request(f"Field {definition.code} has no options")
    body = call.body_json()
    if not isinstance(body, list) or not body:
        raise errors.bad_request("Request body must be a non-empty array")
    return body


def add_options(call: Call) -> Response:
    """``POST /api/v2/personFields/{field_code}/options`` with ``[{label}]``."""
    definition = _field(call, custom=True)
    added = parse_options(_options_body(call, definition), call.company.option_id)
    definition.options.extend(added)
    return ok(added)


def relabel_options(call: Call) -> Response:
    """``PATCH /api/v2/personFields/{field_code}/options`` with ``[{id, label}]``."""
    definition = _field(call, custom=True)
    by_id = {o["id"]: o for o in definition.options}
    for item in _options_body(call, definition):
        option = by_id.get(item.get("id")) if isinstance(item, dict) else None
        if option is None or not isinstance(item.get("label"), str):
            raise errors.bad_request(f"Unknown option or missing label: {item!r}")
        option["label"] = item["label"]
    return ok(definition.options)


def delete_options(call: Call) -> Response:
    """``DELETE /api/v2/personFields/{field_code}/options`` with ``[{id}]``."""
    definition = _field(call, custom=True)
    ids = {item.get("id") for item in _options_body(call, definition) if isinstance(item, dict)}
    unknown = sorted(str(i) for i in ids if i not in definition.option_ids())
    if unknown:
        raise errors.bad_request(f"Unknown option id(s): {unknown}")
    definition.options[:] = [o for o in definition.options if o["id"] not in ids]
    for person in call.company.records["persons"].values():
        held = person["custom_fields"].get(definition.code)
        if isinstance(held, list):
            held = [i for i in held if i not in ids] or None
        elif held in ids:
            held = None
        person["custom_fields"][definition.code] = held
        if held is None:
            del person["custom_fields"][definition.code]
    return ok(definition.options)


ROUTES: tuple[RouteRow, ...] = (
    ("GET", "/api/v2/personFields", list_fields, LIST, CONTACTS_READ + FIELDS_FULL),
    ("POST", "/api/v2/personFields", create_field, WRITE, FIELDS_FULL),
    ("GET", "/api/v2/personFields/{field_code}", read_field, GET_ONE, CONTACTS_READ + FIELDS_FULL),
    ("PATCH", "/api/v2/personFields/{field_code}", update_field, WRITE, FIELDS_FULL),
    ("DELETE", "/api/v2/personFields/{field_code}", delete_field, DELETE, FIELDS_FULL),
    ("POST", "/api/v2/personFields/{field_code}/options", add_options, WRITE, FIELDS_FULL),
    ("PATCH", "/api/v2/personFields/{field_code}/options", relabel_options, WRITE, FIELDS_FULL),
    ("DELETE", "/api/v2/personFields/{field_code}/options", delete_options, DELETE, FIELDS_FULL),
)
