"""The emulated HubSpot account: records, associations, owners, property schema and pipelines.

Owns every mutation of the account and the rules the API enforces on writes (known, writable
properties; unique e-mails and unique-value properties; deal stages that belong to the pipeline;
the creation/modification stamps taken from the emulator clock; a contact's lifecycle stage only
moves forward unless it is cleared first, crm-apis.md §1.4). Raises :class:`ApiError` for a
refused write. Knows nothing about HTTP paths, paging or rate limits.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from scorebridge.sandbox.hubspot import errors
from scorebridge.sandbox.hubspot.schema import (
    CREATED_PROPERTY,
    LIFECYCLE_STAGES,
    MODIFIED_PROPERTY,
    PropertyDef,
    default_groups,
    default_pipeline,
    default_properties,
)
from scorebridge.sandbox.hubspot.values import iso_ms

Properties = dict[str, str | None]

#: (from type, to type) -> (HUBSPOT_DEFINED association type id, v3 type name).
ASSOCIATION_TYPES: dict[tuple[str, str], tuple[int, str]] = {
    ("contacts", "deals"): (4, "contact_to_deal"),
    ("deals", "contacts"): (3, "deal_to_contact"),
    ("contacts", "tasks"): (203, "contact_to_task"),
    ("tasks", "contacts"): (204, "task_to_contact"),
    ("deals", "tasks"): (215, "deal_to_task"),
    ("tasks", "deals"): (216, "task_to_deal"),
}
#: Where each object type's ids start (HubSpot ids are per type, numeric strings).
FIRST_ID = {"contacts": 101, "deals": 7001, "tasks": 90001}
SINGULAR = {"contacts": "contact", "deals": "deal", "tasks": "task"}


@dataclass
class Record:
    """One CRM object. ``snapshots`` holds (written at, properties) while search lags."""

    id: str
    kind: str
    properties: Properties
    created_at: datetime
    updated_at: datetime
    archived: bool = False
    archived_at: datetime | None = None
    snapshots: list[tuple[datetime, Properties]] = field(default_factory=list)

    def to_json(self, names: Iterable[str], known: Callable[[str], bool]) -> dict[str, Any]:
        """``SimplePublicObject`` with the named properties (unknown names are left out)."""
        body: dict[str, Any] = {
            "id": self.id,
            "properties": {n: self.properties.get(n) for n in names if known(n)},
            "createdAt": iso_ms(self.created_at),
            "updatedAt": iso_ms(self.updated_at),
            "archived": self.archived,
        }
        if self.archived_at is not None:
            body["archivedAt"] = iso_ms(self.archived_at)
        return body


@dataclass
class Owner:
    """A ``PublicOwner``."""

    id: str
    user_id: int
    email: str
    first_name: str
    last_name: str
    created_at: datetime
    archived: bool = False

    def to_json(self) -> dict[str, Any]:
        """The owner as ``GET /crm/v3/owners`` lists it."""
        return {
            "id": self.id,
            "email": self.email,
            "firstName": self.first_name,
            "lastName": self.last_name,
            "userId": self.user_id,
            "type": "PERSON",
            "teams": [],
            "createdAt": iso_ms(self.created_at),
            "updatedAt": iso_ms(self.created_at),
            "archived": self.archived,
        }


class AccountState:
    """Everything one emulated portal holds."""

    def __init__(self, now: Callable[[], datetime]) -> None:
        self.now = now
        self.records: dict[str, dict[str, Record]] = {kind: {} for kind in FIRST_ID}
        self.next_id = dict(FIRST_ID)
        # (kind, id) -> other kind -> other id -> association type ids seen from (kind, id)
        self.links: dict[tuple[str, str], dict[str, dict[str, list[int]]]] = {}
        self.owners: list[Owner] = []
        self.properties = default_properties()
        self.groups = default_groups()
        self.pipelines = [default_pipeline()]
        self.unique: dict[tuple[str, str], dict[str, str]] = {}
        self.search_lag_ms = 0
        self.revision = 0  # bumped on every write; search caches key on it
        self.search_cache: dict[str, tuple[Any, list[str]]] = {}  # kind -> (query key, ids)
        self._index_unique("contacts", "email")

    # -- schema -------------------------------------------------------------------------------

    def prop(self, kind: str, name: str) -> PropertyDef | None:
        """A live (not archived) property definition."""
        definition = self.properties[kind].get(name)
        return definition if definition and not definition.archived else None

    def known(self, kind: str) -> Callable[[str], bool]:
        """A predicate: is ``name`` a live property of ``kind``."""
        return lambda name: self.prop(kind, name) is not None

    def add_property(self, kind: str, definition: PropertyDef) -> None:
        """Register a created property (the caller has validated it)."""
        self.properties[kind][definition.name] = definition
        if definition.has_unique_value:
            self._index_unique(kind, definition.name)
        self.revision += 1

    def stage(self, pipeline_id: str, stage_id: str) -> dict[str, Any] | None:
        """A stage of a deal pipeline."""
        for pipeline in self.pipelines:
            if pipeline["id"] == pipeline_id:
                return next((s for s in pipeline["stages"] if s["id"] == stage_id), None)
        return None

    # -- records ------------------------------------------------------------------------------

    def get(self, kind: str, key: str, id_property: str | None = None) -> Record | None:
        """A live record by id, or by a unique property's value."""
        if id_property in (None, "", "hs_object_id"):
            record = self.records[kind].get(key)
        else:
            index = self.unique.get((kind, str(id_property)))
            if index is None:
                raise errors.validation(f"Property {id_property} is not a unique identifier")
            found = index.get(key.strip().lower() if id_property == "email" else key)
            record = self.records[kind].get(found) if found else None
        return record if record and not record.archived else None

    def create(
        self, kind: str, values: dict[str, Any], at: datetime | None = None, check: bool = True
    ) -> Record:
        """Create a record from written values; ``at`` back-dates it (seeding)."""
        props = self.validate(kind, values) if check else {k: v for k, v in values.items()}
        self.check_unique(kind, props, None)
        if kind == "tasks" and not props.get("hs_timestamp"):
            raise errors.invalid_properties(
                [
                    {
                        "name": "hs_timestamp",
                        "error": "REQUIRED",
                        "message": "hs_timestamp is required",
                    }
                ]
            )
        at = at or self.now()
        record_id = str(self.next_id[kind])
        self.next_id[kind] += 1
        props = {k: v for k, v in props.items() if v is not None}
        props["hs_object_id"] = record_id
        props.setdefault(CREATED_PROPERTY[kind], iso_ms(at))
        props[MODIFIED_PROPERTY[kind]] = iso_ms(at)
        if kind == "deals":
            self._derive_deal(props)
        record = Record(record_id, kind, props, at, at)
        self.records[kind][record_id] = record
        self._after_write(record, {}, at)
        return record

    def update(self, record: Record, values: dict[str, Any], at: datetime | None = None) -> None:
        """Apply written values to a record and stamp the modification time."""
        props = self.validate(record.kind, values)
        self.check_unique(record.kind, props, record.id)
        if record.kind == "contacts" and _moves_back(record.properties, props):
            del props["lifecyclestage"]  # HubSpot ignores it: clear the stage first, then set it
        at = at or self.now()
        before = dict(record.properties)
        record.properties.update(props)
        if record.kind == "deals":
            self._derive_deal(record.properties)
        record.properties[MODIFIED_PROPERTY[record.kind]] = iso_ms(at)
        record.updated_at = at
        self._after_write(record, before, at)

    def archive(self, record: Record) -> None:
        """Archive (soft-delete) a record; its unique values become free."""
        at = self.now()
        before = dict(record.properties)
        record.archived, record.archived_at, record.updated_at = True, at, at
        self._after_write(record, before, at)

    def validate(self, kind: str, values: Any) -> Properties:
        """Check written values against the schema; the normalised values or a 400."""
        if not isinstance(values, dict):
            raise errors.validation("properties must be an object")
        owner_ids = {o.id for o in self.owners if not o.archived}
        out: Properties = {}
        problems: list[dict[str, str]] = []
        for name, raw in values.items():
            definition = self.prop(kind, name)
            if definition is None:
                message = f'Property "{name}" does not exist'
                problems.append(
                    {"name": name, "error": "PROPERTY_DOESNT_EXIST", "message": message}
                )
                continue
            if definition.name in ("pipeline", "dealstage"):
                out[name] = None if raw in (None, "") else str(raw)
                continue
            value, problem = definition.normalise(raw, owner_ids)
            if problem:
                problems.append(problem)
            else:
                out[name] = value
        if kind == "deals":
            problems += self._stage_problems(out)
        if problems:
            raise errors.invalid_properties(problems)
        return out

    def check_unique(self, kind: str, props: Properties, own_id: str | None) -> None:
        """Refuse written values another live record holds in a unique property: a contact's
        e-mail is HubSpot's 409 "Contact already exists. Existing ID: N" (create and update
        alike); any other ``hasUniqueValue`` property a 409 ``CONFLICT`` naming the holder."""
        for (index_kind, name), index in self.unique.items():
            if index_kind != kind or not props.get(name):
                continue
            holder = index.get(str(props[name]))
            if not holder or holder == own_id:
                continue
            if name == "email":
                raise errors.contact_exists(holder)
            raise errors.conflict(
                f"A {SINGULAR[kind]} with {name} {props[name]} already exists: {holder}"
            )

    # -- associations -------------------------------------------------------------------------

    def associate(self, kind: str, record_id: str, to_kind: str, to_id: str) -> int:
        """Link two records (both directions); the association type id seen from ``kind``."""
        pair = ASSOCIATION_TYPES.get((kind, to_kind))
        if pair is None:
            raise errors.validation(f"No default association between {kind} and {to_kind}")
        if self.get(kind, record_id) is None or self.get(to_kind, to_id) is None:
            missing = record_id if self.get(kind, record_id) is None else to_id
            raise errors.not_found(f"No {SINGULAR.get(to_kind, to_kind)} with ID {missing}")
        reverse = ASSOCIATION_TYPES[(to_kind, kind)][0]
        for (a_kind, a_id), (b_kind, b_id), type_id in (
            ((kind, record_id), (to_kind, to_id), pair[0]),
            ((to_kind, to_id), (kind, record_id), reverse),
        ):
            types = self.links.setdefault((a_kind, a_id), {}).setdefault(b_kind, {})
            bucket = types.setdefault(b_id, [])
            if type_id not in bucket:
                bucket.append(type_id)
        self.revision += 1
        return pair[0]

    def dissociate(self, kind: str, record_id: str, to_kind: str, to_id: str) -> None:
        """Remove every association between two records (both directions)."""
        self.links.get((kind, record_id), {}).get(to_kind, {}).pop(to_id, None)
        self.links.get((to_kind, to_id), {}).get(kind, {}).pop(record_id, None)
        self.revision += 1

    def associated(self, kind: str, record_id: str, to_kind: str) -> dict[str, list[int]]:
        """Live records of ``to_kind`` linked to a record -> their type ids, in id order."""
        linked = self.links.get((kind, record_id), {}).get(to_kind, {})
        live = {k: v for k, v in linked.items() if self.get(to_kind, k) is not None}
        return dict(sorted(live.items(), key=lambda item: int(item[0])))

    # -- internals ----------------------------------------------------------------------------

    def _index_unique(self, kind: str, name: str) -> None:
        index = self.unique.setdefault((kind, name), {})
        for record in self.records[kind].values():
            value = record.properties.get(name)
            if value and not record.archived:
                index[value] = record.id

    def _after_write(self, record: Record, before: Properties, at: datetime) -> None:
        for (kind, name), index in self.unique.items():
            if kind != record.kind:
                continue
            old, new = before.get(name), record.properties.get(name)
            if old and index.get(old) == record.id:
                del index[old]
            if new and not record.archived:
                index[new] = record.id
        if self.search_lag_ms:
            record.snapshots.append((at, dict(record.properties)))
        self.revision += 1

    def _derive_deal(self, props: Properties) -> None:
        if props.get("dealstage") and not props.get("pipeline"):
            props["pipeline"] = "default"
        stage = self.stage(str(props.get("pipeline")), str(props.get("dealstage")))
        if stage is None:
            return
        closed = stage["metadata"]["isClosed"] == "true"
        props["hs_is_closed"] = "true" if closed else "false"
        won = closed and float(stage["metadata"]["probability"]) >= 1.0
        props["hs_is_closed_won"] = "true" if won else "false"

    def _stage_problems(self, props: Properties) -> list[dict[str, str]]:
        pipeline_id, stage_id = props.get("pipeline"), props.get("dealstage")
        if pipeline_id and not any(p["id"] == pipeline_id for p in self.pipelines):
            message = f"{pipeline_id} is not a valid pipeline"
            return [{"name": "pipeline", "error": "INVALID_OPTION", "message": message}]
        if stage_id and self.stage(pipeline_id or "default", stage_id) is None:
            message = f"{stage_id} is not a valid dealstage of pipeline {pipeline_id or 'default'}"
            return [{"name": "dealstage", "error": "INVALID_OPTION", "message": message}]
        return []


def _moves_back(current: Properties, written: Properties) -> bool:
    """Whether a write sets ``lifecyclestage`` to an earlier stage than the one it holds."""
    old, new = current.get("lifecyclestage"), written.get("lifecyclestage")
    if not old or not new or old not in LIFECYCLE_STAGES or new not in LIFECYCLE_STAGES:
        return False
    return LIFECYCLE_STAGES.index(new) < LIFECYCLE_STAGES.index(old)
