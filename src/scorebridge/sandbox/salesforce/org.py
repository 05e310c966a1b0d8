"""The emulated Salesforce org: records of every object, the running (integration) user, the
custom fields created through the Tooling API and who may see them.

Owns storage (records are dicts keyed by field API name; times are aware datetimes in whole
seconds; deleted records stay, with ``IsDeleted``, for ``queryAll`` and ``/deleted``), id
allocation, the audit stamps (``CreatedDate``, ``LastModifiedDate``, ``SystemModstamp``, the
``...ById`` fields, ``OwnerId`` defaulting to the running user), derived fields (``Name``,
Opportunity ``IsClosed``/``IsWon``/``Probability`` from the stage, Task ``IsClosed``/
``IsHighPriority``), write rules (:mod:`.writes`) and field-level security: a custom field is
readable/editable only through a ``FieldPermissions`` row on a permission set of the running user
(its profile's or an assigned one). Knows nothing about HTTP.
"""

from __future__ import annotations

import copy
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from scorebridge.sandbox.salesforce import errors, ids
from scorebridge.sandbox.salesforce.schema import FieldSpec, ObjectSpec
from scorebridge.sandbox.salesforce.standard import STAGES, standard_objects
from scorebridge.sandbox.salesforce.writes import clean

Record = dict[str, Any]
PERMISSION_OBJECTS = ("PermissionSet", "PermissionSetAssignment", "FieldPermissions")


@dataclass
class OrgSettings:
    """Org behaviour; ``POST /_sandbox/settings`` merges into these."""

    field_access_on_create: bool = False  # grant FLS to the running user's profile on create
    can_customize: bool = True  # "Customize Application": Tooling CustomField create
    can_manage_permissions: bool = True  # write PermissionSet(Assignment), FieldPermissions


@dataclass
class Org:
    """Everything one emulated org holds."""

    now_exact: Callable[[], datetime]
    settings: OrgSettings = field(default_factory=OrgSettings)
    id: str = field(default_factory=lambda: ids.random_id("00D"))
    objects: dict[str, ObjectSpec] = field(default_factory=standard_objects)
    records: dict[str, dict[str, Record]] = field(default_factory=dict)
    deleted_at: dict[str, datetime] = field(default_factory=dict)
    custom_fields: list[Record] = field(default_factory=list)  # Tooling CustomField rows
    running_user: str = ""
    counter: int = 0
    _lower: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self.records = {name: {} for name in self.objects}
        self._lower = {name.lower(): name for name in self.objects}

    def now(self) -> datetime:
        """The emulator clock in whole seconds."""
        return self.now_exact().replace(microsecond=0)

    # -- lookups ------------------------------------------------------------------------------

    def spec(self, name: str) -> ObjectSpec | None:
        """An object by case-insensitive name."""
        canonical = self._lower.get(name.lower())
        return self.objects[canonical] if canonical else None

    def find(self, record_id: str, deleted: bool = False) -> tuple[ObjectSpec, Record] | None:
        """A record by id (15 or 18 characters)."""
        full = ids.normalize(record_id)
        if full is None:
            return None
        for spec in self.objects.values():
            if spec.prefix == full[:3] and full in self.records[spec.name]:
                record = self.records[spec.name][full]
                if deleted or not record["IsDeleted"]:
                    return spec, record
        return None

    def rows(self, name: str, deleted: bool = False) -> Iterator[Record]:
        """The records of an object in creation order."""
        for record in self.records[name].values():
            if deleted or not record["IsDeleted"]:
                yield record

    def by_field(self, spec: ObjectSpec, field_spec: FieldSpec, value: Any) -> list[Record]:
        """Live records whose field equals ``value`` (text compared without case)."""
        wanted = value.lower() if isinstance(value, str) else value
        found = []
        for record in self.rows(spec.name):
            held = record.get(field_spec.name)
            if (held.lower() if isinstance(held, str) else held) == wanted and held is not None:
                found.append(record)
        return found

    # -- field-level security -----------------------------------------------------------------

    def access(self, spec: ObjectSpec, field_spec: FieldSpec) -> tuple[bool, bool]:
        """(readable, editable) for the running user: standard fields always, custom fields
        through FieldPermissions."""
        if not field_spec.custom:
            return True, True
        user = self.records["User"].get(self.running_user, {})
        sets = {
            ps["Id"]
            for ps in self.rows("PermissionSet")
            if ps["IsOwnedByProfile"] and ps["ProfileId"] == user.get("ProfileId")
        }
        sets |= {
            a["PermissionSetId"]
            for a in self.rows("PermissionSetAssignment")
            if a["AssigneeId"] == self.running_user
        }
        qualified = f"{spec.name}.{field_spec.name}".lower()
        read = edit = False
        for grant in self.rows("FieldPermissions"):
            if grant["ParentId"] in sets and grant["Field"].lower() == qualified:
                read, edit = read or grant["PermissionsRead"], edit or grant["PermissionsEdit"]
        return read, edit

    def visible(self, spec: ObjectSpec) -> list[FieldSpec]:
        """The fields of an object the running user can read."""
        return [f for f in spec.fields.values() if self.access(spec, f)[0]]

    def profile_permission_set(self) -> str:
        """The id of the permission set owned by the running user's profile."""
        profile = self.records["User"][self.running_user]["ProfileId"]
        return next(
            str(ps["Id"])
            for ps in self.rows("PermissionSet")
            if ps["IsOwnedByProfile"] and ps["ProfileId"] == profile
        )

    # -- writes -------------------------------------------------------------------------------

    def create(
        self, spec: ObjectSpec, body: dict[str, Any], at: datetime | None = None, check: bool = True
    ) -> Record:
        """Validate and store a new record; ``check=False`` (seeding) skips the rules."""
        if check and spec.name in PERMISSION_OBJECTS and not self.settings.can_manage_permissions:
            raise _insufficient()
        values = clean(self, spec, body, None) if check else dict(body)
        at = at or self.now()
        self.counter += 1
        record: Record = dict.fromkeys(spec.fields)
        record.update(
            Id=ids.make_id(spec.prefix, self.counter),
            IsDeleted=False,
            CreatedDate=at,
            CreatedById=self.running_user or None,
            LastModifiedDate=at,
            LastModifiedById=self.running_user or None,
            SystemModstamp=at,
        )
        for name, spec_field in spec.fields.items():
            if spec_field.defaulted and spec_field.default is not None:
                record[name] = spec_field.default
        if "OwnerId" in spec.fields:
            record["OwnerId"] = self.running_user or None
        if spec.name == "Lead":
            record["IsConverted"] = False
        record.update(values)
        _derive(spec.name, record, values)
        self.records[spec.name][record["Id"]] = record
        return record

    def update(
        self, spec: ObjectSpec, record: Record, body: dict[str, Any], at: datetime | None = None
    ) -> None:
        """Validate and apply changes to a record."""
        if spec.name in PERMISSION_OBJECTS and not self.settings.can_manage_permissions:
            raise _insufficient()
        if spec.name == "Lead" and record["IsConverted"]:
            raise errors.bad("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead")
        values = clean(self, spec, body, record)
        record.update(values)
        _derive(spec.name, record, values)
        self.touch(record, at)

    def touch(self, record: Record, at: datetime | None = None) -> None:
        """Stamp a modification."""
        at = at or self.now()
        record.update(
            LastModifiedDate=at, LastModifiedById=self.running_user or None, SystemModstamp=at
        )

    def delete(self, spec: ObjectSpec, record: Record) -> None:
        """Move a record to the recycle bin."""
        if spec.name in PERMISSION_OBJECTS and not self.settings.can_manage_permissions:
            raise _insufficient()
        record["IsDeleted"] = True
        self.touch(record)
        self.deleted_at[record["Id"]] = self.now()

    def savepoint(self) -> Any:
        """A copy of every record, for an all-or-none collection to roll back to."""
        return copy.deepcopy((self.records, self.deleted_at, self.counter))

    def rollback(self, point: Any) -> None:
        """Restore a savepoint."""
        self.records, self.deleted_at, self.counter = point


def _insufficient() -> errors.ApiError:
    return errors.bad("INSUFFICIENT_ACCESS_OR_READONLY", "insufficient access rights on object id")


def _derive(name: str, record: Record, written: dict[str, Any]) -> None:
    if "FirstName" in record and "LastName" in record:
        record["Name"] = " ".join(p for p in (record["FirstName"], record["LastName"]) if p)
    if name == "Opportunity" and record["StageName"] in STAGES:
        probability, closed, won = STAGES[record["StageName"]]
        record["IsClosed"], record["IsWon"] = closed, won
        if "StageName" in written and "Probability" not in written:
            record["Probability"] = probability
    if name == "Task":
        record["IsClosed"] = record["Status"] == "Completed"
        record["IsHighPriority"] = record["Priority"] == "High"
