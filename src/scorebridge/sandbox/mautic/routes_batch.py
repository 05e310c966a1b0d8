"""Contact batch endpoints (mautic-api.md §2.4): ``POST /api/contacts/batch/new`` (201 always),
``PUT|PATCH /api/contacts/batch/edit`` (200 always), ``DELETE /api/contacts/batch/delete``; the
``api_batch_max_limit`` (HTTP 500 above it), per-index ``statusCodes`` and ``errors`` (a failed
middle item turns ``contacts`` into an index-keyed object), and the per-item failure fault.
"""

from __future__ import annotations

from typing import Any

from scorebridge.sandbox.base import Response
from scorebridge.sandbox.mautic import batch
from scorebridge.sandbox.mautic.query import php_int
from scorebridge.sandbox.mautic.routes_contacts import create_or_merge, edit_or_put
from scorebridge.sandbox.mautic.routing import ApiError, Call, Router, ok
from scorebridge.sandbox.mautic.state import Contact


def register(router: Router) -> None:
    """Add the batch routes (before ``/api/contacts/{id}``)."""
    router.add("POST", "/api/contacts/batch/new", batch_new)
    router.add("PUT PATCH", "/api/contacts/batch/edit", batch_edit)
    router.add("DELETE", "/api/contacts/batch/delete", batch_delete)


def batch_new(call: Call) -> Response:
    """``POST /api/contacts/batch/new`` (HTTP 201 always)."""

    def create(item: Any) -> tuple[Contact, int]:
        if not isinstance(item, dict):
            raise ApiError(400, "This is a bad request.")
        return create_or_merge(call, item)

    return batch.run(call, "contacts", 201, create, call.emulator.serializer.contact)


def batch_edit(call: Call) -> Response:
    """``PUT|PATCH /api/contacts/batch/edit`` (HTTP 200 always)."""

    def edit(item: Any) -> tuple[Contact, int]:
        if not isinstance(item, dict) or item.get("id") in (None, ""):
            raise batch.ID_MISSING
        contact_id = php_int(item["id"])
        if call.request.method == "PATCH" and contact_id not in call.emulator.state.contacts:
            raise batch.not_found_item()
        return edit_or_put(call, contact_id, {k: v for k, v in item.items() if k != "id"})

    return batch.run(call, "contacts", 200, edit, call.emulator.serializer.contact)


def batch_delete(call: Call) -> Response:
    """``DELETE /api/contacts/batch/delete?ids=1,2,3`` (or ``ids[]=``)."""
    pairs = batch.delete_ids(call)
    state = call.emulator.state
    deleted: list[Any] = []
    errors: dict[str, Any] = {}
    for index, value in pairs:
        contact = state.contacts.get(php_int(value))
        if contact is None or call.emulator.fail_batch_item():
            errors[index] = batch.not_found_item().body
            continue
        deleted.append(call.emulator.serializer.contact(contact))
        state.remove_contact(contact.id)
    body: dict[str, Any] = {"contacts": deleted}
    if errors:
        body["errors"] = errors
    return ok(body)
