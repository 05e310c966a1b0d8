"""An in-memory CRM with the semantics of :class:`~scorebridge.crm.CrmAdapter`, procrastinate-style.

The fake keeps what the contract suite checks on every real adapter: upsert by (normalized)
email, per-item results, string-valued properties (``None`` clears), changed-since pages in
modified order with a high-water cursor, tasks/deals findable by their idempotency key, a
contact's open deals per pipeline (a closed one is not open), tasks linked to a deal, and
closed deals with their contacts (backtesting). Each write moves the injected clock one second,
so modified times are distinct and ordered. :class:`FakeBackdoor` seeds it the way a CRM user would.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import TypeVar

from scorebridge.clock import FrozenClock
from scorebridge.crm import (
    STANDARD_FIELDS,
    Capabilities,
    ClosedDeal,
    CrmContact,
    DealSpec,
    FieldSpec,
    FieldValue,
    ItemResult,
    OpenDeal,
    Owner,
    Page,
    TaskSpec,
    Usage,
    WriteItem,
)

_DEDICATED = {"email", "owner_id", "lifecycle"}
DEFAULT_PIPELINE = "default"
T = TypeVar("T")


def _encode(value: FieldValue) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    return str(value)


@dataclass
class _Contact:
    id: str
    props: dict[str, str]
    updated_at: datetime

    def view(self) -> CrmContact:
        return CrmContact(
            id=self.id,
            email=self.props.get("email") or None,
            properties={k: v for k, v in self.props.items() if k not in _DEDICATED and v},
            owner_id=self.props.get("owner_id") or None,
            lifecycle=self.props.get("lifecycle") or None,
            updated_at=self.updated_at,
        )


@dataclass
class _Deal:
    """A deal made through the adapter or by a "rep" through the backdoor."""

    id: str
    contact_id: str
    name: str
    pipeline: str
    owner_id: str | None
    key: str | None
    closed: bool = False

    def view(self) -> OpenDeal:
        return OpenDeal(self.id, self.name, self.pipeline, None, self.owner_id, self.key)


@dataclass
class FakeCrm:
    """The fake adapter; ``page_size`` is small so that paging is exercised."""

    clock: FrozenClock
    page_size: int = 2
    name: str = "fake"
    fields: dict[str, FieldSpec] = field(default_factory=dict)
    contacts: dict[str, _Contact] = field(default_factory=dict)
    owner_list: list[Owner] = field(default_factory=list)
    deals: list[ClosedDeal] = field(default_factory=list)  # closed_deals_since material
    tasks: dict[str, tuple[str, TaskSpec]] = field(default_factory=dict)  # id -> (contact, spec)
    pipeline_deals: dict[str, _Deal] = field(default_factory=dict)
    _next_id: int = 100

    def _new_id(self) -> str:
        self._next_id += 1
        return str(self._next_id)

    def _tick(self) -> datetime:
        self.clock.advance(1)
        return self.clock.now()

    @property
    def capabilities(self) -> Capabilities:
        return Capabilities(max_batch=100, supports_upsert=True, search_page_size=self.page_size)

    def ensure_schema(self, fields: Sequence[FieldSpec]) -> list[str]:
        created = [spec.name for spec in fields if spec.name not in self.fields]
        self.fields.update({spec.name: spec for spec in fields})
        return created

    def owners(self) -> list[Owner]:
        return list(self.owner_list)

    def _pages(self, items: list[tuple[datetime, T]]) -> Iterator[Page[T]]:
        items.sort(key=lambda pair: pair[0])
        for start in range(0, len(items), self.page_size):
            chunk = items[start : start + self.page_size]
            yield Page(items=tuple(obj for _, obj in chunk), cursor=chunk[-1][0])

    def contacts_changed_since(self, since: datetime | None) -> Iterator[Page[CrmContact]]:
        changed = [
            (c.updated_at, c.view())
            for c in self.contacts.values()
            if since is None or c.updated_at >= since
        ]
        yield from self._pages(changed)

    def closed_deals_since(self, since: datetime | None) -> Iterator[Page[ClosedDeal]]:
        changed = [(d.updated_at, d) for d in self.deals if since is None or d.updated_at >= since]
        yield from self._pages(changed)

    def find_by_email(self, emails: Sequence[str]) -> dict[str, CrmContact]:
        wanted = {e.strip().lower() for e in emails if e and e.strip()}
        return {
            c.props["email"]: c.view()
            for c in self.contacts.values()
            if c.props.get("email") in wanted
        }

    def _by_email(self, email: str) -> _Contact | None:
        return next((c for c in self.contacts.values() if c.props.get("email") == email), None)

    def _write(self, contact: _Contact, values: dict[str, FieldValue]) -> None:
        contact.props.update({k: _encode(v) for k, v in values.items()})
        contact.updated_at = self._tick()

    def create_contacts(self, items: Sequence[WriteItem]) -> list[ItemResult]:
        results = []
        for index, item in enumerate(items):
            if not item.email or not item.email.strip():
                results.append(ItemResult(index=index, ok=False, message="create needs an email"))
                continue
            email = item.email.strip().lower()
            contact = self._by_email(email)
            created = contact is None
            if contact is None:
                contact = _Contact(self._new_id(), {"email": email}, self.clock.now())
                self.contacts[contact.id] = contact
            self._write(contact, dict(item.properties))
            message = "created" if created else ""
            results.append(
                ItemResult(index=index, ok=True, status=200, message=message, remote_id=contact.id)
            )
        return results

    def update_contacts(self, items: Sequence[WriteItem]) -> list[ItemResult]:
        results = []
        for index, item in enumerate(items):
            contact = self.contacts.get(item.crm_id or "")
            if contact is None:
                results.append(
                    ItemResult(index=index, ok=False, status=404, message="OBJECT_NOT_FOUND")
                )
                continue
            values = dict(item.properties)
            if values.get("email"):
                values["email"] = str(values["email"]).strip().lower()
                holder = self._by_email(str(values["email"]))
                if holder is not None and holder is not contact:
                    message = f"e-mail {values['email']} already belongs to CRM contact {holder.id}"
                    results.append(ItemResult(index=index, ok=False, status=409, message=message))
                    continue
            self._write(contact, values)
            results.append(ItemResult(index=index, ok=True, status=200, remote_id=contact.id))
        return results

    def find_open_task(self, idempotency_key: str, contact_id: str) -> str | None:
        for task_id, (contact, spec) in self.tasks.items():
            if contact == contact_id and spec.idempotency_key == idempotency_key:
                return task_id
        return None

    def create_task(self, spec: TaskSpec) -> str:
        task_id = self._new_id()
        self.tasks[task_id] = (spec.contact_id, spec)
        return task_id

    def find_deal(self, idempotency_key: str, contact_id: str) -> str | None:
        return next(
            (
                deal.id
                for deal in self.pipeline_deals.values()
                if deal.key == idempotency_key and deal.contact_id == contact_id
            ),
            None,
        )

    def open_deals(self, contact_id: str, pipeline: str | None) -> list[OpenDeal]:
        wanted = pipeline or DEFAULT_PIPELINE
        return [
            deal.view()
            for deal in sorted(self.pipeline_deals.values(), key=lambda d: int(d.id))
            if deal.contact_id == contact_id and deal.pipeline == wanted and not deal.closed
        ]

    def create_deal(self, spec: DealSpec) -> str:
        deal = _Deal(
            self._new_id(),
            spec.contact_id,
            spec.name,
            spec.pipeline or DEFAULT_PIPELINE,
            spec.owner_id,
            spec.idempotency_key,
        )
        self.pipeline_deals[deal.id] = deal
        return deal.id

    def usage(self) -> Usage:
        return Usage(daily_remaining=None, reset_at=None)


@dataclass
class FakeBackdoor:
    """Seeds the fake and inspects it the way the contract suite needs."""

    crm: FakeCrm

    def add_owner(self, email: str, first: str, last: str) -> str:
        owner = Owner(id=self.crm._new_id(), email=email, name=f"{first} {last}", active=True)
        self.crm.owner_list.append(owner)
        return owner.id

    def add_contact(self, email: str, properties: dict[str, str]) -> str:
        result = self.crm.create_contacts([WriteItem(email=email, properties=properties)])[0]
        return result.remote_id or ""

    def add_closed_deal(self, *, won: bool, amount: float, contact_id: str) -> str:
        at = self.crm._tick()
        deal = ClosedDeal(self.crm._new_id(), won, amount, at, (contact_id,), at)
        self.crm.deals.append(deal)
        return deal.id

    def tasks_of(self, contact_id: str) -> list[str]:
        return [task_id for task_id, (c, _) in self.crm.tasks.items() if c == contact_id]

    def deal_count(self) -> int:
        return len(self.crm.pipeline_deals)

    def add_open_deal(self, contact_id: str, name: str) -> str:
        deal = _Deal(self.crm._new_id(), contact_id, name, DEFAULT_PIPELINE, None, None)
        self.crm.pipeline_deals[deal.id] = deal
        return deal.id

    def close_deal(self, deal_id: str, *, won: bool) -> None:
        self.crm.pipeline_deals[deal_id].closed = True

    def standard_values(self, contact_id: str) -> dict[str, str]:
        props = self.crm.contacts[contact_id].props
        return {k: v for k, v in props.items() if k in STANDARD_FIELDS and v}

    def deals_of_task(self, task_id: str) -> list[str]:
        deal_id = self.crm.tasks[task_id][1].deal_id
        return [deal_id] if deal_id else []

    def lag_search(self) -> None:
        """The fake has no search index: every read is consistent already."""
