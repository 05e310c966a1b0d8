"""Salesforce Tasks and Opportunities that exist exactly once per idempotency key (crm-apis.md
§3.5, §3.7).

Owns: creating Tasks (``WhoId`` the Lead or Contact, ``WhatId`` the opportunity, ``OwnerId``,
``ActivityDate``, ``Priority``, the key's marker in ``Description``) and Opportunities (for a
Contact: ``ContactId`` plus a primary ``OpportunityContactRole``, ``StageName`` — the first value
of the org's stage picklist when none is given —, ``CloseDate`` a month out, the contact's
account, ``scorebridge_key__c``), finding them again before a create, and listing a Contact's open
Opportunities.

Finding uses SOQL on the records themselves (consistent the moment a write returns): a Task by
the person's ``WhoId`` and the marker (closed ones count), an Opportunity by its unique key
field — Salesforce refuses a second one with the same key (``DUPLICATE_VALUE``), which
:meth:`Engagements.create_deal` answers with the existing id. An unconverted Lead gets no
Opportunity: Salesforce links opportunities to Contacts, and only a rep converts a Lead
(``not_ready``: the deal waits for the conversion).
Salesforce has no pipelines here: every Opportunity is in pipeline ``default``.
Must not: decide whether to create (the caller calls find first) or retry a create blindly.
"""

from __future__ import annotations

from datetime import timedelta
from typing import Any

from scorebridge.clock import Clock
from scorebridge.crm.base import DealSpec, OpenDeal, TaskSpec
from scorebridge.crm.errors import CrmError, crm_error
from scorebridge.crm.salesforce import mapping as m
from scorebridge.crm.salesforce.auth import SYSTEM
from scorebridge.crm.salesforce.people import People
from scorebridge.crm.salesforce.transport import SalesforceTransport, soql_ids, soql_quote

PIPELINE = "default"
CLOSE_AFTER = timedelta(days=30)


class Engagements:
    """Tasks and Opportunities of one org."""

    def __init__(self, transport: SalesforceTransport, people: People, clock: Clock) -> None:
        self.transport = transport
        self.people = people
        self.clock = clock
        self._first_stage: str | None = None

    # -- tasks ------------------------------------------------------------------------------

    def find_task(self, idempotency_key: str, person_id: str) -> str | None:
        """The person's Task (open or closed) whose description carries the key's marker."""
        who = {person_id, self.people.target(person_id)[1]}
        marker = m.task_marker(idempotency_key)
        for raw in self.transport.records(
            f"SELECT Id, Description FROM Task WHERE WhoId IN {soql_ids(sorted(who))} ORDER BY Id"
        ):
            if marker in str(raw.get("Description") or ""):
                return str(raw["Id"])
        return None

    def create_task(self, spec: TaskSpec) -> str:
        """Create the Task for the person (its Contact once converted); not idempotent."""
        object_name, who = self.people.target(spec.contact_id)
        what = spec.deal_id if object_name == m.CONTACT else None  # a Lead's Task has no WhatId
        answer = self.transport.send(
            "POST", "/sobjects/Task", json=m.task_body(spec, who, what), idempotent=False
        )
        return _created_id(answer, "Task")

    # -- opportunities ----------------------------------------------------------------------

    def find_deal(self, idempotency_key: str, person_id: str) -> str | None:
        """The Opportunity whose unique ``scorebridge_key__c`` is the key (open or closed)."""
        rows = self.transport.records(
            f"SELECT Id FROM Opportunity WHERE {m.KEY_FIELD} = {soql_quote(idempotency_key)}"
        )
        return str(rows[0]["Id"]) if rows else None

    def open_deals(self, person_id: str, pipeline: str | None) -> list[OpenDeal]:
        """The person's open Opportunities (through its contact roles and ``ContactId``),
        oldest first; a Lead not converted yet has none."""
        object_name, contact_id = self.people.target(person_id)
        if object_name != m.CONTACT:
            return []
        quoted = soql_quote(contact_id)
        role_ids = [
            str(r["OpportunityId"])
            for r in self.transport.records(
                f"SELECT OpportunityId FROM OpportunityContactRole WHERE ContactId = {quoted}"
            )
        ]
        linked = f"ContactId = {quoted}"
        if role_ids:
            linked = f"({linked} OR Id IN {soql_ids(role_ids)})"
        rows = self.transport.records(
            f"SELECT Id, Name, StageName, OwnerId, {m.KEY_FIELD}, CreatedDate FROM Opportunity "
            f"WHERE IsClosed = false AND {linked} ORDER BY CreatedDate, Id"
        )
        return [_open_deal(raw) for raw in rows]

    def create_deal(self, spec: DealSpec) -> str:
        """Create the Opportunity for the person's Contact with its primary contact role; a
        key already taken answers the Opportunity holding it."""
        object_name, contact_id = self.people.target(spec.contact_id)
        if object_name != m.CONTACT:
            raise crm_error(
                "not_ready",
                f"Lead {spec.contact_id} is not converted: Salesforce opens opportunities for "
                "Contacts; the deal opens once a rep converts the lead",
                system=SYSTEM,
            )
        account = self._account_of(contact_id)
        body = m.opportunity_body(
            spec,
            contact_id,
            spec.stage or self._default_stage(),
            (self.clock.now() + CLOSE_AFTER).date(),
            account,
        )
        try:
            answer = self.transport.send(
                "POST", "/sobjects/Opportunity", json=body, idempotent=False
            )
        except CrmError as exc:
            if exc.kind != "validation" or "DUPLICATE_VALUE" not in str(exc):
                raise
            existing = self.find_deal(spec.idempotency_key, spec.contact_id)
            if existing is None:
                raise
            return existing
        deal_id = _created_id(answer, "Opportunity")
        self._ensure_role(deal_id, contact_id)
        return deal_id

    def _ensure_role(self, deal_id: str, contact_id: str) -> None:
        """A primary contact role for the Contact (unless setting ``ContactId`` made one)."""
        rows = self.transport.records(
            "SELECT Id FROM OpportunityContactRole WHERE "
            f"OpportunityId = {soql_quote(deal_id)} AND ContactId = {soql_quote(contact_id)}"
        )
        if rows:
            return
        role = {"OpportunityId": deal_id, "ContactId": contact_id, "IsPrimary": True}
        self.transport.send("POST", "/sobjects/OpportunityContactRole", json=role, idempotent=False)

    def _account_of(self, contact_id: str) -> str | None:
        rows = self.transport.records(
            f"SELECT AccountId FROM Contact WHERE Id = {soql_quote(contact_id)}"
        )
        return str(rows[0]["AccountId"]) if rows and rows[0].get("AccountId") else None

    def _default_stage(self) -> str:
        """The first active value of the org's ``StageName`` picklist (its first open stage)."""
        if self._first_stage is None:
            answer = self.transport.send("GET", "/sobjects/Opportunity/describe")
            fields = answer.get("fields") if isinstance(answer, dict) else None
            stage = next(
                (f for f in fields or [] if isinstance(f, dict) and f.get("name") == "StageName"),
                None,
            )
            values = [
                v.get("value")
                for v in (stage or {}).get("picklistValues") or []
                if isinstance(v, dict) and v.get("active", True)
            ]
            if not values:
                raise m.contract_error("Opportunity StageName has no active picklist value")
            self._first_stage = str(values[0])
        return self._first_stage


def _open_deal(raw: dict[str, Any]) -> OpenDeal:
    key = raw.get(m.KEY_FIELD)
    return OpenDeal(
        id=str(raw["Id"]),
        name=str(raw.get("Name") or ""),
        pipeline=PIPELINE,
        stage=str(raw["StageName"]) if raw.get("StageName") else None,
        owner_id=str(raw["OwnerId"]) if raw.get("OwnerId") else None,
        idempotency_key=str(key) if key else None,
    )


def _created_id(answer: Any, what: str) -> str:
    if not isinstance(answer, dict) or not answer.get("id"):
        raise m.contract_error(f"{what} create answer without an id")
    return str(answer["id"])
