"""The HubSpot CRM adapter: :class:`HubSpotAdapter` implements :class:`~scorebridge.crm.CrmAdapter`.

Owns: which HubSpot endpoints serve each operation of the Protocol (crm-apis.md §1): properties
(``ensure_schema``), owners paging, contacts and closed deals changed since T (CRM search plus v4
association reads), batch read by email, batch update by id and upsert by email, tasks with a body
marker and the inline 204 association, deals with a unique ``scorebridge_key`` property.
Must not: hold vendor JSON beyond a method call, decide retries (the HTTP layer does, see
:mod:`.transport`), or import :mod:`scorebridge.sandbox`.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Sequence
from dataclasses import replace
from datetime import UTC, datetime, tzinfo
from typing import Any

import requests

from scorebridge.clock import Clock
from scorebridge.crm.base import (
    Capabilities,
    ClosedDeal,
    CrmContact,
    DealSpec,
    FieldSpec,
    OpenDeal,
    Owner,
    Page,
    TaskSpec,
    Usage,
    WriteItem,
)
from scorebridge.crm.errors import CrmError
from scorebridge.crm.hubspot import mapping as m
from scorebridge.crm.hubspot.batch import BatchInput, write_batches
from scorebridge.crm.hubspot.engagements import Engagements
from scorebridge.crm.hubspot.search import SEARCH_RESULT_CAP, iter_search
from scorebridge.crm.hubspot.transport import HubSpotTransport
from scorebridge.errors import ItemResult
from scorebridge.http import SHARED_BUCKETS, BucketRegistry, RetryPolicy

log = logging.getLogger(__name__)

MAX_BATCH = 100
SEARCH_PAGE_SIZE = 200
LIST_PAGE_SIZE = 100
DEALS_REMEMBERED = 50_000  # deal versions whose contacts an adapter keeps (a few MB)
CONTACTS = "/crm/v3/objects/contacts"


class HubSpotAdapter:
    """HubSpot through a private-app token (``Authorization: Bearer pat-…``).

    ``read_properties`` names extra contact properties to read (fit fields such as ``jobtitle``);
    ``burst_per_10s`` is the account's 10-second limit (100 Free/Starter, 190 Pro/Enterprise);
    ``daily_reset_tz`` is the account's time zone (daily limits reset at its midnight);
    ``search_page_size`` and ``search_result_cap`` are HubSpot's 200 and 10,000 (lower them
    only in tests).
    """

    name = "hubspot"

    def __init__(
        self,
        *,
        token: str,
        base_url: str = "https://api.hubapi.com",
        clock: Clock | None = None,
        session: requests.Session | None = None,
        retry: RetryPolicy | None = None,
        read_properties: Sequence[str] = (),
        burst_per_10s: int = 100,
        search_per_second: int = 5,
        daily_reset_tz: tzinfo = UTC,
        buckets: BucketRegistry = SHARED_BUCKETS,
        search_page_size: int = SEARCH_PAGE_SIZE,
        search_result_cap: int = SEARCH_RESULT_CAP,
    ) -> None:
        self.transport = HubSpotTransport(
            token=token,
            base_url=base_url,
            clock=clock,
            session=session,
            retry=retry,
            burst_per_10s=burst_per_10s,
            search_per_second=search_per_second,
            buckets=buckets,
            daily_reset_tz=daily_reset_tz,
        )
        self._read_properties = list(dict.fromkeys([*m.CONTACT_READ_PROPERTIES, *read_properties]))
        self._page_size = search_page_size
        self._cap = search_result_cap
        self._engagements = Engagements(self.transport)
        #: deal id -> (hs_lastmodifieddate, contact ids) of deals read before: a deal the overlap
        #: window returns again unchanged needs no second association read (a daemon's cycles)
        self._deal_contacts_seen: dict[str, tuple[Any, list[str]]] = {}

    @property
    def capabilities(self) -> Capabilities:
        """100 per batch, upsert by email, 200 per search page, tasks/deals found by lookup."""
        return Capabilities(
            max_batch=MAX_BATCH,
            supports_upsert=True,
            search_page_size=self._page_size,
            task_idempotency="lookup",
        )

    def usage(self) -> Usage:
        """Daily remaining from the last ``X-HubSpot-RateLimit-Daily-Remaining`` seen."""
        return self.transport.usage()

    # -- schema and owners ------------------------------------------------------------------

    def ensure_schema(self, fields: Sequence[FieldSpec]) -> list[str]:
        """Create missing contact properties (group ``scorebridge``) and the deal key property.

        Returns the names of the contact properties created. An existing property of another
        type is a :class:`CrmContractError` (the operator must rename or delete it).
        """
        for spec in fields:
            self._remember_read(spec.name)
        created, _ = self._ensure_properties("contacts", fields)
        key = m.DEAL_KEY_PROPERTY
        made, existing = self._ensure_properties("deals", [m.DEAL_KEY_FIELD], frozenset({key}))
        if made:
            log.info("hubspot: created deal property %s (unique values)", key)
            self._engagements.learn_deal_key({"hasUniqueValue": True})
        else:  # None when it was created concurrently: read it when first needed
            self._engagements.learn_deal_key(existing.get(key))
        return created

    def contact_property_names(self) -> list[str]:
        """The names of every contact property of the account (``doctor`` checks fit fields)."""
        answer = self.transport.get("/crm/v3/properties/contacts")
        return sorted(str(p.get("name")) for p in m.results_of(answer, "properties"))

    def _remember_read(self, name: str) -> None:
        if name not in self._read_properties:
            self._read_properties.append(name)

    def _ensure_properties(
        self,
        object_type: str,
        fields: Sequence[FieldSpec],
        unique: frozenset[str] = frozenset(),
    ) -> tuple[list[str], dict[str, Any]]:
        """Create the missing ``fields`` (``unique`` names get ``hasUniqueValue``); the names
        created and the definitions that existed before, by name."""
        answer = self.transport.get(f"/crm/v3/properties/{object_type}")
        existing = {str(p.get("name")): p for p in m.results_of(answer, "properties")}
        for spec in fields:
            found = existing.get(spec.name)
            if found is not None and found.get("type") != spec.type:
                raise m.contract_error(
                    f"{object_type} property {spec.name} exists with type {found.get('type')!r}, "
                    f"scorebridge needs {spec.type!r}"
                )
        missing = [spec for spec in fields if spec.name not in existing]
        if not missing:
            return [], existing
        self._ensure_group(object_type)
        created = []
        for spec in missing:
            try:
                self.transport.send(
                    "POST",
                    f"/crm/v3/properties/{object_type}",
                    json=m.property_create_body(spec, unique=spec.name in unique),
                    idempotent=True,
                )
            except CrmError as exc:
                if exc.kind != "conflict":  # created concurrently: fine
                    raise
                continue
            created.append(spec.name)
        return created, existing

    def _ensure_group(self, object_type: str) -> None:
        path = f"/crm/v3/properties/{object_type}/groups"
        groups = {str(g.get("name")) for g in m.results_of(self.transport.get(path), "groups")}
        if m.PROPERTY_GROUP in groups:
            return
        try:
            self.transport.send("POST", path, json=m.property_group_body(), idempotent=True)
        except CrmError as exc:
            if exc.kind != "conflict":
                raise

    def owners(self) -> list[Owner]:
        """The active owners (``GET /crm/v3/owners``, paged by ``after``).

        Archived owners are not read: scorebridge never assigns work to one, and an owner id
        missing from this list counts as inactive (one request per cycle, not two).
        """
        found: dict[str, Owner] = {}
        after: str | None = None
        seen_after: set[str] = set()
        while True:
            params = {"limit": str(LIST_PAGE_SIZE), "archived": "false"}
            if after:
                params["after"] = after
            answer = self.transport.get("/crm/v3/owners", params=params)
            for raw in m.results_of(answer, "owners"):
                owner = m.parse_owner(raw)
                found.setdefault(owner.id, owner)
            after = m.next_after(answer)
            if after is None:
                return list(found.values())
            if after in seen_after:
                raise m.contract_error("owners paging repeats a cursor")
            seen_after.add(after)

    # -- reads ------------------------------------------------------------------------------

    def _search(self, object_type: str) -> Any:
        def send(body: dict[str, Any]) -> Any:
            return self.transport.send(
                "POST",
                f"/crm/v3/objects/{object_type}/search",
                json=body,
                idempotent=True,
                search=True,
            )[1]

        return send

    def contacts_changed_since(self, since: datetime | None) -> Iterator[Page[CrmContact]]:
        """Search ``lastmodifieddate GTE since`` ascending, 200 per page, re-windowed at 10k."""
        for records, cursor in iter_search(
            self._search("contacts"),
            modified_property="lastmodifieddate",
            modified_at=lambda raw: m.parse_contact(raw).updated_at,
            since=since,
            properties=self._read_properties,
            limit=self._page_size,
            cap=self._cap,
        ):
            yield Page(items=tuple(m.parse_contact(raw) for raw in records), cursor=cursor)

    def closed_deals_since(self, since: datetime | None) -> Iterator[Page[ClosedDeal]]:
        """Search deals ``hs_is_closed = true`` by ``hs_lastmodifieddate``, plus v4 contacts."""
        for records, cursor in iter_search(
            self._search("deals"),
            modified_property="hs_lastmodifieddate",
            modified_at=lambda raw: m.parse_deal(raw, ()).updated_at,
            since=since,
            properties=m.DEAL_READ_PROPERTIES,
            limit=self._page_size,
            extra_filters=[{"propertyName": "hs_is_closed", "operator": "EQ", "value": "true"}],
            cap=self._cap,
        ):
            contacts = self._contacts_of_deals(records)
            items = tuple(m.parse_deal(raw, contacts.get(str(raw["id"]), ())) for raw in records)
            yield Page(items=items, cursor=cursor)

    def _contacts_of_deals(self, records: Sequence[Any]) -> dict[str, list[str]]:
        """Each deal's contact ids; associations are read only for deals not seen before at
        the same ``hs_lastmodifieddate``."""
        seen = self._deal_contacts_seen
        versions = {
            str(raw["id"]): (raw.get("properties") or {}).get("hs_lastmodifieddate")
            for raw in records
        }
        found: dict[str, list[str]] = {}
        for deal_id, version in versions.items():
            known = seen.get(deal_id)
            if version is not None and known is not None and known[0] == version:
                found[deal_id] = known[1]
        unread = [deal_id for deal_id in versions if deal_id not in found]
        read = self._deal_contacts(unread)
        if len(seen) + len(unread) > DEALS_REMEMBERED:
            seen.clear()
        for deal_id in unread:
            found[deal_id] = read.get(deal_id, [])
            if versions[deal_id] is not None:
                seen[deal_id] = (versions[deal_id], found[deal_id])
        return found

    def _deal_contacts(self, deal_ids: Sequence[str]) -> dict[str, list[str]]:
        """``POST /crm/v4/associations/deals/contacts/batch/read`` → deal id → contact ids."""
        found: dict[str, list[str]] = {}
        for start in range(0, len(deal_ids), MAX_BATCH):
            chunk = deal_ids[start : start + MAX_BATCH]
            _, answer = self.transport.send(
                "POST",
                "/crm/v4/associations/deals/contacts/batch/read",
                json={"inputs": [{"id": deal_id} for deal_id in chunk]},
                idempotent=True,
            )
            for row in m.results_of(answer, "associations"):
                source = str((row.get("from") or {}).get("id"))
                targets = [str(t["toObjectId"]) for t in row.get("to") or [] if "toObjectId" in t]
                found.setdefault(source, []).extend(targets)
        return found

    def find_by_email(self, emails: Sequence[str]) -> dict[str, CrmContact]:
        """``batch/read`` with ``idProperty=email``, 100 per call; unknown emails are absent."""
        wanted = list(dict.fromkeys(m.normalize_email(e) for e in emails if e and e.strip()))
        found: dict[str, CrmContact] = {}
        for start in range(0, len(wanted), MAX_BATCH):
            chunk = wanted[start : start + MAX_BATCH]
            try:
                _, answer = self.transport.send(
                    "POST",
                    f"{CONTACTS}/batch/read",
                    json={
                        "inputs": [{"id": email} for email in chunk],
                        "idProperty": "email",
                        "properties": self._read_properties,
                    },
                    idempotent=True,
                )
            except CrmError as exc:
                if exc.kind == "not_found":
                    continue
                raise
            for raw in m.results_of(answer, "contacts"):
                contact = m.parse_contact(raw)
                if contact.email in chunk:
                    found[contact.email] = contact
        return found

    # -- contact writes ---------------------------------------------------------------------

    def _batch_post(self, action: str) -> Any:
        def post(inputs: list[dict[str, Any]]) -> tuple[int, Any]:
            return self.transport.send(
                "POST", f"{CONTACTS}/batch/{action}", json={"inputs": inputs}, idempotent=True
            )

        return post

    def update_contacts(self, items: Sequence[WriteItem]) -> list[ItemResult]:
        """``batch/update`` by id, 100 per call; a 207 gives per-item failures, and a 409 (an
        e-mail another contact holds) is isolated to its item and fails it for good."""
        inputs, invalid = [], []
        for index, item in enumerate(items):
            if not item.crm_id:
                invalid.append(_invalid(index, "update needs a crm_id"))
                continue
            props = m.encode_properties(item.properties)
            if props.get("email"):
                props["email"] = m.normalize_email(props["email"])
            body = {"id": item.crm_id, "objectWriteTraceId": str(index), "properties": props}
            inputs.append(BatchInput(index, item.crm_id, body))
        return _merge(invalid, self._update(inputs))

    def _update(self, inputs: Sequence[BatchInput]) -> list[ItemResult]:
        return write_batches(
            self._batch_post("update"),
            inputs,
            max_batch=MAX_BATCH,
            result_key=lambda result: str(result.get("id")),
            link_conflict=_taken,
        )

    def create_contacts(self, items: Sequence[WriteItem]) -> list[ItemResult]:
        """``batch/upsert`` by email, 100 per call; a conflict naming an existing id updates it."""
        inputs, invalid = [], []
        for index, item in enumerate(items):
            if not item.email or not item.email.strip():
                invalid.append(_invalid(index, "create needs an email"))
                continue
            email = m.normalize_email(item.email)
            props = m.encode_properties(item.properties)
            props["email"] = email
            body = {
                "id": email,
                "idProperty": "email",
                "objectWriteTraceId": str(index),
                "properties": props,
            }
            inputs.append(BatchInput(index, email, body))
        results = write_batches(
            self._batch_post("upsert"),
            inputs,
            max_batch=MAX_BATCH,
            result_key=lambda result: (result.get("properties") or {}).get("email"),
            link_conflict=self._link_existing,
        )
        return _merge(invalid, results)

    def _link_existing(self, item: BatchInput, existing_id: str) -> ItemResult:
        """The email belongs to contact ``existing_id``: write the properties there instead."""
        props = {k: v for k, v in item.body["properties"].items() if k != "email"}
        body = {"id": existing_id, "objectWriteTraceId": str(item.index), "properties": props}
        result = self._update([BatchInput(item.index, existing_id, body)])[0]
        if not result.ok:
            return result
        return replace(result, remote_id=existing_id, message=f"linked to existing {existing_id}")

    # -- tasks and deals (see .engagements) -------------------------------------------------

    def find_open_task(self, idempotency_key: str, contact_id: str) -> str | None:
        """The contact's task carrying the key's marker (open or completed), if any."""
        return self._engagements.find_task(idempotency_key, contact_id)

    def create_task(self, spec: TaskSpec) -> str:
        """Create the task with its marker, association 204 and, with ``deal_id``, association
        216 to the deal (not idempotent)."""
        return self._engagements.create_task(spec)

    def find_deal(self, idempotency_key: str, contact_id: str) -> str | None:
        """The deal carrying ``scorebridge_key = idempotency_key``, read by the unique key (or,
        on a portal whose key property is not unique, through the contact's associations)."""
        return self._engagements.find_deal(idempotency_key, contact_id)

    def open_deals(self, contact_id: str, pipeline: str | None) -> list[OpenDeal]:
        """The contact's deals (v4 associations) in ``pipeline`` (``None``: ``default``) whose
        stage the pipeline's metadata does not call closed."""
        return self._engagements.open_deals(contact_id, pipeline)

    def create_deal(self, spec: DealSpec) -> str:
        """Create the deal with its key and association 3; a key already taken answers the
        deal holding it."""
        return self._engagements.create_deal(spec)


def _taken(item: BatchInput, existing_id: str) -> ItemResult:
    """An update HubSpot refused with "Contact already exists. Existing ID: N": the new e-mail
    is another contact's. Final for this item: never merge, never retry."""
    email = item.body["properties"].get("email")
    what = f"e-mail {email}" if email else "a unique value of this update"
    return ItemResult(
        index=item.index,
        ok=False,
        status=409,
        message=f"{what} already belongs to CRM contact {existing_id}",
        retryable=False,
    )


def _invalid(index: int, message: str) -> ItemResult:
    return ItemResult(index=index, ok=False, message=message)


def _merge(*groups: Sequence[ItemResult]) -> list[ItemResult]:
    return sorted((r for group in groups for r in group), key=lambda r: r.index)
