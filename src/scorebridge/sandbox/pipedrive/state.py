"""The emulated Pipedrive company: users, organizations, persons, person fields, activities,
deals, pipelines and stages, and the person search index.

Owns storage (records are dicts in response key order; times are aware datetimes truncated to
whole seconds, as Pipedrive keeps them), id allocation, the creation/update stamps taken from
the emulator clock, and the search index: every person write adds a version that search only
sees once ``search_lag_ms`` has passed (real Pipedrive search is eventually consistent).
Knows nothing about HTTP, paging or limits.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

from scorebridge.sandbox.pipedrive.fields import FieldDef, standard_fields

Record = dict[str, Any]

#: Where each item type's ids start (kept apart so that a mixed-up id is noticed).
FIRST_ID = {"persons": 101, "organizations": 1001, "deals": 5001, "activities": 90001}
#: Activity types of a new company: (key_string, name, icon_key).
ACTIVITY_TYPES = (
    ("call", "Call", "call"),
    ("meeting", "Meeting", "meeting"),
    ("task", "Task", "task"),
    ("deadline", "Deadline", "deadline"),
    ("email", "Email", "email"),
    ("lunch", "Lunch", "lunch"),
)
#: The default pipeline's stages: (name, deal_probability).
DEFAULT_STAGES = (
    ("Qualified", 10),
    ("Contact Made", 20),
    ("Demo Scheduled", 40),
    ("Proposal Made", 60),
    ("Negotiations Started", 80),
)


@dataclass(frozen=True)
class SearchDoc:
    """What the search index holds about a person at one time."""

    id: int
    name: str
    emails: tuple[str, ...]
    phones: tuple[str, ...]
    custom: tuple[str, ...]
    notes: tuple[str, ...]
    owner_id: int
    org_id: int | None
    visible_to: int


@dataclass
class Company:
    """Everything one emulated company holds."""

    now_exact: Callable[[], datetime]
    id: int = 13_370_001
    name: str = "Nordlicht Analytics"
    domain: str = "nordlicht-sandbox"
    currency: str = "EUR"
    search_lag_ms: int = 0
    contact_sync: bool = False  # Contact Sync adds job_title, postal_address, notes, im, birthday
    users: dict[int, Record] = field(default_factory=dict)
    records: dict[str, dict[int, Record]] = field(
        default_factory=lambda: {kind: {} for kind in FIRST_ID}
    )
    next_id: dict[str, int] = field(default_factory=lambda: dict(FIRST_ID))
    person_fields: list[FieldDef] = field(default_factory=standard_fields)
    pipelines: list[Record] = field(default_factory=list)
    stages: list[Record] = field(default_factory=list)
    activity_types: list[Record] = field(default_factory=list)
    index: dict[int, list[tuple[datetime, SearchDoc | None]]] = field(default_factory=dict)
    next_option: int = 1

    def __post_init__(self) -> None:
        created = self.now()
        for order, (key, name, icon) in enumerate(ACTIVITY_TYPES, start=1):
            self.activity_types.append(
                {
                    "id": order,
                    "order_nr": order,
                    "name": name,
                    "key_string": key,
                    "icon_key": icon,
                    "active_flag": True,
                    "color": None,
                    "is_custom_flag": False,
                    "add_time": created,
                    "update_time": created,
                }
            )
        self.pipelines.append(
            {
                "id": 1,
                "name": "Pipeline",
                "order_nr": 1,
                "is_deleted": False,
                "is_deal_probability_enabled": True,
                "add_time": created,
                "update_time": created,
            }
        )
        for order, (name, probability) in enumerate(DEFAULT_STAGES, start=1):
            self.stages.append(
                {
                    "id": order,
                    "order_nr": order,
                    "name": name,
                    "is_deleted": False,
                    "deal_probability": probability,
                    "pipeline_id": 1,
                    "is_deal_rot_enabled": False,
                    "days_to_rotten": None,
                    "add_time": created,
                    "update_time": created,
                }
            )

    def now(self) -> datetime:
        """The emulator clock in whole seconds."""
        return self.now_exact().replace(microsecond=0)

    # -- items --------------------------------------------------------------------------------

    def get(self, kind: str, item_id: int, deleted: bool = False) -> Record | None:
        """An item by id (``deleted`` also finds deleted ones)."""
        record = self.records[kind].get(item_id)
        if record is None or (record.get("is_deleted") and not deleted):
            return None
        return record

    def add(self, kind: str, record: Record, at: datetime | None = None) -> Record:
        """Store a new item (``record`` has every key but ``id`` and the stamps)."""
        at = at or self.now()
        item_id = self.next_id[kind]
        self.next_id[kind] += 1
        stored = {"id": item_id, **record}
        stored["add_time"] = stored.get("add_time") or at
        stored["update_time"] = stored.get("update_time") or at
        self.records[kind][item_id] = stored
        self._after_write(kind, stored, at)
        return stored

    def change(
        self, kind: str, record: Record, changes: Record, at: datetime | None = None
    ) -> None:
        """Apply validated changes to an item and stamp its update time."""
        at = at or self.now()
        record.update(changes)
        record["update_time"] = max(at, record["update_time"])
        self._after_write(kind, record, at)

    def exists(self, kind: str, item_id: int) -> bool:
        """Whether a live user (``user``), organization (``org``) or person (``people``)
        has this id."""
        if kind == "user":
            return item_id in self.users and bool(self.users[item_id]["active_flag"])
        table = {"org": "organizations", "people": "persons"}.get(kind, kind)
        return self.get(table, item_id) is not None

    def stage(self, stage_id: int) -> Record | None:
        """A live stage."""
        return next((s for s in self.stages if s["id"] == stage_id and not s["is_deleted"]), None)

    # -- person fields ------------------------------------------------------------------------

    def person_field(self, code: str) -> FieldDef | None:
        """A person field by its code."""
        return next((f for f in self.person_fields if f.code == code), None)

    def custom_person_fields(self) -> list[FieldDef]:
        """The custom person fields, in creation order."""
        return [f for f in self.person_fields if f.custom]

    def option_id(self) -> int:
        """A fresh option id."""
        self.next_option += 1
        return self.next_option - 1

    # -- search index -------------------------------------------------------------------------

    def searchable(self, now: datetime) -> list[SearchDoc]:
        """The person documents search sees at ``now`` (each item's newest indexed version)."""
        cutoff = now - timedelta(milliseconds=self.search_lag_ms)
        found = []
        for versions in self.index.values():
            visible = [doc for at, doc in versions if at <= cutoff]
            if len(visible) > 1:  # older versions can never be seen again
                del versions[: len(visible) - 1]
            if visible and visible[-1] is not None:
                found.append(visible[-1])
        return sorted(found, key=lambda doc: doc.id)

    def _after_write(self, kind: str, record: Record, at: datetime) -> None:
        if kind == "persons":
            doc = None if record["is_deleted"] else self._search_doc(record)
            indexed = at if at < self.now() else self.now_exact()  # back-dated: seeded history
            self.index.setdefault(record["id"], []).append((indexed, doc))

    def _search_doc(self, person: Record) -> SearchDoc:
        custom = []
        for definition in self.custom_person_fields():
            text = definition.searchable_text(person["custom_fields"].get(definition.code))
            if text:
                custom.append(text)
        return SearchDoc(
            id=person["id"],
            name=person["name"],
            emails=tuple(e["value"] for e in person["emails"]),
            phones=tuple(p["value"] for p in person["phones"]),
            custom=tuple(custom),
            notes=(person["notes"],) if person.get("notes") else (),
            owner_id=person["owner_id"],
            org_id=person["org_id"],
            visible_to=person["visible_to"],
        )
