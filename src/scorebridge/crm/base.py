"""The vendor-neutral CRM interface: the dataclasses the core sees and the :class:`CrmAdapter`.

Owns: the shape of everything that crosses the adapter boundary (contacts, owners, closed deals,
task and deal specs, write items, capabilities, usage) and the Protocol every CRM adapter
implements. The contract suite in ``tests/contract`` runs unchanged against every adapter.
Must not: know any vendor, send requests, or read the clock.

Conventions shared by every adapter:

* Field names are *logical*: the names of :class:`FieldSpec` (the custom fields scorebridge owns)
  plus the standard names in :data:`STANDARD_FIELDS`, which every adapter maps to its CRM's own
  field on writes; any other name is the CRM's own field name. On reads
  (:attr:`CrmContact.properties`) only :data:`LOGICAL_ON_READ` come back under their logical
  name; every other property keeps the CRM's own name (``jobtitle``, ``company``), because fit
  rules and ``[crm] read_properties`` address CRM fields by that name (``crm.jobtitle``).
  Values written are ``str | int | float | bool | None`` (``None`` clears the field).
* Datetimes are aware UTC. Cursors are the CRM's own high-water timestamps: a page's ``cursor`` is
  the greatest ``updated_at`` delivered so far; resuming with ``since=cursor`` re-reads the ties,
  so callers dedupe by id (they do anyway: overlap windows).
* Batch writes take any number of items and chunk them by ``capabilities.max_batch``; their
  :class:`~scorebridge.errors.ItemResult` list has one entry per input, ``index`` = input position.
  Per-item failures are results; whole-call failures raise
  :class:`~scorebridge.crm.errors.CrmError`.
* **Existence checks read consistent data only.** Every ``find_*`` method and
  :meth:`CrmAdapter.open_deals` must see a record the moment the call that created or changed it
  has returned: read it by id, by a unique-value key, or through the contact's associations or
  links — never through a search index (HubSpot's search, Salesforce SOSL, Pipedrive's
  ``/search``), which shows writes seconds later, exactly the window of a crash between
  "created" and "recorded". The contract suite runs the HubSpot emulator with its search lag on
  to hold adapters to it.
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Generic, Literal, Protocol, TypeVar, runtime_checkable

from scorebridge.errors import ItemResult

__all__ = [
    "STANDARD_FIELDS",
    "Capabilities",
    "ClosedDeal",
    "CrmAdapter",
    "CrmContact",
    "DealSpec",
    "FieldSpec",
    "FieldType",
    "FieldValue",
    "ItemResult",
    "LOGICAL_ON_READ",
    "OpenDeal",
    "Owner",
    "Page",
    "Priority",
    "TaskSpec",
    "Usage",
    "WriteItem",
]

FieldValue = str | int | float | bool | None
FieldType = Literal["number", "string", "enumeration"]
Priority = Literal["low", "medium", "high"]

#: Logical names of the standard contact fields every adapter maps to its CRM's own field when
#: writing (``crm.create`` / ``crm.update`` payloads use these names). The identity fields
#: (``company``, ``job_title``, ``phone``, ``country``) are copied from Mautic on create; an
#: ``email`` in an update is an e-mail change (see :meth:`CrmAdapter.update_contacts`).
STANDARD_FIELDS: tuple[str, ...] = (
    "email",
    "first_name",
    "last_name",
    "company",
    "job_title",
    "phone",
    "country",
    "lifecycle",
    "lead_status",
    "owner_id",
)
#: The standard fields a read reports under their logical name in
#: :attr:`CrmContact.properties` (``email``, ``owner_id`` and ``lifecycle`` have attributes of
#: their own); every other property is reported under the CRM's own name.
LOGICAL_ON_READ: tuple[str, ...] = ("first_name", "last_name", "lead_status")

T = TypeVar("T")


@dataclass(frozen=True)
class CrmContact:
    """A CRM contact/person/lead as the core sees it.

    ``properties`` holds string values: :data:`LOGICAL_ON_READ` by logical name, the scorebridge
    fields by their :class:`FieldSpec` name, and any extra CRM fields the adapter was asked to
    read by the CRM's own name; empty values are left out.
    """

    id: str
    email: str | None
    properties: Mapping[str, str]
    owner_id: str | None
    lifecycle: str | None
    updated_at: datetime


@dataclass(frozen=True)
class Owner:
    """A sales rep records can be assigned to."""

    id: str
    email: str | None
    name: str
    active: bool


@dataclass(frozen=True)
class ClosedDeal:
    """A won or lost deal with the contacts it is associated with (backtesting material)."""

    id: str
    won: bool
    amount: float | None
    closed_at: datetime | None
    contact_ids: tuple[str, ...]
    updated_at: datetime


@dataclass(frozen=True)
class TaskSpec:
    """A follow-up task for a sales rep, created at most once per ``idempotency_key``.

    The task is linked to ``contact_id`` and, when ``deal_id`` is set, to that deal as well (a
    lead that turned hot again while its deal is open gets a task on the deal).
    """

    idempotency_key: str
    subject: str
    body: str
    due_at: datetime
    owner_id: str | None
    priority: Priority
    contact_id: str
    deal_id: str | None = None


@dataclass(frozen=True)
class DealSpec:
    """A deal opened for a contact, created at most once per ``idempotency_key``.

    ``pipeline`` and ``stage`` are the CRM's ids; ``None`` means the CRM's default pipeline and
    its first stage.
    """

    idempotency_key: str
    name: str
    pipeline: str | None
    stage: str | None
    amount: float | None
    owner_id: str | None
    contact_id: str


@dataclass(frozen=True)
class OpenDeal:
    """A deal of a contact that its pipeline does not call closed (neither won nor lost).

    ``idempotency_key`` is the key scorebridge created it under (``None`` for a deal a rep
    created); ``pipeline`` and ``stage`` are the CRM's ids.
    """

    id: str
    name: str
    pipeline: str
    stage: str | None
    owner_id: str | None
    idempotency_key: str | None


@dataclass(frozen=True)
class FieldSpec:
    """A custom contact field scorebridge owns (created by ``ensure_schema`` when missing)."""

    name: str
    label: str
    type: FieldType
    options: tuple[str, ...] = ()


@dataclass(frozen=True)
class WriteItem:
    """One contact write: ``crm_id`` for updates, ``email`` for creates (upsert by email)."""

    properties: Mapping[str, FieldValue]
    crm_id: str | None = None
    email: str | None = None


@dataclass(frozen=True)
class Capabilities:
    """What the core may rely on when planning and pacing calls to this CRM."""

    max_batch: int
    supports_upsert: bool
    search_page_size: int
    #: how tasks/deals stay unique: "native" (keyed upsert), "lookup" (found again by the key
    #: before each create, as :meth:`CrmAdapter.find_open_task` does), "none"
    task_idempotency: Literal["native", "lookup", "none"] = "lookup"
    #: requests a new task usually costs (its lookup and the create; projections use it)
    task_requests: int = 2
    #: requests a new deal usually costs (its lookup, the contact's open deals, the create)
    deal_requests: int = 3


@dataclass(frozen=True)
class Usage:
    """The last seen quota figures (``None`` when the CRM did not say)."""

    daily_remaining: int | None
    reset_at: datetime | None


@dataclass(frozen=True)
class Page(Generic[T]):
    """One page of a changed-since read and the cursor to persist with it."""

    items: tuple[T, ...]
    cursor: datetime


@runtime_checkable
class CrmAdapter(Protocol):
    """What the core needs from a CRM. Every method may raise :class:`CrmError`."""

    name: str

    @property
    def capabilities(self) -> Capabilities:
        """Static limits and features of this CRM."""
        ...

    def ensure_schema(self, fields: Sequence[FieldSpec]) -> list[str]:
        """Create the missing custom fields (and whatever the adapter itself needs, such as a
        deal key field); return the names of the fields created. Idempotent."""
        ...

    def owners(self) -> list[Owner]:
        """The owners work can be assigned to (an owner id not in the list is inactive)."""
        ...

    def contacts_changed_since(self, since: datetime | None) -> Iterator[Page[CrmContact]]:
        """Contacts modified at or after ``since`` (all when ``None``), oldest first, in pages."""
        ...

    def closed_deals_since(self, since: datetime | None) -> Iterator[Page[ClosedDeal]]:
        """Closed (won or lost) deals modified at or after ``since``, oldest first, in pages."""
        ...

    def find_by_email(self, emails: Sequence[str]) -> dict[str, CrmContact]:
        """The contacts whose email is one of ``emails``, keyed by lower-cased email."""
        ...

    def create_contacts(self, items: Sequence[WriteItem]) -> list[ItemResult]:
        """Create (or, when the email exists, update) contacts keyed by ``email``.

        ``remote_id`` of a successful result is the contact's id (the existing one when the
        email was already taken).
        """
        ...

    def update_contacts(self, items: Sequence[WriteItem]) -> list[ItemResult]:
        """Update contacts by ``crm_id``; one result per item.

        An unknown ``crm_id`` is a per-item failure with ``status=404``. An ``email`` among the
        properties changes the contact's e-mail; when that e-mail already belongs to *another*
        contact the item fails on its own — ``ok=False``, ``retryable=False``, ``status=409``,
        ``message="e-mail x@y already belongs to CRM contact 123"`` — and neither contact is
        changed (no merge, no retry: the operator resolves it from the dead-letter store). The
        other items of the call are written.
        """
        ...

    def find_open_task(self, idempotency_key: str, contact_id: str) -> str | None:
        """The id of the task created earlier for ``idempotency_key`` on this contact, if any.

        Whatever its status: a task the rep already completed still counts. Consistent (see the
        module docstring): a task whose :meth:`create_task` returned must be found by the very
        next call, so read the contact's tasks (associations, ``person_id`` filter, a
        ``WhatId``/``WhoId`` query on the object itself) or a unique key — not a search index.
        """
        ...

    def create_task(self, spec: TaskSpec) -> str:
        """Create the task linked to ``spec.contact_id`` (and ``spec.deal_id`` when set), with
        ``spec.idempotency_key`` stored on it where :meth:`find_open_task` finds it; return its
        id.

        Not idempotent by itself: call :meth:`find_open_task` first (and after any ambiguous
        failure). The links are made by the same request that creates the task (HubSpot's
        inline associations, Pipedrive's ``person_id``/``deal_id``, Salesforce's
        ``WhoId``/``WhatId``), so a task found again never lacks one.
        """
        ...

    def find_deal(self, idempotency_key: str, contact_id: str) -> str | None:
        """The id of the deal created earlier for ``idempotency_key`` for this contact, if any
        (open or closed).

        Consistent (see the module docstring): a deal whose :meth:`create_deal` returned must be
        found by the very next call — read it by a unique-value key property, or through
        ``contact_id``'s deals, never through a search index.
        """
        ...

    def open_deals(self, contact_id: str, pipeline: str | None) -> list[OpenDeal]:
        """The contact's deals in ``pipeline`` (``None``: the CRM's default pipeline) whose stage
        the pipeline does not call closed — won and lost deals are not open — oldest first.

        Deals a rep created count as well as scorebridge's own (``idempotency_key`` tells them
        apart). Consistent: read through the contact's associations or links, so a deal that
        :meth:`create_deal` just returned is counted, and one a rep just closed is left out.
        """
        ...

    def create_deal(self, spec: DealSpec) -> str:
        """Create the deal linked to ``spec.contact_id`` with ``spec.idempotency_key`` stored on
        it where :meth:`find_deal` finds it; return its id.

        Not idempotent by itself: call :meth:`find_deal` first. Where the CRM enforces a unique
        key (HubSpot ``hasUniqueValue``), a second create for the same key answers the id of the
        deal that holds it instead of failing or creating a duplicate.
        """
        ...

    def usage(self) -> Usage:
        """The last seen quota figures (no request is sent)."""
        ...
