"""How Mautic answers: error bodies, errors inside a 200, and per-item batch results.

Owns: the short, safe detail for an error answer (the ``errors[0].type`` plus a fixed hint, or a
known fixed server message — never free body text), the 200-with-``errors`` rule, and turning
``statusCodes``/``errors`` of a batch answer into :class:`~scorebridge.errors.ItemResult`.
Must not: send requests.
"""

from __future__ import annotations

from typing import Any

import requests

from scorebridge.errors import ItemResult
from scorebridge.mautic.parsing import as_int, as_opt_int, indexed

SYSTEM = "mautic"

TYPE_HINTS: dict[str, str] = {
    "api_disabled": "API disabled: enable the API in Mautic's Configuration → API Settings",
    "invalid_grant": "access token invalid or expired",
    "invalid_client": "OAuth2 client credentials are invalid",
    "unauthorized_client": "this OAuth2 client may not use client_credentials "
    "(create the API credentials as an administrator)",
    "unsupported_grant_type": "grant type not supported by this client",
}

KNOWN_MESSAGES = frozenset(
    {
        "Item was not found.",
        "Contact not found.",
        "Contact could not be found.",
        "The specified point group was not found.",
        "The requested operation is not permitted.",
        "Invalid operator",
        "This is a bad request.",
        "You do not have access to the requested area/action.",
        "Authorization denied, invalid credentials.",
        "API authorization denied.",
        "lead ID is mandatory",
        "mautic.api.call.id_missing",
    }
)
"""Fixed server texts that carry no user data and may appear in error messages."""

_MESSAGE_PREFIXES = (
    "Basic Auth disabled",
    "A max of ",
    "You exceeded the rate limit",
    "You do not have the view permission",
)


def first_error(body: Any) -> dict[str, Any] | None:
    """``errors[0]`` of a Mautic error body (or the single ``error`` object), if any."""
    if not isinstance(body, dict):
        return None
    errors = body.get("errors")
    if isinstance(errors, list) and errors and isinstance(errors[0], dict):
        return errors[0]
    if isinstance(errors, dict) and errors:
        first = next(iter(errors.values()))
        return first if isinstance(first, dict) else None
    return None


def safe_detail(error: dict[str, Any] | None) -> str:
    """The operator-facing part of one Mautic error object: type + hint, or a known text."""
    if error is None:
        return ""
    kind = error.get("type")
    message = error.get("message")
    if isinstance(kind, str) and kind in TYPE_HINTS:
        return f"{kind}: {TYPE_HINTS[kind]}"
    if isinstance(message, str) and (
        message in KNOWN_MESSAGES or message.startswith(_MESSAGE_PREFIXES)
    ):
        return f"{kind}: {message}" if isinstance(kind, str) and kind else message
    return kind if isinstance(kind, str) else ""


def error_detail(response: requests.Response) -> str:
    """:class:`~scorebridge.http.VendorHooks` ``error_detail`` for Mautic."""
    try:
        body = response.json()
    except ValueError:
        return ""
    return safe_detail(first_error(body))


def item_results(body: Any, count: int, *, list_key: str) -> list[ItemResult]:
    """Per-index results of a batch answer (``statusCodes``, ``errors``, ``<list_key>``).

    Missing status codes count as 200 for items present in ``list_key`` and as failures
    otherwise, so an item never silently "succeeds".
    """
    codes = indexed(body.get("statusCodes"))
    errors = indexed(body.get("errors"))
    entities = indexed(body.get(list_key))
    results: list[ItemResult] = []
    for index in range(count):
        error = errors.get(index)
        entity = entities.get(index)
        status = as_opt_int(codes.get(index))
        if status is None and isinstance(error, dict):
            status = as_opt_int(error.get("code"))
        if status is None:
            status = 200 if entity is not None else None
        ok = error is None and status is not None and 200 <= status < 300
        remote_id = None
        if isinstance(entity, dict) and entity.get("id") is not None:
            remote_id = str(as_int(entity["id"]))
        results.append(
            ItemResult(
                index=index,
                ok=ok,
                status=status,
                message="" if ok else (safe_detail(error) or _item_message(error)),
                retryable=status is None or status == 429 or status >= 500,
                remote_id=remote_id,
            )
        )
    return results


def _item_message(error: Any) -> str:
    """A per-item validation message names fields, not values; keep it short."""
    if isinstance(error, dict) and isinstance(error.get("message"), str):
        return str(error["message"])[:200]
    return "no result for this item"
