"""One controller for the v2 items that share read / create / PATCH / delete (persons,
activities, deals): each item type is an :class:`ItemSpec` row, not a copy of the handlers.

Owns the common contract: unknown body keys are refused with 400 naming them (v2 is strict),
a missing or deleted item is a 404 ``<Label> not found``, create and PATCH answer the whole item,
delete is soft (``is_deleted``) and answers ``{id}``. The item rules live in each spec's
``changes``.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial
from typing import Any

from scorebridge.sandbox.base import Response
from scorebridge.sandbox.pipedrive import errors
from scorebridge.sandbox.pipedrive.routing import (
    DELETE,
    GET_ONE,
    LIST,
    WRITE,
    Call,
    Handler,
    RouteRow,
    ok,
)
from scorebridge.sandbox.pipedrive.state import Record

Changes = Callable[[Call, dict[str, Any], Record | None], Record]


def as_stored(_call: Call, record: Record) -> Record:
    """Render an item as stored."""
    return record


@dataclass(frozen=True)
class ItemSpec:
    """How one item type is written and shown."""

    kind: str  # the company's table, e.g. "persons"
    label: str  # for messages, e.g. "Person"
    path: str  # e.g. "/api/v2/persons"
    writable: frozenset[str]
    new: Callable[[Call], Record]  # a record with every key at its default
    changes: Changes  # validated changes of a create (current None) or PATCH body
    read_scopes: tuple[str, ...]
    write_scopes: tuple[str, ...]
    render: Callable[[Call, Record], Any] = as_stored


def item(call: Call, spec: ItemSpec) -> Record:
    """The live item of the path's ``{id}``, or the 404."""
    found = call.company.get(spec.kind, call.id_param())
    if found is None:
        raise errors.not_found(spec.label)
    return found


def _changes(call: Call, spec: ItemSpec, current: Record | None) -> Record:
    body = call.body_object()
    unknown = sorted(set(body) - spec.writable)
    if unknown:
        raise errors.bad_request(f"Unknown field(s) for {spec.label}: {', '.join(unknown)}")
    return spec.changes(call, body, current)


def read(spec: ItemSpec, call: Call) -> Response:
    """``GET {path}/{id}``."""
    return ok(spec.render(call, item(call, spec)))


def create(spec: ItemSpec, call: Call) -> Response:
    """``POST {path}``."""
    record = spec.new(call)
    record.update(_changes(call, spec, None))
    return ok(spec.render(call, call.company.add(spec.kind, record)))


def update(spec: ItemSpec, call: Call) -> Response:
    """``PATCH {path}/{id}``."""
    current = item(call, spec)
    call.company.change(spec.kind, current, _changes(call, spec, current))
    return ok(spec.render(call, current))


def delete(spec: ItemSpec, call: Call) -> Response:
    """``DELETE {path}/{id}``: soft delete."""
    current = item(call, spec)
    call.company.change(spec.kind, current, {"is_deleted": True})
    return ok({"id": current["id"]})


def routes(spec: ItemSpec, list_handler: Handler) -> tuple[RouteRow, ...]:
    """The five routes of an item type."""
    one = f"{spec.path}/{{id}}"
    return (
        ("GET", spec.path, list_handler, LIST, spec.read_scopes),
        ("POST", spec.path, partial(create, spec), WRITE, spec.write_scopes),
        ("GET", one, partial(read, spec), GET_ONE, spec.read_scopes),
        ("PATCH", one, partial(update, spec), WRITE, spec.write_scopes),
        ("DELETE", one, partial(delete, spec), DELETE, spec.write_scopes),
    )
