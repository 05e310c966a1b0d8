"""The Tooling API subset an adapter needs to manage its custom fields (crm-apis.md §3.4):
``POST /tooling/sobjects/CustomField``, ``GET /tooling/sobjects/CustomField/{id}`` and SOQL on
``CustomField`` and ``EntityDefinition`` through ``/tooling/query``.

Owns the ``CustomField`` contract: ``FullName`` is ``Object.Name__c`` on a standard object,
``Metadata`` has a ``label`` and a ``type`` (Text needs ``length`` 1..255, Number/Currency/Percent
``precision`` 1..18 and ``scale``, (Multiselect)Picklist a ``valueSet``; ``externalId`` and
``unique`` only on Text, Number, Email); a name already used answers ``DUPLICATE_DEVELOPER_NAME``;
without "Customize Application" 403 ``INSUFFICIENT_ACCESS``. Success is 201 ``{id, success,
errors, warnings, infos}``. The new field is invisible to the running user until field-level
security is granted (``FieldPermissions``), unless the org grants it on create.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from scorebridge.sandbox.base import Response
from scorebridge.sandbox.salesforce import errors, ids
from scorebridge.sandbox.salesforce.org import PERMISSION_OBJECTS, Org, Record
from scorebridge.sandbox.salesforce.query import Runner
from scorebridge.sandbox.salesforce.routing import Call, RouteRow
from scorebridge.sandbox.salesforce.schema import (
    CUSTOM_TYPES,
    EXTERNAL_ID_TYPES,
    FieldSpec,
    ObjectSpec,
    custom_field,
)
from scorebridge.sandbox.salesforce.soql import parse

_BASE_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,39}$")
NOT_CUSTOMIZABLE = ("User", "Profile", *PERMISSION_OBJECTS)


def _tooling_object(name: str, prefix: str, names: tuple[str, ...]) -> ObjectSpec:
    kinds = {"CreatedDate": "datetime", "LastModifiedDate": "datetime", "Id": "id"}
    fields = {n: FieldSpec(n, kinds.get(n, "string"), createable=False) for n in names}
    return ObjectSpec(name, prefix, name, fields, createable=False, tooling=True)


TOOLING_OBJECTS = {
    "CustomField": _tooling_object(
        "CustomField",
        "00N",
        (
            "Id",
            "DeveloperName",
            "TableEnumOrId",
            "NamespacePrefix",
            "FullName",
            "CreatedDate",
            "LastModifiedDate",
        ),  # fmt: skip
    ),
    "EntityDefinition": _tooling_object(
        "EntityDefinition",
        "000",
        ("Id", "QualifiedApiName", "DeveloperName", "Label", "KeyPrefix", "DurableId"),
    ),
}


class ToolingCatalog:
    """The tooling objects as a query catalog."""

    def __init__(self, org: Org) -> None:
        self.org = org

    def spec(self, name: str) -> ObjectSpec | None:
        """A tooling object by case-insensitive name."""
        return next((s for n, s in TOOLING_OBJECTS.items() if n.lower() == name.lower()), None)

    def rows(self, name: str, deleted: bool = False) -> Iterable[Record]:
        """The rows of a tooling object."""
        if name == "CustomField":
            return list(self.org.custom_fields)
        return [
            {
                "Id": ids.make_id("000", number),
                "QualifiedApiName": spec.name,
                "DeveloperName": spec.name,
                "Label": spec.label,
                "KeyPrefix": spec.prefix,
                "DurableId": spec.name,
            }
            for number, spec in enumerate(self.org.objects.values(), start=1)
        ]

    def find(self, record_id: str, deleted: bool = False) -> tuple[ObjectSpec, Record] | None:
        """A CustomField row by id."""
        full = ids.normalize(record_id)
        row = next((r for r in self.org.custom_fields if r["Id"] == full), None)
        return None if row is None else (TOOLING_OBJECTS["CustomField"], row)

    def access(self, spec: ObjectSpec, field_spec: FieldSpec) -> tuple[bool, bool]:
        """Tooling rows are readable in full."""
        return True, False


def _integrity(message: str) -> errors.ApiError:
    return errors.bad("FIELD_INTEGRITY_EXCEPTION", message, [])


def _checked(org: Org, body: dict[str, Any]) -> tuple[ObjectSpec, str, dict[str, Any]]:
    full_name, metadata = body.get("FullName"), body.get("Metadata")
    if not isinstance(full_name, str) or not isinstance(metadata, dict):
        raise errors.bad(
            "REQUIRED_FIELD_MISSING", "Required fields are missing: [FullName, Metadata]", []
        )
    object_name, _, name = full_name.partition(".")
    spec = org.spec(object_name)
    if spec is None or spec.name in NOT_CUSTOMIZABLE:
        raise _integrity(f"Cannot create a custom field on {object_name}")
    base = name[:-3] if name.endswith("__c") else ""
    if not _BASE_NAME.match(base) or "__" in base or base.endswith("_"):
        raise _integrity(
            f"{name}: the API name must start with a letter, end with __c and hold at most 40 "
            "letters, digits or single underscores"
        )
    kind, label = metadata.get("type"), metadata.get("label")
    if kind not in CUSTOM_TYPES:
        raise _integrity(f"type must be one of {', '.join(CUSTOM_TYPES)}")
    if not isinstance(label, str) or not label.strip():
        raise errors.bad("REQUIRED_FIELD_MISSING", "Required fields are missing: [label]", [])
    checked = dict(metadata)
    if kind in ("Text", "LongTextArea"):
        length, low, high = metadata.get("length"), *((1, 255) if kind == "Text" else (256, 131072))
        if not isinstance(length, int) or not low <= length <= high:
            raise _integrity(f"length must be between {low} and {high} for {kind}")
    if kind in ("Number", "Currency", "Percent"):
        precision, scale = metadata.get("precision"), metadata.get("scale", 0)
        if not isinstance(precision, int) or not 1 <= precision <= 18:
            raise _integrity("precision must be between 1 and 18")
        if not isinstance(scale, int) or not 0 <= scale <= precision:
            raise _integrity("scale must be between 0 and the precision")
    if kind in ("Picklist", "MultiselectPicklist"):
        checked["_values"], checked["_restricted"] = _value_set(metadata.get("valueSet"))
    if (metadata.get("externalId") or metadata.get("unique")) and kind not in EXTERNAL_ID_TYPES:
        raise _integrity(
            f"externalId and unique are only allowed on {', '.join(EXTERNAL_ID_TYPES)}"
        )
    if spec.field(name) is not None:
        raise errors.bad(
            "DUPLICATE_DEVELOPER_NAME",
            f"There is already a field named {name[:-3]} on {spec.name}.",
            [],
        )
    return spec, name, checked


def _value_set(raw: Any) -> tuple[list[str], bool]:
    try:
        values = raw["valueSetDefinition"]["value"]
        names = [str(v.get("fullName") or v["label"]) for v in values]
    except (KeyError, TypeError, AttributeError) as exc:
        raise _integrity("valueSet.valueSetDefinition.value must list {fullName, label}") from exc
    if not names:
        raise _integrity("a picklist needs at least one value")
    return names, bool(raw.get("restricted"))


def create_field(call: Call) -> Response:
    """``POST /tooling/sobjects/CustomField``."""
    org = call.org
    if not org.settings.can_customize:
        raise errors.ApiError(
            403,
            "INSUFFICIENT_ACCESS",
            "insufficient access rights: the user needs the Customize Application permission",
        )
    spec, name, metadata = _checked(org, call.body_object())
    field_spec = custom_field(name, str(metadata["label"]), str(metadata["type"]), metadata)
    spec.add(field_spec)
    now = org.now()
    org.counter += 1
    public = {k: v for k, v in metadata.items() if not k.startswith("_")}
    row = {
        "Id": ids.make_id("00N", org.counter),
        "DeveloperName": name[:-3],
        "TableEnumOrId": spec.name,
        "NamespacePrefix": None,
        "FullName": f"{spec.name}.{name}",
        "Metadata": public,
        "CreatedDate": now,
        "LastModifiedDate": now,
    }
    org.custom_fields.append(row)
    if org.settings.field_access_on_create:
        grant = {
            "ParentId": org.profile_permission_set(),
            "SobjectType": spec.name,
            "Field": f"{spec.name}.{name}",
            "PermissionsRead": True,
            "PermissionsEdit": True,
        }
        org.create(org.objects["FieldPermissions"], grant, check=False)
    created: dict[str, Any] = {
        "id": row["Id"],
        "success": True,
        "errors": [],
        "warnings": [],
        "infos": [],
    }
    return Response(201, created)


def read_field(call: Call) -> Response:
    """``GET /tooling/sobjects/CustomField/{id}``."""
    found = ToolingCatalog(call.org).find(call.params["id"])
    if found is None:
        raise errors.not_found()
    runner = Runner(ToolingCatalog(call.org), call.version, call.now)
    row = found[1]
    body: Record = {"attributes": runner.attributes(found[0], row)}
    body.update({k: v for k, v in row.items() if k not in ("CreatedDate", "LastModifiedDate")})
    return Response(200, body)


def tooling_query(call: Call) -> Response:
    """``GET /tooling/query?q=``."""
    text = call.arg("q")
    if not text:
        raise errors.malformed_query("A query string must be given (q)")
    result = Runner(ToolingCatalog(call.org), call.version, call.now).run(parse(text))
    body = call.cursors.page(call.version, result.records, result.total, 2000, call.now, True)
    return Response(200, body)


ROUTES: tuple[RouteRow, ...] = (
    ("POST", "/tooling/sobjects/CustomField", create_field),
    ("GET", "/tooling/sobjects/CustomField/{id}", read_field),
    ("GET", "/tooling/query", tooling_query),
    (
        "GET",
        "/tooling/query/{locator}",
        lambda call: Response(
            200, call.cursors.more(call.version, call.params["locator"], call.now, True)
        ),
    ),
)
