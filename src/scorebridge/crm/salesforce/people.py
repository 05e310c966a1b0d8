"""Salesforce Leads and Contacts as one kind of person (crm-apis.md §3.3, §3.7).

scorebridge syncs both objects. A Mautic contact is a **Lead** until a rep converts it, then the
**Contact** it was converted into. So that a conversion never splits a person in two, a person
keeps the id it was first known by: an unconverted Lead is its Lead id; a Contact that a Lead was
converted into is reported under that Lead's id (the oldest one, if several were merged into
it); any other Contact under its own id. Writes, tasks and opportunities for a converted Lead's
id go to its Contact (:meth:`People.target`).

Owns: that naming (the conversion links read from ``Lead.ConvertedContactId``), the changed-since
read of both objects merged in ``SystemModstamp`` order, and finding people by e-mail (SOQL on
``Email``: the database, not the search index; an unconverted Lead wins over a Contact).
Must not: write records.
"""

from __future__ import annotations

import heapq
import threading
from collections.abc import Collection, Iterator, Sequence
from datetime import datetime
from typing import Any

from scorebridge.crm.base import CrmContact
from scorebridge.crm.errors import crm_error
from scorebridge.crm.salesforce import mapping as m
from scorebridge.crm.salesforce.auth import SYSTEM
from scorebridge.crm.salesforce.transport import (
    SalesforceTransport,
    soql_ids,
    soql_quote,
    soql_time,
)

IN_CHUNK = 200  # ids per IN (...) clause


class People:
    """Leads and Contacts of one org, each person under one stable id."""

    def __init__(self, transport: SalesforceTransport, extra: Collection[str] = ()) -> None:
        self.transport = transport
        #: further fields a read selects where the object has them (``[crm] read_properties``)
        self.extra: list[str] = list(extra)
        self._lock = threading.Lock()
        #: converted Lead id -> its Contact id; Contact id -> the Lead id it keeps
        self._contact_of: dict[str, str] = {}
        self._lead_of: dict[str, str] = {}

    # -- conversion links -------------------------------------------------------------------

    def _learn(self, lead_id: str, contact_id: str) -> None:
        with self._lock:
            self._contact_of[lead_id] = contact_id
            known = self._lead_of.get(contact_id)
            if known is None or (len(lead_id), lead_id) < (len(known), known):
                self._lead_of[contact_id] = lead_id

    def names(self, contact_ids: Sequence[str]) -> dict[str, str]:
        """The id each Contact is known by (the Lead converted into it, else its own)."""
        unknown = [c for c in dict.fromkeys(contact_ids) if c not in self._lead_of]
        for start in range(0, len(unknown), IN_CHUNK):
            chunk = unknown[start : start + IN_CHUNK]
            for row in self.transport.records(
                "SELECT Id, ConvertedContactId FROM Lead WHERE IsConverted = true "
                f"AND ConvertedContactId IN {soql_ids(chunk)}"
            ):
                self._learn(str(row["Id"]), str(row["ConvertedContactId"]))
        with self._lock:
            return {c: self._lead_of.get(c, c) for c in contact_ids}

    def target(self, person_id: str) -> tuple[str, str]:
        """``(object, record id)`` a write for ``person_id`` goes to (a converted Lead's
        Contact); raises not found for an id that is neither a Lead nor a Contact."""
        object_name = m.object_of(person_id)
        if object_name is None:
            raise crm_error(
                "not_found", f"{person_id!r} is not a Lead or Contact id", system=SYSTEM, status=404
            )
        if object_name == m.CONTACT:
            return m.CONTACT, person_id
        with self._lock:
            known = self._contact_of.get(person_id)
        if known is None:
            rows = self.transport.records(
                "SELECT Id, IsConverted, ConvertedContactId FROM Lead "
                f"WHERE Id = {soql_quote(person_id)}"
            )
            if not rows:
                raise crm_error("not_found", f"no Lead {person_id}", system=SYSTEM, status=404)
            if rows[0].get("IsConverted") and rows[0].get("ConvertedContactId"):
                known = str(rows[0]["ConvertedContactId"])
                self._learn(person_id, known)
        return (m.CONTACT, known) if known else (m.LEAD, person_id)

    def target_cached(self, person_id: str) -> str:
        """The record a write for ``person_id`` goes to, as far as known without a request
        (a Lead converted since is found when the write is refused)."""
        with self._lock:
            return self._contact_of.get(person_id, person_id)

    def converted(self, lead_ids: Sequence[str]) -> dict[str, str]:
        """Which of ``lead_ids`` were converted, and into which Contact (read now)."""
        found: dict[str, str] = {}
        for start in range(0, len(lead_ids), IN_CHUNK):
            chunk = list(lead_ids[start : start + IN_CHUNK])
            for row in self.transport.records(
                "SELECT Id, ConvertedContactId FROM Lead WHERE IsConverted = true "
                f"AND Id IN {soql_ids(chunk)}"
            ):
                if row.get("ConvertedContactId"):
                    self._learn(str(row["Id"]), str(row["ConvertedContactId"]))
                    found[str(row["Id"])] = str(row["ConvertedContactId"])
        return found

    # -- reads ------------------------------------------------------------------------------

    def _select(self, object_name: str, visible: Collection[str]) -> str:
        """The standard fields, scorebridge's custom fields and the extra fields the running
        user can see on the object (``visible``: its describe)."""
        by_lower = {name.lower(): name for name in visible}
        ours = [n for n in visible if n.endswith(m.CUSTOM_SUFFIX) and n.islower()]
        extra = [by_lower[e.lower()] for e in self.extra if e.lower() in by_lower]
        return ", ".join(m.read_fields(object_name, [*ours, *extra]))

    def changed_since(
        self, since: datetime | None, visible: dict[str, set[str]], page_size: int
    ) -> Iterator[list[CrmContact]]:
        """People changed at or after ``since``, both objects merged oldest first."""
        where = f" WHERE SystemModstamp >= {soql_time(since)}" if since is not None else ""
        order = " ORDER BY SystemModstamp, Id"
        leads = self._stream(
            f"SELECT {self._select(m.LEAD, visible[m.LEAD])} FROM Lead{where}{order}"
        )
        contacts = self._stream(
            f"SELECT {self._select(m.CONTACT, visible[m.CONTACT])} FROM Contact{where}{order}"
        )
        merged = heapq.merge(leads, contacts, key=lambda row: (row[0], row[1]["Id"]))
        batch: list[tuple[datetime, dict[str, Any], str]] = []
        for row in merged:
            batch.append(row)
            if len(batch) >= page_size:
                yield self._people(batch)
                batch = []
        if batch:
            yield self._people(batch)

    def _stream(self, soql: str) -> Iterator[tuple[datetime, dict[str, Any], str]]:
        object_name = m.LEAD if " FROM Lead" in soql else m.CONTACT
        for records in self.transport.query(soql):
            for raw in records:
                stamp = m.parse_time(raw.get("SystemModstamp"))
                if stamp is None:
                    raise m.contract_error(f"{object_name} without SystemModstamp")
                yield stamp, raw, object_name

    def _people(self, rows: list[tuple[datetime, dict[str, Any], str]]) -> list[CrmContact]:
        for _, raw, object_name in rows:
            if object_name == m.LEAD and raw.get("IsConverted") and raw.get("ConvertedContactId"):
                self._learn(str(raw["Id"]), str(raw["ConvertedContactId"]))
        contact_ids = [str(raw["Id"]) for _, raw, obj in rows if obj == m.CONTACT]
        names = self.names(contact_ids)
        found = []
        for _, raw, object_name in rows:
            if object_name == m.LEAD and raw.get("IsConverted"):
                continue  # read-only now: the person is its Contact
            person_id = names.get(str(raw["Id"]), str(raw["Id"]))
            found.append(m.parse_person(raw, object_name, person_id))
        return found

    def by_email(
        self, emails: Sequence[str], visible: dict[str, set[str]]
    ) -> dict[str, CrmContact]:
        """The person holding each e-mail: an unconverted Lead, else a Contact (oldest id)."""
        found: dict[str, CrmContact] = {}
        for object_name, extra in ((m.LEAD, " AND IsConverted = false"), (m.CONTACT, "")):
            wanted = [e for e in emails if e not in found]
            for start in range(0, len(wanted), IN_CHUNK):
                chunk = wanted[start : start + IN_CHUNK]
                rows = self.transport.records(
                    f"SELECT {self._select(object_name, visible[object_name])} FROM "
                    f"{object_name} WHERE Email IN {soql_ids(chunk)}{extra} ORDER BY Id"
                )
                names = self.names([str(r["Id"]) for r in rows]) if object_name == m.CONTACT else {}
                for raw in rows:
                    person = m.parse_person(raw, object_name, names.get(raw["Id"], raw["Id"]))
                    if person.email and person.email not in found:
                        found[person.email] = person
        return found
