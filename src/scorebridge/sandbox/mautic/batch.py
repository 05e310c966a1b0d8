"""The per-item loop every ``batch/new|edit|delete`` endpoint shares
(``ApiBundle/Controller/CommonApiController.php``, ``FetchCommonApiController.php``,
``ApiBundle/Helper/BatchIdToEntityHelper.php``; mautic-api.md §2.4):

- more items than ``api_batch_max_limit`` -> HTTP 500 "A max of N entities are supported at a
  time." before anything is done;
- each item answers on its own: ``statusCodes`` and ``errors`` keyed by the request index; lookup
  errors are ``{message, code, type: "api"}``, form errors ``{code, message, details, type:
  null}``; a failed item is left out of the entity list, which then becomes an index-keyed
  object (as does every answer to a request with non-sequential keys);
- the ``batch_item_failure_ratio`` fault fails an item with Mautic's generic 500.

Knows nothing about what an item is: callers pass the per-item handler and serializer.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from scorebridge.sandbox.base import Response
from scorebridge.sandbox.mautic.query import as_list
from scorebridge.sandbox.mautic.routing import GENERIC_500, NOT_FOUND, ApiError, Call, ok


class ItemError(Exception):
    """One batch item failed with this status and error body (the batch goes on)."""

    def __init__(self, status: int, body: dict[str, Any]) -> None:
        super().__init__(status)
        self.status, self.body = status, body


def lookup_error(status: int, message: str) -> ItemError:
    """A ``setBatchError`` item error (``type: "api"``)."""
    return ItemError(status, {"message": message, "code": status, "type": "api"})


ID_MISSING = lookup_error(400, "mautic.api.call.id_missing")


def not_found_item() -> ItemError:
    """PATCH on a missing id, or a delete of one."""
    return lookup_error(404, NOT_FOUND)


def items(call: Call, body: Any) -> list[tuple[str, Any]]:
    """``(request key, item)`` pairs, refused as a whole above the batch limit."""
    if isinstance(body, dict):
        pairs = [(str(k), v) for k, v in body.items()]
    elif isinstance(body, list):
        pairs = [(str(i), v) for i, v in enumerate(body)]
    else:
        raise ApiError(400, "This is a bad request.")
    limit = call.emulator.settings.batch_max
    if len(pairs) > limit:
        raise ApiError(500, f"A max of {limit} entities are supported at a time.")
    return pairs


def delete_ids(call: Call) -> list[tuple[str, Any]]:
    """The ``ids`` of a batch delete: ``?ids=1,2,3`` or ``?ids[]=1&ids[]=2``."""
    raw = call.arg("ids")
    ids = [v for v in str(raw).split(",") if v.strip()] if isinstance(raw, str) else as_list(raw)
    return items(call, ids)


def answer(
    key: str,
    pairs: list[tuple[str, Any]],
    entities: dict[str, Any],
    codes: dict[str, int],
    errors: dict[str, Any],
    status: int,
) -> Response:
    """The batch reply: a list while every item of a sequential request succeeded."""
    sequential = all(k == str(i) for i, (k, _) in enumerate(pairs))
    body: dict[str, Any] = {
        key: list(entities.values()) if sequential and not errors else entities,
        "statusCodes": list(codes.values()) if sequential else codes,
    }
    if errors:
        body["errors"] = errors
    return ok(body, status)


def run(
    call: Call,
    key: str,
    status: int,
    handle: Callable[[Any], tuple[Any, int]],
    serialize: Callable[[Any], Any],
) -> Response:
    """Run ``handle`` (item -> entity, status code) on each item of the request body."""
    pairs = items(call, call.body())
    entities: dict[str, Any] = {}
    codes: dict[str, int] = {}
    errors: dict[str, Any] = {}
    for index, item in pairs:
        try:
            if call.emulator.fail_batch_item():
                raise ItemError(
                    500, {"code": 500, "message": GENERIC_500, "details": [], "type": None}
                )
            entity, codes[index] = handle(item)
            entities[index] = serialize(entity)
        except ItemError as failed:
            codes[index], errors[index] = failed.status, failed.body
        except ApiError as exc:
            codes[index] = exc.status
            errors[index] = {"code": exc.status, "message": exc.message, "details": exc.details,
                             "type": None}  # fmt: skip
    return answer(key, pairs, entities, codes, errors, status)
