"""HubSpot batch writes (``batch/update``, ``batch/upsert``) with one result per input.

Owns: chunking by the batch cap, reading 200/201/207 answers into per-item
:class:`~scorebridge.errors.ItemResult` (results matched by ``objectWriteTraceId`` or key, errors
by ``context.ids``), isolating a poison item when HubSpot rejects a whole batch (400/404/409: the
items are retried one by one), and handing ``Contact already exists. Existing ID: N`` conflicts to
a linker.
Must not: build property values (see :mod:`.mapping`) or swallow whole-call failures other than
the per-item kinds above (rate limits, auth, quota, transient errors propagate: the writes are
absolute values, so the caller may resend the whole input).
"""

from __future__ import annotations

import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from scorebridge.crm.errors import CrmError
from scorebridge.errors import ItemResult

_EXISTING_ID = re.compile(r"Existing ID:\s*(\d+)")
_STATUS_OF_CATEGORY = {"VALIDATION_ERROR": 400, "OBJECT_NOT_FOUND": 404, "CONFLICT": 409}
_PER_ITEM_KINDS = frozenset({"validation", "not_found", "conflict"})


@dataclass(frozen=True)
class BatchInput:
    """One input of a batch call: the caller's index, its key (id or email), the JSON sent."""

    index: int
    key: str
    body: dict[str, Any]


BatchPost = Callable[[list[dict[str, Any]]], tuple[int, Any]]
"""Sends ``{"inputs": [...]}`` to one batch endpoint; returns ``(status, answer)``."""

ConflictLinker = Callable[[BatchInput, str], ItemResult]
"""Resolves an item whose record already exists under the given id."""


def write_batches(
    post: BatchPost,
    inputs: Sequence[BatchInput],
    *,
    max_batch: int,
    result_key: Callable[[dict[str, Any]], str | None],
    link_conflict: ConflictLinker | None = None,
) -> list[ItemResult]:
    """Send ``inputs`` in chunks of ``max_batch``; return results sorted by input index."""
    results: list[ItemResult] = []
    for start in range(0, len(inputs), max_batch):
        chunk = list(inputs[start : start + max_batch])
        results.extend(_write_chunk(post, chunk, result_key, link_conflict))
    return sorted(results, key=lambda r: r.index)


def _write_chunk(
    post: BatchPost,
    chunk: list[BatchInput],
    result_key: Callable[[dict[str, Any]], str | None],
    link_conflict: ConflictLinker | None,
) -> list[ItemResult]:
    try:
        _, answer = post([item.body for item in chunk])
    except CrmError as exc:
        if exc.kind not in _PER_ITEM_KINDS:
            raise
        if len(chunk) > 1:
            return [
                result
                for item in chunk
                for result in _write_chunk(post, [item], result_key, link_conflict)
            ]
        item = chunk[0]
        if exc.kind == "conflict" and exc.existing_id and link_conflict is not None:
            return [link_conflict(item, exc.existing_id)]
        return [ItemResult(index=item.index, ok=False, status=exc.status, message=str(exc))]
    return _read_answer(answer, chunk, result_key, link_conflict)


def _read_answer(
    answer: Any,
    chunk: list[BatchInput],
    result_key: Callable[[dict[str, Any]], str | None],
    link_conflict: ConflictLinker | None,
) -> list[ItemResult]:
    by_trace = {str(item.index): item for item in chunk}
    by_key = {item.key.lower(): item for item in chunk}
    done: dict[int, ItemResult] = {}
    body = answer if isinstance(answer, dict) else {}
    for result in body.get("results") or []:
        if not isinstance(result, dict) or "id" not in result:
            continue
        item = by_trace.get(str(result.get("objectWriteTraceId")))
        if item is None:
            key = result_key(result)
            item = by_key.get(key.lower()) if key else None
        if item is not None and item.index not in done:
            message = "created" if result.get("new") is True else ""
            done[item.index] = ItemResult(
                index=item.index, ok=True, status=200, message=message, remote_id=str(result["id"])
            )
    unattributed: list[dict[str, Any]] = []
    for error in body.get("errors") or []:
        if not isinstance(error, dict):
            continue
        items = _items_of_error(error, by_trace, by_key)
        if not items:
            unattributed.append(error)
        for item in items:
            if item.index not in done:
                done[item.index] = _item_failure(item, error, link_conflict)
    for item in chunk:
        if item.index not in done:
            category = _category(unattributed[0]) if unattributed else "no result"
            done[item.index] = ItemResult(
                index=item.index,
                ok=False,
                message=f"hubspot: {category} (item not reported by the batch answer)",
                retryable=True,
            )
    return list(done.values())


def _items_of_error(
    error: dict[str, Any], by_trace: dict[str, BatchInput], by_key: dict[str, BatchInput]
) -> list[BatchInput]:
    raw_context = error.get("context")
    context: dict[str, Any] = raw_context if isinstance(raw_context, dict) else {}
    found: list[BatchInput] = []
    for trace in context.get("objectWriteTraceId") or []:
        if str(trace) in by_trace:
            found.append(by_trace[str(trace)])
    for key in context.get("ids") or []:
        item = by_key.get(str(key).lower())
        if item is not None and item not in found:
            found.append(item)
    return found


def _category(error: dict[str, Any]) -> str:
    parts = [str(error[k]) for k in ("category", "subCategory") if error.get(k)]
    return "/".join(parts) or "error"


def _item_failure(
    item: BatchInput, error: dict[str, Any], link_conflict: ConflictLinker | None
) -> ItemResult:
    category = str(error.get("category") or "")
    existing = _EXISTING_ID.search(str(error.get("message") or ""))
    if category == "CONFLICT" and existing and link_conflict is not None:
        return link_conflict(item, existing.group(1))
    status = _STATUS_OF_CATEGORY.get(category)
    return ItemResult(
        index=item.index,
        ok=False,
        status=status,
        message=f"hubspot: {_category(error)}",
        retryable=status is None,
    )
