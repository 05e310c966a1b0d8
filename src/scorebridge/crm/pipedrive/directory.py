"""Which Pipedrive person holds an e-mail, read consistently (crm-apis.md §2.3).

Pipedrive finds persons by e-mail only through ``/persons/search``, a search index that shows
writes late (and costs a search-window slot and 20 tokens a call). An existence check must not
read through it, so the adapter keeps its own index of e-mail → person ids, built from the
persons list (``GET /api/v2/persons``, the database itself): once in full, then every use
re-reads the persons changed since the last one (``updated_since``, one request when little
changed) and records the adapter's own writes at once.

Owns: that index (e-mail → ids, id → e-mails) and its high-water mark.
Must not: write persons, or parse anything of a person but its id, e-mails and update time.
"""

from __future__ import annotations

import threading
from collections.abc import Iterable, Mapping
from datetime import datetime
from typing import Any

from scorebridge.crm.pipedrive.mapping import emails_of, parse_time
from scorebridge.crm.pipedrive.transport import PipedriveTransport

PERSONS = "/api/v2/persons"


class PersonDirectory:
    """E-mail → person ids of one company, kept current from the persons list."""

    def __init__(self, transport: PipedriveTransport) -> None:
        self._transport = transport
        self._lock = threading.Lock()
        self._ids_of: dict[str, set[str]] = {}
        self._emails_of: dict[str, list[str]] = {}
        self._high_water: datetime | None = None
        self._loaded = False

    def refresh(self) -> None:
        """Read the persons changed since the last refresh (all of them the first time)."""
        params = {"sort_by": "update_time", "sort_direction": "asc"}
        if self._loaded and self._high_water is not None:
            params["updated_since"] = self._high_water.strftime("%Y-%m-%dT%H:%M:%SZ")
        for page in self._transport.pages(PERSONS, params):
            self.record(page, listed=True)
        self._loaded = True

    def record(self, persons: Iterable[Mapping[str, Any]], *, listed: bool = False) -> None:
        """Take persons as read or written (deleted ones leave the index); only ``listed``
        ones (a complete read of a time range) move the high-water mark."""
        with self._lock:
            for raw in persons:
                if raw.get("id") is None:
                    continue
                person_id = str(raw["id"])
                for email in self._emails_of.pop(person_id, []):
                    self._ids_of.get(email, set()).discard(person_id)
                if not raw.get("is_deleted"):
                    emails = emails_of(raw)
                    self._emails_of[person_id] = emails
                    for email in emails:
                        self._ids_of.setdefault(email, set()).add(person_id)
                updated = parse_time(raw.get("update_time")) if listed else None
                if updated is not None and (self._high_water is None or updated > self._high_water):
                    self._high_water = updated

    def holders(self, email: str) -> list[str]:
        """The ids of the persons holding ``email`` (normalized), oldest id first."""
        with self._lock:
            found = self._ids_of.get(email, set())
            return sorted(found, key=lambda i: (len(i), i))
