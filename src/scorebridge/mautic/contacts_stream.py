"""The Mautic contacts stream (DESIGN §4): contacts added or modified after a keyset cursor on
(``date_modified``, else ``date_added``; id), so an idle cycle reads one page however much was
written just before it. Like every stream it never touches the store: it yields pages and the
cursor to store with each.
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from datetime import datetime, timedelta
from typing import Any, Protocol

from scorebridge.mautic.streams import CONTACTS, Page, Reject, fmt


class ContactSource(Protocol):
    """The part of the Mautic client the contact stream uses."""

    def list_contacts(
        self,
        *,
        where: list[dict[str, Any]] | None = ...,
        order_by: str | None = ...,
        order_dir: str | None = ...,
        start: int = ...,
        limit: int = ...,
    ) -> Any:
        """One page of ``GET /api/contacts``."""
        ...


Key = tuple[datetime, int]
"""A contact's place in the contacts stream: (``date_modified``, else ``date_added``; id)."""


def _after_key(key: Key, after: int) -> list[dict[str, Any]]:
    """Contacts whose key is greater than ``key`` (new contacts have no ``date_modified``; a
    contact's ``date_added`` is never later than its ``date_modified``), with id above
    ``after`` (the keyset paging inside one read)."""
    at, last = fmt(key[0]), str(key[1])
    return [
        {
            "expr": "orX",
            "val": [
                {"col": "date_modified", "expr": "gt", "val": at},
                {
                    "expr": "andX",
                    "val": [
                        {"col": "date_modified", "expr": "eq", "val": at},
                        {"col": "id", "expr": "gt", "val": last},
                    ],
                },
                {"col": "date_added", "expr": "gt", "val": at},
                {
                    "expr": "andX",
                    "val": [
                        {"col": "date_added", "expr": "eq", "val": at},
                        {"col": "id", "expr": "gt", "val": last},
                    ],
                },
            ],
        },
        {"col": "id", "expr": "gt", "val": str(after)},
    ]


def _key_state(key: Key) -> dict[str, Any]:
    return {"ts": key[0].isoformat(), "id": key[1]}


def _key_of(state: Mapping[str, Any], prefix: str = "") -> Key:
    return datetime.fromisoformat(state[f"{prefix}ts"]), int(state[f"{prefix}id"])


def _contact_state(
    cursor: str, *, overlap: timedelta, backfill_from: datetime
) -> tuple[Key, int, Key | None, datetime | None]:
    """(start key, paging id, newest key so far, cap) of a stored cursor; cursors of the
    overlap-window reader (before keyset cursors) restart one overlap before their time."""
    state = json.loads(cursor) if cursor else {}
    if "ts" in state:
        top = _key_of(state, "top_") if "top_ts" in state else None
        cap = datetime.fromisoformat(state["cap"]) if state.get("cap") else None
        return _key_of(state), int(state.get("after", 0)), top, cap
    if "since" in state:
        return (datetime.fromisoformat(state["since"]) - overlap, 0), 0, None, None
    if "from" in state:
        return (datetime.fromisoformat(state["from"]), 0), 0, None, None
    return (backfill_from, 0), 0, None, None


def read_contacts(
    source: ContactSource,
    cursor: str,
    *,
    cycle_start: datetime,
    commit_lag: timedelta,
    backfill_from: datetime,
    page_size: int,
    overlap: timedelta = timedelta(minutes=10),
) -> Iterator[Page]:
    """Yield pages of contacts added or modified after the cursor's key (see :data:`Key`).

    A keyset cursor, so an idle cycle reads one page however much was written just before it
    (scorebridge's own write-back included: its echo is read once, then passed). A save still
    committing when Mautic answered can show up later with an earlier ``date_modified``, so the
    cursor never passes ``commit_lag`` before Mautic's clock at the first page (its ``Date``
    header; our ``cycle_start`` when it sends none): what changed that recently is read again
    next cycle. ``overlap`` only converts a cursor of the former overlap-window reader.
    """
    key, after, top, cap = _contact_state(cursor, overlap=overlap, backfill_from=backfill_from)
    top = top or key
    rejected: list[Reject] = []
    while True:
        page = source.list_contacts(
            where=_after_key(key, after), order_by="id", order_dir="ASC", start=0, limit=page_size
        )
        if cap is None:
            cap = (getattr(page, "server_time", None) or cycle_start) - commit_lag
        rejected.extend(
            Reject(CONTACTS, r.record_id, str(r), {"id": r.record_id}) for r in page.rejected
        )
        contacts = list(page.contacts)
        for contact in contacts:
            after = max(after, contact.id)
            changed = contact.changed_at
            if changed is not None:
                top = max(top, (changed, contact.id))
        if len(contacts) < page_size:
            break
        state = _key_state(key) | {"after": after, "cap": cap.isoformat()}
        state |= {f"top_{k}": v for k, v in _key_state(top).items()}
        yield Page(
            CONTACTS, json.dumps(state), [], contacts, rejected[:], len(contacts), page.total
        )
        rejected.clear()
    done = max(key, min(top, (cap, 0)))
    final = json.dumps(_key_state(done))
    yield Page(CONTACTS, final, [], contacts, rejected, len(contacts), page.total)
