"""Paging HubSpot's CRM search in modified-date order, around its 10,000-result cap.

Owns: the changed-since loop: ``GTE since`` sorted ascending, numeric ``after`` offsets, and
re-windowing before the cap (a new query from the last seen timestamp, dropping the records of
that timestamp already delivered), plus paging-loop detection.
Must not: send requests itself (it gets a ``send`` callable) or parse records beyond their id
and modified timestamp.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping, Sequence
from datetime import datetime
from typing import Any

from scorebridge.crm.hubspot.mapping import contract_error, search_body

SEARCH_RESULT_CAP = 10_000
"""HubSpot answers 400 when a search pages past this many results."""

SearchSend = Callable[[dict[str, Any]], Any]
"""Sends one search body, returns the parsed answer."""


def iter_search(
    send: SearchSend,
    *,
    modified_property: str,
    modified_at: Callable[[Any], datetime],
    since: datetime | None,
    properties: Sequence[str],
    limit: int,
    extra_filters: Sequence[Mapping[str, str]] = (),
    cap: int = SEARCH_RESULT_CAP,
) -> Iterator[tuple[list[Any], datetime]]:
    """Yield ``(new records, cursor)`` per page; ``cursor`` = greatest modified time so far.

    ``modified_at(record)`` reads a record's modified time. Records are never yielded twice
    (ties at a window boundary are deduplicated by id); a page whose records were all seen
    is not yielded.
    """
    window_start = since
    after = 0
    boundary: datetime | None = None
    boundary_ids: set[str] = set()
    while True:
        answer = send(
            search_body(
                modified_property=modified_property,
                since=window_start,
                properties=properties,
                limit=limit,
                after=after,
                extra_filters=extra_filters,
            )
        )
        results = answer.get("results") if isinstance(answer, dict) else None
        if not isinstance(results, list):
            raise contract_error("search answer without a results list")
        fresh = []
        for record in results:
            moment = modified_at(record)
            record_id = str(record["id"])
            if moment == boundary and record_id in boundary_ids:
                continue
            if boundary is None or moment > boundary:
                boundary, boundary_ids = moment, set()
            boundary_ids.add(record_id)
            fresh.append(record)
        if fresh and boundary is not None:
            yield fresh, boundary
        next_after = _next_after(answer)
        if next_after is None or not results:
            return
        if next_after <= after:
            raise contract_error(f"search paging does not advance (after={next_after})")
        if next_after + limit > cap:
            if boundary is None or boundary == window_start:
                raise contract_error(
                    f"more than {cap} records share {modified_property} {boundary}; "
                    "the search cannot page past them"
                )
            window_start, after = boundary, 0
        else:
            after = next_after


def _next_after(answer: dict[str, Any]) -> int | None:
    paging = answer.get("paging")
    nxt = paging.get("next") if isinstance(paging, dict) else None
    if not isinstance(nxt, dict) or nxt.get("after") in (None, ""):
        return None
    try:
        return int(str(nxt["after"]))
    except ValueError as exc:
        raise contract_error("search paging.next.after is not a number") from exc
