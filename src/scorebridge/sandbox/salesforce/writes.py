"""The rules a record write must pass (crm-apis.md §3.4, §3.5, §3.8), with Salesforce's error
codes and messages.

Owns turning a JSON body into stored values: field names are case-insensitive and must exist
and be visible (``INVALID_FIELD``), read-only or not editable fields refuse
(``INVALID_FIELD_FOR_INSERT_UPDATE``), values are coerced by type (``JSON_PARSER_ERROR``,
``STRING_TOO_LONG``, ``INVALID_EMAIL_ADDRESS``, ``INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST``,
``MALFORMED_ID``, ``INVALID_CROSS_REFERENCE_KEY``, ``FIELD_INTEGRITY_EXCEPTION``), required
fields must be given (``REQUIRED_FIELD_MISSING``), unique fields stay unique
(``DUPLICATE_VALUE``), and a Task whose ``WhoId`` is a Lead has no ``WhatId``. Raises
:class:`~scorebridge.sandbox.salesforce.errors.ApiError`; never stores anything.
"""

from __future__ import annotations

import re
from typing import Any, Protocol

from scorebridge.sandbox.salesforce import errors, ids
from scorebridge.sandbox.salesforce.schema import TEXT_TYPES, FieldSpec, ObjectSpec
from scorebridge.sandbox.salesforce.values import parse_date, parse_datetime

_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
NUMBER_TYPES = ("double", "currency", "percent", "int")


class OrgView(Protocol):
    """What the rules read from the org."""

    def spec(self, name: str) -> ObjectSpec | None:
        """An object by name."""
        ...

    def rows(self, name: str, deleted: bool = False) -> Any:
        """An object's live records."""
        ...

    def find(self, record_id: str, deleted: bool = False) -> tuple[ObjectSpec, Any] | None:
        """A record by id."""
        ...

    def by_field(self, spec: ObjectSpec, field_spec: FieldSpec, value: Any) -> list[Any]:
        """Live records whose field equals a value."""
        ...

    def access(self, spec: ObjectSpec, field_spec: FieldSpec) -> tuple[bool, bool]:
        """(readable, editable) for the running user."""
        ...


def clean(
    org: OrgView, spec: ObjectSpec, body: dict[str, Any], current: dict[str, Any] | None
) -> dict[str, Any]:
    """The stored values of a create (``current`` None) or update body, or the first error."""
    out: dict[str, Any] = {}
    for key, raw in body.items():
        if key == "attributes":
            continue
        field_spec = spec.field(key)
        readable, editable = org.access(spec, field_spec) if field_spec else (False, False)
        if field_spec is None or not readable:
            raise errors.invalid_field(spec.name, key)
        allowed = field_spec.createable if current is None else field_spec.updateable
        if not allowed or not editable:
            verb = "create" if current is None else "update"
            raise errors.bad(
                "INVALID_FIELD_FOR_INSERT_UPDATE",
                f"Unable to {verb} fields: {field_spec.name}. Please check the security settings "
                "of this field and verify that it is read/write for your profile or permission "
                "set.",
                [field_spec.name],
            )
        out[field_spec.name] = coerce(org, field_spec, raw)
    if current is None:
        missing = [f.name for f in spec.fields.values() if f.required and not _given(out, f.name)]
    else:
        missing = [n for n in out if not spec.fields[n].nillable and not _given(out, n)]
    if missing:
        raise errors.bad(
            "REQUIRED_FIELD_MISSING",
            f"Required fields are missing: [{', '.join(missing)}]",
            missing,
        )
    for name, value in out.items():
        field_spec = spec.fields[name]
        if field_spec.unique and value not in (None, ""):
            own = (current or {}).get("Id")
            holders = [r for r in org.by_field(spec, field_spec, value) if r["Id"] != own]
            if holders:
                raise errors.bad(
                    "DUPLICATE_VALUE",
                    f"duplicate value found: {name} duplicates value on record with id: "
                    f"{holders[0]['Id']}",
                    [name],
                )
    merged = {**(current or {}), **out}
    if spec.name == "FieldPermissions":
        _field_permission(org, merged, (current or {}).get("Id"))
    if spec.name == "Task" and merged.get("WhatId") and str(merged.get("WhoId")).startswith("00Q"):
        raise errors.bad(
            "FIELD_INTEGRITY_EXCEPTION",
            "Related To ID: a task whose Name ID is a lead cannot be related to another record",
            ["WhatId"],
        )
    return out


def _field_permission(org: OrgView, grant: dict[str, Any], own: str | None) -> None:
    """A FieldPermissions row names an existing custom field of its SobjectType, grants Edit only
    with Read, and is the only row for its permission set and field."""
    object_name, _, name = str(grant.get("Field")).partition(".")
    target = org.spec(object_name)
    field_spec = target.field(name) if target else None
    if target is None or field_spec is None or not field_spec.custom:
        raise errors.bad("INVALID_FIELD", f"Field: bad value: {grant.get('Field')}", ["Field"])
    if str(grant.get("SobjectType")).lower() != target.name.lower():
        raise errors.bad(
            "FIELD_INTEGRITY_EXCEPTION", "SobjectType must be the object of Field", ["SobjectType"]
        )
    if grant.get("PermissionsEdit") and not grant.get("PermissionsRead"):
        raise errors.bad(
            "FIELD_INTEGRITY_EXCEPTION",
            "Permission Edit depends on permission(s): Read",
            ["PermissionsRead"],
        )
    for other in org.rows("FieldPermissions"):
        same = other["ParentId"] == grant.get("ParentId") and other["Field"].lower() == (
            str(grant["Field"]).lower()
        )
        if same and other["Id"] != own:
            raise errors.bad(
                "DUPLICATE_VALUE",
                f"duplicate value found: Field duplicates value on record with id: {other['Id']}",
                ["Field"],
            )


def _given(values: dict[str, Any], name: str) -> bool:
    return values.get(name) not in (None, "")


def coerce(org: OrgView, field_spec: FieldSpec, raw: Any) -> Any:
    """A written JSON value as stored for this field (``None`` clears)."""
    name, kind = field_spec.name, field_spec.type
    if raw is None or (raw == "" and kind in TEXT_TYPES + ("reference",)):
        return None
    if kind in TEXT_TYPES:
        return _text(field_spec, raw)
    if kind == "boolean":
        if isinstance(raw, bool):
            return raw
        if isinstance(raw, str) and raw.lower() in ("true", "false"):
            return raw.lower() == "true"
        raise _parser(raw, "boolean")
    if kind in NUMBER_TYPES:
        return _number(field_spec, raw)
    if kind == "date":
        parsed = parse_date(raw) if isinstance(raw, str) else None
        if parsed is None:
            raise _parser(raw, "date")
        return parsed
    if kind == "datetime":
        moment = parse_datetime(raw) if isinstance(raw, str) else None
        if moment is None:
            raise _parser(raw, "datetime")
        return moment.replace(microsecond=0)
    if kind == "reference":
        return _reference(org, field_spec, raw)
    raise errors.invalid_field("", name)


def _text(field_spec: FieldSpec, raw: Any) -> str:
    name = field_spec.name
    if isinstance(raw, bool | dict | list):
        raise _parser(raw, "string")
    text = str(raw)
    if field_spec.length and len(text) > field_spec.length:
        raise errors.bad(
            "STRING_TOO_LONG",
            f"{name}: data value too large: {text[:40]} (max length={field_spec.length})",
            [name],
        )
    if field_spec.type == "email" and not _EMAIL.match(text):
        raise errors.bad("INVALID_EMAIL_ADDRESS", f"{name}: invalid email address: {text}", [name])
    if field_spec.restricted:
        chosen = text.split(";") if field_spec.type == "multipicklist" else [text]
        bad = next((c for c in chosen if c not in field_spec.picklist), None)
        if bad is not None:
            raise errors.bad(
                "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                f"{name}: bad value for restricted picklist field: {bad}",
                [name],
            )
    return text


def _number(field_spec: FieldSpec, raw: Any) -> float | int:
    if isinstance(raw, bool):
        raise _parser(raw, "double")
    try:
        number = float(raw)
    except (TypeError, ValueError) as exc:
        raise _parser(raw, "double") from exc
    if field_spec.type == "int":
        return round(number)
    digits = field_spec.precision - field_spec.scale
    if field_spec.precision and abs(number) >= 10**digits:
        raise errors.bad(
            "NUMBER_OUTSIDE_VALID_RANGE",
            f"{field_spec.name}: value outside of valid range on numeric field: {raw}",
            [field_spec.name],
        )
    return float(round(number, field_spec.scale)) if field_spec.precision else number


def _reference(org: OrgView, field_spec: FieldSpec, raw: Any) -> str:
    name = field_spec.name
    full = ids.normalize(raw)
    if full is None:
        raise errors.bad("MALFORMED_ID", f"{name}: id value of incorrect type: {raw}", [name])
    found = org.find(full)
    if found is None:
        raise errors.bad("INVALID_CROSS_REFERENCE_KEY", "invalid cross reference id", [name])
    if found[0].name not in field_spec.reference_to:
        raise errors.bad(
            "FIELD_INTEGRITY_EXCEPTION", f"{name}: id value of incorrect type: {raw}", [name]
        )
    return full


def _parser(raw: Any, kind: str) -> errors.ApiError:
    shown = "VALUE_STRING" if isinstance(raw, str) else type(raw).__name__.upper()
    return errors.bad(
        "JSON_PARSER_ERROR",
        f"Cannot deserialize instance of {kind} from {shown} value {raw} or request may be "
        "missing a required field",
    )
