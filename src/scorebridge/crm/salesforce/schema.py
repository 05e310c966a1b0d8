"""scorebridge's Salesforce custom fields (crm-apis.md §3.4): checked, created, made visible.

Owns: which fields scorebridge needs (each :class:`FieldSpec` and ``scorebridge_lifecycle__c``
on Lead and Contact, ``scorebridge_key__c`` — External ID, unique — on Opportunity), which of
them the running user can see (the objects' ``describe``: a field without field-level security
is not listed), creating the missing ones through the Tooling API (``POST
/tooling/sobjects/CustomField``; needs "Customize Application") and granting read/edit on them
to the running user's profile (``FieldPermissions`` rows on the profile's permission set; needs
"Manage Profiles and Permission Sets"). When the user may not, the error names every field to
create by hand.
Must not: write records.
"""

from __future__ import annotations

import logging
from collections.abc import Sequence
from typing import Any

from scorebridge.crm.base import FieldSpec
from scorebridge.crm.errors import CrmError, crm_error
from scorebridge.crm.salesforce import mapping as m
from scorebridge.crm.salesforce.auth import SYSTEM
from scorebridge.crm.salesforce.transport import (
    RETRYABLE_CODES,
    SalesforceTransport,
    error_codes,
    soql_quote,
)

log = logging.getLogger(__name__)

PERSON_OBJECTS = (m.LEAD, m.CONTACT)
LIFECYCLE = FieldSpec(m.LIFECYCLE_FIELD[: -len(m.CUSTOM_SUFFIX)], "scorebridge lifecycle", "string")
DEAL_KEY = FieldSpec(m.KEY_FIELD[: -len(m.CUSTOM_SUFFIX)], "scorebridge key", "string")
TEXT_LENGTH = 255
GRANT_ROUNDS = 3  # rows refused for lock contention are sent again, this often at most


def custom_field_body(object_name: str, spec: FieldSpec, *, key: bool = False) -> dict[str, Any]:
    """A Tooling API ``CustomField`` (Number 18,0; Text 255; Picklist of the options)."""
    metadata: dict[str, Any] = {"label": spec.label, "description": "Written by scorebridge"}
    if spec.type == "number":
        metadata |= {"type": "Number", "precision": 18, "scale": 0}
    elif spec.type == "enumeration":
        values = [{"fullName": o, "label": o, "default": False} for o in spec.options]
        metadata |= {
            "type": "Picklist",
            "valueSet": {"restricted": True, "valueSetDefinition": {"value": values}},
        }
    else:
        metadata |= {"type": "Text", "length": TEXT_LENGTH}
    if key:
        metadata |= {"externalId": True, "unique": True}
    return {"FullName": f"{object_name}.{m.api_name(spec.name)}", "Metadata": metadata}


class Schema:
    """The custom fields of one org, as the running user sees them."""

    def __init__(self, transport: SalesforceTransport) -> None:
        self.transport = transport
        self._fields: dict[str, set[str]] = {}

    def fields_of(self, object_name: str, *, fresh: bool = False) -> set[str]:
        """The field API names the running user can see on ``object_name``."""
        if fresh or object_name not in self._fields:
            answer = self.transport.send("GET", f"/sobjects/{object_name}/describe")
            rows = answer.get("fields") if isinstance(answer, dict) else None
            if not isinstance(rows, list):
                raise m.contract_error(f"{object_name} describe without fields")
            self._fields[object_name] = {str(f.get("name")) for f in rows if isinstance(f, dict)}
        return self._fields[object_name]

    def wanted(self, fields: Sequence[FieldSpec]) -> list[tuple[str, FieldSpec, bool]]:
        """``(object, spec, is_key)`` of every field scorebridge needs."""
        people = [(obj, spec, False) for obj in PERSON_OBJECTS for spec in (*fields, LIFECYCLE)]
        return [*people, (m.OPPORTUNITY, DEAL_KEY, True)]

    def missing(self, fields: Sequence[FieldSpec]) -> list[str]:
        """``Object.field__c`` of every needed field the running user cannot see."""
        return [
            f"{obj}.{m.api_name(spec.name)}"
            for obj, spec, _ in self.wanted(fields)
            if m.api_name(spec.name).lower() not in _lower(self.fields_of(obj, fresh=True))
        ]

    def ensure(self, fields: Sequence[FieldSpec]) -> list[str]:
        """Create the missing fields and grant them; the names of ``fields`` created."""
        missing = [
            (obj, spec, key)
            for obj, spec, key in self.wanted(fields)
            if m.api_name(spec.name).lower() not in _lower(self.fields_of(obj, fresh=True))
        ]
        if not missing:
            return []
        ours = {spec.name for spec in fields}
        created: set[str] = set()
        for obj, spec, key in missing:
            if self._create(obj, spec, key):
                created.add(spec.name)
        self._grant([f"{obj}.{m.api_name(spec.name)}" for obj, spec, _ in missing])
        still = [
            f"{obj}.{m.api_name(spec.name)}"
            for obj, spec, _ in missing
            if m.api_name(spec.name).lower() not in _lower(self.fields_of(obj, fresh=True))
        ]
        if still:  # transient: a grant refused for lock contention is tried on the next sync
            raise crm_error(
                "transient",
                f"fields not visible to the integration user: {', '.join(still)}; grant them "
                "read and edit access (a permission set assigned to the user)",
                system=SYSTEM,
            )
        return sorted(created & ours)

    def _create(self, object_name: str, spec: FieldSpec, key: bool) -> bool:
        body = custom_field_body(object_name, spec, key=key)
        try:
            self.transport.send(
                "POST", "/tooling/sobjects/CustomField", json=body, idempotent=False
            )
        except CrmError as exc:
            if exc.kind == "validation" and "DUPLICATE_DEVELOPER_NAME" in str(exc):
                return False  # it exists; the user only cannot see it yet
            if exc.kind == "auth":
                raise crm_error(
                    "auth",
                    f"cannot create {body['FullName']}: the integration user lacks "
                    f'"Customize Application"; create the fields by hand ({_how_to()})',
                    system=SYSTEM,
                    status=exc.status,
                ) from exc
            raise
        log.info("salesforce: created custom field %s", body["FullName"])
        return True

    def _grant(self, full_names: list[str]) -> None:
        """Read and edit on ``full_names`` for the running user's profile."""
        permission_set = self._profile_permission_set()
        records = [
            {
                "attributes": {"type": "FieldPermissions"},
                "ParentId": permission_set,
                "SobjectType": name.split(".", 1)[0],
                "Field": name,
                "PermissionsRead": True,
                "PermissionsEdit": True,
            }
            for name in full_names
        ]
        for _ in range(GRANT_ROUNDS):
            try:
                answer = self.transport.send(
                    "POST", "/composite/sobjects", json={"allOrNone": False, "records": records}
                )
            except CrmError as exc:
                if exc.kind != "auth":
                    raise
                raise crm_error(
                    "auth",
                    "cannot grant field access: give the integration user a permission set "
                    f"with read and edit on {', '.join(full_names)}",
                    system=SYSTEM,
                    status=exc.status,
                ) from exc
            again = []
            for record, row in zip(
                records, answer if isinstance(answer, list) else [], strict=False
            ):
                codes = error_codes(row.get("errors") if isinstance(row, dict) else None)
                if RETRYABLE_CODES.intersection(codes):
                    again.append(record)  # lock contention: grant it in the next round
                elif codes and "DUPLICATE_VALUE" not in codes:
                    log.warning("salesforce: field permission not granted (%s)", ", ".join(codes))
            if not again:
                return
            records = again

    def _profile_permission_set(self) -> str:
        user = self.transport.user_id
        if not user:
            raise m.contract_error("the session named no user (token answer without id)")
        users = self.transport.records(f"SELECT ProfileId FROM User WHERE Id = {soql_quote(user)}")
        profile = users[0].get("ProfileId") if users else None
        if not profile:
            raise m.contract_error(f"user {user} has no profile")
        sets = self.transport.records(
            "SELECT Id FROM PermissionSet WHERE IsOwnedByProfile = true "
            f"AND ProfileId = {soql_quote(str(profile))}"
        )
        if not sets:
            raise m.contract_error(f"profile {profile} has no permission set")
        return str(sets[0]["Id"])


def _lower(names: set[str]) -> set[str]:
    return {n.lower() for n in names}


def _how_to() -> str:
    return "Setup > Object Manager > Lead/Contact/Opportunity > Fields & Relationships"
