"""The Salesforce CRM adapter: :class:`SalesforceAdapter` implements
:class:`~scorebridge.crm.CrmAdapter` on the REST API.

Owns: which resources serve each operation (crm-apis.md §3): custom fields (:mod:`.schema`),
Users, Leads and Contacts changed since T (SOQL on ``SystemModstamp`` with ``nextRecordsUrl``,
see :mod:`.people`), closed Opportunities with their contact roles, people by e-mail (SOQL),
writes in sObject collections (200 records per request, ``allOrNone=false``, each record's
result acked on its own; creates make Leads), Tasks and Opportunities (:mod:`.engagements`).
Must not: hold vendor JSON beyond a method call, decide retries (the HTTP layer does), or import
:mod:`scorebridge.sandbox`.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any

import requests

from scorebridge.clock import Clock, SystemClock
from scorebridge.crm.base import (
    Capabilities,
    ClosedDeal,
    CrmContact,
    DealSpec,
    FieldSpec,
    FieldValue,
    OpenDeal,
    Owner,
    Page,
    TaskSpec,
    Usage,
    WriteItem,
)
from scorebridge.crm.owner_refs import OwnerRefs
from scorebridge.crm.salesforce import mapping as m
from scorebridge.crm.salesforce.auth import SYSTEM, ClientCredentials, JwtBearer, SalesforceAuth
from scorebridge.crm.salesforce.engagements import Engagements
from scorebridge.crm.salesforce.people import People
from scorebridge.crm.salesforce.schema import Schema
from scorebridge.crm.salesforce.transport import SalesforceTransport, error_codes, soql_time
from scorebridge.crm.upstream import normalize_email
from scorebridge.errors import ConfigError, ItemResult
from scorebridge.http import SHARED_BUCKETS, BucketRegistry, RetryPolicy

if TYPE_CHECKING:
    from scorebridge.config import CrmSettings

MAX_BATCH = 200  # records per sObject collection
PAGE_SIZE = 2000  # records per query batch (Salesforce's default)
_NOT_FOUND = frozenset(
    {"ENTITY_IS_DELETED", "INVALID_CROSS_REFERENCE_KEY", "MALFORMED_ID", "INVALID_ID_FIELD"}
)
_CONVERTED = "CANNOT_UPDATE_CONVERTED_LEAD"
_RETRYABLE = frozenset({"UNABLE_TO_LOCK_ROW"})


@dataclass
class _Write:
    """One record of a collection: the caller's index, the object, the body sent."""

    index: int
    object_name: str
    body: dict[str, Any]


class SalesforceAdapter:
    """Salesforce through OAuth 2 client credentials (the default) or the JWT bearer flow.

    ``base_url`` is the org's My Domain (``https://<domain>.my.salesforce.com``: the token
    endpoint of client credentials); the session's ``instance_url`` serves the calls.
    ``read_properties`` names further Lead/Contact fields to read where they exist;
    ``reserve_percent`` of the daily API allocation is left to other integrations.
    """

    name = "salesforce"

    def __init__(
        self,
        *,
        base_url: str,
        client_id: str,
        client_secret: str | None = None,
        username: str | None = None,
        private_key: str | None = None,
        login_url: str = "https://login.salesforce.com",
        api_version: str = "62.0",
        clock: Clock | None = None,
        session: requests.Session | None = None,
        retry: RetryPolicy | None = None,
        read_properties: Sequence[str] = (),
        reserve_percent: int = 10,
        buckets: BucketRegistry = SHARED_BUCKETS,
    ) -> None:
        def on_session(instance_url: str, user_id: str | None) -> None:
            self.transport.use_session(instance_url, user_id)

        auth: SalesforceAuth
        if private_key and username:
            auth = JwtBearer(
                client_id=client_id,
                username=username,
                private_key_pem=private_key,
                login_url=login_url,
                on_session=on_session,
            )
        elif client_secret:
            auth = ClientCredentials(
                client_id=client_id,
                client_secret=client_secret,
                my_domain=base_url,
                on_session=on_session,
            )
        else:
            raise ConfigError(
                "salesforce needs client_secret (client credentials), or username and "
                "private_key (JWT bearer)",
                key="crm.auth",
            )
        self.clock: Clock = clock or SystemClock()
        self.transport = SalesforceTransport(
            base_url=base_url,
            auth=auth,
            api_version=api_version,
            clock=self.clock,
            session=session,
            retry=retry,
            reserve_percent=reserve_percent,
            buckets=buckets,
        )
        self._schema = Schema(self.transport)
        self._people = People(self.transport, read_properties)
        self._engagements = Engagements(self.transport, self._people, self.clock)
        self._owner_refs = OwnerRefs(SYSTEM, self.owners)

    @classmethod
    def from_settings(
        cls, cfg: CrmSettings, clock: Clock, session: requests.Session
    ) -> SalesforceAdapter:
        """The adapter the ``[crm]`` table describes (``auth = "client_credentials"`` or
        ``"jwt"``)."""
        jwt = cfg.auth == "jwt"
        assert cfg.client_id is not None  # validated by config
        return cls(
            base_url=cfg.url,
            client_id=cfg.client_id,
            client_secret=_secret(cfg.client_secret) if not jwt else None,
            username=cfg.username if jwt else None,
            private_key=_secret(cfg.private_key) if jwt else None,
            login_url=cfg.login_url,
            api_version=cfg.api_version,
            clock=clock,
            session=session,
            read_properties=cfg.read_properties,
            reserve_percent=cfg.daily_reserve_percent,
        )

    @property
    def capabilities(self) -> Capabilities:
        """200 records per collection, no upsert by e-mail, 2000 per query batch."""
        return Capabilities(
            max_batch=MAX_BATCH,
            supports_upsert=False,
            search_page_size=PAGE_SIZE,
            task_idempotency="lookup",
            # find by key, open opportunities, the contact's account, the create, the contact
            # role's lookup and create
            deal_requests=6,
        )

    def usage(self) -> Usage:
        """Daily API requests left, from the last ``Sforce-Limit-Info``."""
        return self.transport.usage()

    # -- schema and owners ------------------------------------------------------------------

    def ensure_schema(self, fields: Sequence[FieldSpec]) -> list[str]:
        """Create (Tooling API) and grant the missing custom fields on Lead, Contact and
        Opportunity; the names of ``fields`` created."""
        return self._schema.ensure(fields)

    def missing_fields(self, fields: Sequence[FieldSpec]) -> list[str]:
        """``Object.field__c`` of the needed fields the integration user cannot see (doctor)."""
        return self._schema.missing(fields)

    def contact_property_names(self) -> list[str]:
        """The Lead and Contact fields the integration user sees, as reads report them."""
        names = self._schema.fields_of(m.LEAD, fresh=True) | self._schema.fields_of(m.CONTACT)
        return sorted(
            n[: -len(m.CUSTOM_SUFFIX)] if n.endswith(m.CUSTOM_SUFFIX) and n.islower() else n
            for n in names
        )

    def owners(self) -> list[Owner]:
        """The org's Users."""
        rows = self.transport.records("SELECT Id, Name, Email, IsActive FROM User ORDER BY Id")
        return [m.parse_user(raw) for raw in rows]

    # -- reads ------------------------------------------------------------------------------

    def _visible(self) -> dict[str, set[str]]:
        return {obj: self._schema.fields_of(obj) for obj in (m.LEAD, m.CONTACT)}

    def contacts_changed_since(self, since: datetime | None) -> Iterator[Page[CrmContact]]:
        """Leads and Contacts with ``SystemModstamp >= since``, merged oldest first."""
        cursor = since
        for people in self._people.changed_since(since, self._visible(), PAGE_SIZE):
            if not people:
                continue
            cursor = max([p.updated_at for p in people] + ([cursor] if cursor else []))
            yield Page(items=tuple(people), cursor=cursor)

    def closed_deals_since(self, since: datetime | None) -> Iterator[Page[ClosedDeal]]:
        """Closed Opportunities with ``SystemModstamp >= since``; their people are the
        contact roles and ``ContactId`` (a converted Lead's Contact under the Lead's id)."""
        where = "IsClosed = true" + (
            f" AND SystemModstamp >= {soql_time(since)}" if since is not None else ""
        )
        soql = (
            "SELECT Id, IsWon, Amount, CloseDate, ContactId, SystemModstamp, "
            "(SELECT ContactId FROM OpportunityContactRoles) FROM Opportunity "
            f"WHERE {where} ORDER BY SystemModstamp, Id"
        )
        cursor = since
        for records in self.transport.query(soql):
            contacts = {str(r.get("Id")): m.opportunity_contacts(r) for r in records}
            names = self._people.names([c for ids in contacts.values() for c in ids])
            items = tuple(
                m.parse_closed(raw, [names.get(c, c) for c in contacts[str(raw.get("Id"))]])
                for raw in records
            )
            if not items:
                continue
            cursor = max([d.updated_at for d in items] + ([cursor] if cursor else []))
            yield Page(items=items, cursor=cursor)

    def find_by_email(self, emails: Sequence[str]) -> dict[str, CrmContact]:
        """The person holding each e-mail (an unconverted Lead, else a Contact)."""
        wanted = list(dict.fromkeys(normalize_email(e) for e in emails if e and e.strip()))
        return self._people.by_email(wanted, self._visible()) if wanted else {}

    # -- person writes ----------------------------------------------------------------------

    def create_contacts(self, items: Sequence[WriteItem]) -> list[ItemResult]:
        """New people are Leads (``POST /composite/sobjects``); an e-mail already held by a
        Lead or Contact updates that person instead."""
        emails = [normalize_email(i.email) for i in items if i.email and i.email.strip()]
        holders = self.find_by_email(emails) if emails else {}
        results: list[ItemResult] = []
        creates: list[_Write] = []
        updates: list[WriteItem] = []
        positions: list[int] = []
        for index, item in enumerate(items):
            if not item.email or not item.email.strip():
                results.append(ItemResult(index=index, ok=False, message="create needs an email"))
                continue
            email = normalize_email(item.email)
            holder = holders.get(email)
            if holder is not None:
                values = {k: v for k, v in item.properties.items() if k != "email"}
                updates.append(WriteItem(properties=values, crm_id=holder.id))
                positions.append(index)
            else:
                values = self._owned(item.properties)
                creates.append(_Write(index, m.LEAD, m.lead_body(email, values)))
        done = self.update_contacts(updates)
        for position, update, result in zip(positions, updates, done, strict=True):
            message = f"linked to existing {update.crm_id}" if result.ok else result.message
            results.append(_at(position, result, message))
        results += self._collection("POST", creates, created=True)
        return sorted(results, key=lambda r: r.index)

    def update_contacts(self, items: Sequence[WriteItem]) -> list[ItemResult]:
        """``PATCH /composite/sobjects``, 200 per request; a converted Lead's record goes to
        its Contact; an e-mail another person holds fails its item for good."""
        results: list[ItemResult] = []
        writes: list[_Write] = []
        new_emails = {
            normalize_email(str(i.properties["email"])) for i in items if i.properties.get("email")
        }
        holders = self.find_by_email(sorted(new_emails)) if new_emails else {}
        for index, item in enumerate(items):
            object_name = m.object_of(item.crm_id or "")
            if not item.crm_id or object_name is None:
                results.append(_failure(index, 404, f"no Lead or Contact {item.crm_id!r}"))
                continue
            email = item.properties.get("email")
            holder = holders.get(normalize_email(str(email))) if email else None
            if holder is not None and holder.id != item.crm_id:
                results.append(
                    _failure(
                        index,
                        409,
                        f"e-mail {normalize_email(str(email))} already "
                        f"belongs to CRM contact {holder.id}",
                    )
                )
                continue
            values = self._owned(item.properties)
            body = m.record_body(values, object_name)
            record_id = self._people.target_cached(item.crm_id)
            if record_id != item.crm_id:
                object_name = m.CONTACT
                body = m.record_body(values, m.CONTACT)
            writes.append(_Write(index, object_name, {"id": record_id, **body}))
        results += self._update_records(writes)
        return sorted(results, key=lambda r: r.index)

    def _owned(self, values: Mapping[str, FieldValue]) -> dict[str, FieldValue]:
        """``values`` with an owner given by e-mail turned into its User id."""
        found = dict(values)
        if found.get("owner_id"):
            found["owner_id"] = self._owner_refs.resolve(str(found["owner_id"]))
        return found

    def _update_records(self, writes: list[_Write]) -> list[ItemResult]:
        """Send the updates; those refused because their Lead was converted meanwhile go to
        the Contact in a second round."""
        results = self._collection("PATCH", writes)
        converted = [r.index for r in results if r.message.startswith(_CONVERTED)]
        if not converted:
            return results
        by_index = {w.index: w for w in writes}
        moved = self._people.converted([by_index[i].body["id"] for i in converted])
        again = []
        for index in converted:
            write = by_index[index]
            contact = moved.get(write.body["id"])
            if contact is not None:
                again.append(_Write(index, m.CONTACT, _for_contact(write.body, contact)))
        retried = {r.index: r for r in self._collection("PATCH", again)}
        return [retried.get(r.index, r) for r in results]

    def _collection(
        self, method: str, writes: list[_Write], created: bool = False
    ) -> list[ItemResult]:
        """Send ``writes`` as sObject collections of 200 (``allOrNone=false``); one result per
        record, in input order."""
        results: list[ItemResult] = []
        sendable = [w for w in writes if len(w.body) > (0 if method == "POST" else 1)]
        skipped = {w.index for w in writes} - {w.index for w in sendable}
        results += [
            ItemResult(index=i, ok=True, status=200, message="nothing to write") for i in skipped
        ]
        for start in range(0, len(sendable), MAX_BATCH):
            chunk = sendable[start : start + MAX_BATCH]
            records = [{"attributes": {"type": w.object_name}, **w.body} for w in chunk]
            answer = self.transport.send(
                method,
                "/composite/sobjects",
                json={"allOrNone": False, "records": records},
                idempotent=method == "PATCH",
            )
            if not isinstance(answer, list) or len(answer) != len(chunk):
                raise m.contract_error("sObject collection answer does not match its records")
            results += [_result(w, row, created) for w, row in zip(chunk, answer, strict=True)]
        return results

    # -- tasks and deals (see .engagements) -------------------------------------------------

    def find_open_task(self, idempotency_key: str, contact_id: str) -> str | None:
        """The person's Task carrying the key's marker (open or closed), if any."""
        return self._engagements.find_task(idempotency_key, contact_id)

    def create_task(self, spec: TaskSpec) -> str:
        """Create the Task (``WhoId`` the person, ``WhatId`` the deal), not idempotent."""
        owner = self._owner_refs.resolve(spec.owner_id)
        return self._engagements.create_task(replace(spec, owner_id=owner))

    def find_deal(self, idempotency_key: str, contact_id: str) -> str | None:
        """The Opportunity holding the key (unique ``scorebridge_key__c``)."""
        return self._engagements.find_deal(idempotency_key, contact_id)

    def open_deals(self, contact_id: str, pipeline: str | None) -> list[OpenDeal]:
        """The person's open Opportunities (Salesforce has one pipeline here)."""
        return self._engagements.open_deals(contact_id, pipeline)

    def create_deal(self, spec: DealSpec) -> str:
        """Create the Opportunity and its contact role; a taken key answers its holder."""
        owner = self._owner_refs.resolve(spec.owner_id)
        return self._engagements.create_deal(replace(spec, owner_id=owner))


def _result(write: _Write, row: Any, created: bool) -> ItemResult:
    if isinstance(row, dict) and row.get("success"):
        return ItemResult(
            index=write.index,
            ok=True,
            status=201 if created else 200,
            message="created" if created else "",
            remote_id=str(row.get("id") or write.body.get("id") or ""),
        )
    codes = error_codes(row.get("errors") if isinstance(row, dict) else None) or ["UNKNOWN"]
    if _CONVERTED in codes:
        return _failure(write.index, 400, f"{_CONVERTED}: the Lead was converted")
    if _NOT_FOUND.intersection(codes):
        return _failure(write.index, 404, f"salesforce: {', '.join(codes)}")
    if _RETRYABLE.intersection(codes):
        return ItemResult(
            index=write.index, ok=False, message=f"salesforce: {', '.join(codes)}", retryable=True
        )
    status = 409 if "DUPLICATE_VALUE" in codes else 400
    return _failure(write.index, status, f"salesforce: {', '.join(codes)}")


def _failure(index: int, status: int, message: str) -> ItemResult:
    return ItemResult(index=index, ok=False, status=status, message=message, retryable=False)


def _at(index: int, result: ItemResult, message: str) -> ItemResult:
    return ItemResult(
        index=index,
        ok=result.ok,
        status=result.status,
        message=message,
        retryable=result.retryable,
        remote_id=result.remote_id,
    )


def _for_contact(lead_body: dict[str, Any], contact_id: str) -> dict[str, Any]:
    """A Lead update re-aimed at the Contact the Lead became (fields a Contact lacks dropped)."""
    lead_fields = m.STANDARD[m.LEAD]
    logical = {field: name for name, field in lead_fields.items() if field}
    values = {logical.get(k, k): v for k, v in lead_body.items() if k != "id"}
    return {"id": contact_id, **m.record_body(values, m.CONTACT)}


def _secret(value: Any) -> str | None:
    return value.get_secret_value() if value is not None else None
