"""Contact batch endpoints (mautic-api.md §2.4): ``POST /api/contacts/batch/new`` (201 always),
``PUT|PATCH /api/contacts/batch/edit`` (200 always), ``DELETE /api/contacts/batch/delete``; the
``api_batch_max_limit`` (HTTP 500 above it), per-index ``statusCodes`` and ``errors`` (a failed
middle item turns ``contacts`` into an index-keyed object), and the per-item failure fault.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from scorebridge.sandbox.base import Response
from scorebridge.sandbox.mautic.query import as_list, php_int
from scorebridge.sandbox.mautic.routes_contacts import create_or_merge, edit_or_put
from scorebridge.sandbox.mautic.routing import GENERIC_500, NOT_FOUND, ApiError, Call, Router, ok
from scorebridge.sandbox.mautic.state import Contact


def register(router: Router) -> None:
    """Add the batch routes (before ``/api/contacts/{id}``)."""
    router.add("POST", "/api/contacts/batch/new", batch_new)
    router.add("PUT PATCH", "/api/contacts/batch/edit", batch_edit)
    router.add("DELETE", "/api/contacts/batch/delete", batch_delete)


def _batch_items(call: Call, items: Any) -> list[tuple[str, Any]]:
    if isinstance(items, dict):
        pairs = [(str(k), v) for k, v in items.items()]
    elif isinstance(items, list):
        pairs = [(str(i), v) for i, v in enumerate(items)]
    else:
        raise ApiError(400, "This is a bad request.")
    limit = call.emulator.settings.batch_max
    if len(pairs) > limit:
        raise ApiError(500, f"A max of {limit} entities are supported at a time.")
    return pairs


def _batch_answer(
    key: str,
    pairs: list[tuple[str, Any]],
    entities: dict[str, Any],
    codes: dict[str, int],
    errors: dict[str, Any],
    status: int,
) -> Response:
    sequential = all(k == str(i) for i, (k, _) in enumerate(pairs))
    body: dict[str, Any] = {}
    if sequential and not errors:
        body[key] = list(entities.values())
    else:
        body[key] = entities
    body["statusCodes"] = list(codes.values()) if sequential else codes
    if errors:
        body["errors"] = errors
    return ok(body, status)


class _ItemError(Exception):
    """One batch item failed with this status and error body (the batch goes on)."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status)
        self.status, self.body = status, body


def _contact_batch(
    call: Call, status: int, handle: Callable[[Any], tuple[Contact, int]]
) -> Response:
    """Run ``handle`` (item -> contact, status code) on each item; failures stay per index."""
    pairs = _batch_items(call, call.body())
    entities: dict[str, Any] = {}
    codes: dict[str, int] = {}
    errors: dict[str, Any] = {}
    for index, item in pairs:
        try:
            if call.emulator.fail_batch_item():
                raise _ItemError(
                    500, {"code": 500, "message": GENERIC_500, "details": [], "type": None}
                )
            contact, codes[index] = handle(item)
            entities[index] = call.emulator.serializer.contact(contact)
        except _ItemError as failed:
            codes[index], errors[index] = failed.status, failed.body
        except ApiError as exc:
            codes[index] = exc.status
            errors[index] = {"code": exc.status, "message": exc.message, "details": exc.details,
                             "type": None}  # fmt: skip
    return _batch_answer("contacts", pairs, entities, codes, errors, status)


def batch_new(call: Call) -> Response:
    """``POST /api/contacts/batch/new`` (HTTP 201 always)."""

    def create(item: Any) -> tuple[Contact, int]:
        if not isinstance(item, dict):
            raise ApiError(400, "This is a bad request.")
        return create_or_merge(call, item)

    return _contact_batch(call, 201, create)


def batch_edit(call: Call) -> Response:
    """``PUT|PATCH /api/contacts/batch/edit`` (HTTP 200 always)."""

    def edit(item: Any) -> tuple[Contact, int]:
        if not isinstance(item, dict) or item.get("id") in (None, ""):
            raise _ItemError(
                400, {"message": "mautic.api.call.id_missing", "code": 400, "type": "api"}
            )
        contact_id = php_int(item["id"])
        if call.request.method == "PATCH" and contact_id not in call.emulator.state.contacts:
            raise _ItemError(404, {"message": NOT_FOUND, "code": 404, "type": "api"})
        return edit_or_put(call, contact_id, {k: v for k, v in item.items() if k != "id"})

    return _contact_batch(call, 200, edit)


def batch_delete(call: Call) -> Response:
    """``DELETE /api/contacts/batch/delete?ids=1,2,3`` (or ``ids[]=``)."""
    raw = call.arg("ids")
    ids = [v for v in str(raw).split(",") if v.strip()] if isinstance(raw, str) else as_list(raw)
    pairs = _batch_items(call, ids)
    state = call.emulator.state
    deleted: list[Any] = []
    errors: dict[str, Any] = {}
    for index, value in pairs:
        contact = state.contacts.get(php_int(value))
        if contact is None or call.emulator.fail_batch_item():
            errors[index] = {"message": NOT_FOUND, "code": 404, "type": "api"}
            continue
        deleted.append(call.emulator.serializer.contact(contact))
        state.remove_contact(contact.id)
    body: dict[str, Any] = {"contacts": deleted}
    if errors:
        body["errors"] = errors
    return ok(body)
