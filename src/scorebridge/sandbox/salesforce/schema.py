"""The shape of the emulated org's objects and fields (crm-apis.md §3.3-§3.7).

Owns :class:`FieldSpec` / :class:`ObjectSpec` (fields by case-insensitive name, parent
relationships such as ``OwnerId`` -> ``Owner``, child relationships such as
``OpportunityContactRoles``), the describe JSON, and the field a Tooling API ``CustomField``
makes. The standard objects themselves are the table in :mod:`.standard`.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

SOAP_TYPES = {
    "id": "tns:ID",
    "reference": "tns:ID",
    "boolean": "xsd:boolean",
    "date": "xsd:date",
    "datetime": "xsd:dateTime",
    "double": "xsd:double",
    "currency": "xsd:double",
    "percent": "xsd:double",
    "int": "xsd:int",
}
TEXT_TYPES = ("string", "textarea", "email", "phone", "url", "picklist", "multipicklist")


@dataclass(frozen=True)
class FieldSpec:
    """One field of an object."""

    name: str
    type: str  # id string textarea email phone url picklist multipicklist boolean date
    # datetime double currency percent int reference
    label: str = ""
    length: int = 0
    precision: int = 0
    scale: int = 0
    nillable: bool = True
    createable: bool = True
    updateable: bool = True
    defaulted: bool = False  # the org fills it when a create leaves it out
    default: Any = None
    picklist: tuple[str, ...] = ()
    restricted: bool = False
    reference_to: tuple[str, ...] = ()
    relationship: str | None = None
    custom: bool = False
    external_id: bool = False
    unique: bool = False

    @property
    def required(self) -> bool:
        """Whether a create must give it."""
        return not self.nillable and self.createable and not self.defaulted

    def describe(self) -> dict[str, Any]:
        """The field as ``/sobjects/{type}/describe`` lists it."""
        return {
            "name": self.name,
            "label": self.label or self.name,
            "type": self.type,
            "length": self.length,
            "precision": self.precision,
            "scale": self.scale,
            "nillable": self.nillable,
            "createable": self.createable,
            "updateable": self.updateable,
            "defaultedOnCreate": self.defaulted,
            "defaultValue": self.default if self.type != "picklist" else None,
            "custom": self.custom,
            "externalId": self.external_id,
            "unique": self.unique,
            "idLookup": self.name == "Id" or self.external_id,
            "calculated": False,
            "filterable": True,
            "sortable": self.type not in ("textarea", "multipicklist"),
            "caseSensitive": False,
            "restrictedPicklist": self.restricted,
            "picklistValues": [
                {
                    "active": True,
                    "defaultValue": value == self.default,
                    "label": value,
                    "validFor": None,
                    "value": value,
                }
                for value in self.picklist
            ],
            "referenceTo": list(self.reference_to),
            "relationshipName": self.relationship,
            "soapType": SOAP_TYPES.get(self.type, "xsd:string"),
        }


@dataclass(frozen=True)
class Child:
    """A child relationship: ``Opportunity.OpportunityContactRoles`` is the rows of
    ``OpportunityContactRole`` whose ``OpportunityId`` is the parent's id."""

    name: str
    object: str
    field: str


@dataclass
class ObjectSpec:
    """One object type."""

    name: str
    prefix: str
    label: str
    fields: dict[str, FieldSpec]
    children: tuple[Child, ...] = ()
    createable: bool = True
    tooling: bool = False
    _lower: dict[str, str] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._lower = {name.lower(): name for name in self.fields}

    def field(self, name: str) -> FieldSpec | None:
        """A field by case-insensitive name."""
        canonical = self._lower.get(name.lower())
        return self.fields[canonical] if canonical else None

    def add(self, spec: FieldSpec) -> None:
        """Add (or replace) a field."""
        self.fields[spec.name] = spec
        self._lower[spec.name.lower()] = spec.name

    def remove(self, name: str) -> None:
        """Drop a field."""
        self.fields.pop(name, None)
        self._lower.pop(name.lower(), None)

    def child(self, name: str) -> Child | None:
        """A child relationship by case-insensitive name."""
        return next((c for c in self.children if c.name.lower() == name.lower()), None)

    def describe(self, visible: list[FieldSpec], base: str) -> dict[str, Any]:
        """``/sobjects/{type}/describe`` with the fields the caller may see."""
        return {
            "name": self.name,
            "label": self.label,
            "labelPlural": self.label + "s",
            "keyPrefix": self.prefix,
            "custom": False,
            "createable": self.createable,
            "updateable": self.createable,
            "deletable": self.createable,
            "queryable": True,
            "searchable": True,
            "childRelationships": [
                {
                    "childSObject": c.object,
                    "field": c.field,
                    "relationshipName": c.name,
                    "cascadeDelete": False,
                }
                for c in self.children
            ],
            "fields": [f.describe() for f in visible],
            "urls": {
                "sobject": f"{base}/sobjects/{self.name}",
                "describe": f"{base}/sobjects/{self.name}/describe",
                "rowTemplate": f"{base}/sobjects/{self.name}/{{ID}}",
            },
        }


#: Tooling API ``CustomField`` metadata types -> the field type and its shape.
CUSTOM_TYPES: dict[str, str] = {
    "Text": "string",
    "TextArea": "textarea",
    "LongTextArea": "textarea",
    "Number": "double",
    "Currency": "currency",
    "Percent": "percent",
    "Checkbox": "boolean",
    "Date": "date",
    "DateTime": "datetime",
    "Email": "email",
    "Phone": "phone",
    "Url": "url",
    "Picklist": "picklist",
    "MultiselectPicklist": "multipicklist",
}
EXTERNAL_ID_TYPES = ("Text", "Number", "Email")


def custom_field(name: str, label: str, kind: str, metadata: dict[str, Any]) -> FieldSpec:
    """The field a valid Tooling ``CustomField`` makes (``metadata`` is already checked)."""
    values = tuple(str(v) for v in metadata.get("_values", ()))
    base = FieldSpec(
        name,
        CUSTOM_TYPES[kind],
        label=label,
        custom=True,
        external_id=bool(metadata.get("externalId")),
        unique=bool(metadata.get("unique")),
    )
    if kind in ("Text", "LongTextArea"):
        return replace(base, length=int(metadata.get("length", 255)))
    if kind in ("TextArea", "Email", "Url", "Picklist", "MultiselectPicklist"):
        length = {"Email": 80, "Picklist": 255, "MultiselectPicklist": 4099}.get(kind, 255)
        restricted = bool(metadata.get("_restricted"))
        return replace(base, length=length, picklist=values, restricted=restricted)
    if kind == "Phone":
        return replace(base, length=40)
    if kind in ("Number", "Currency", "Percent"):
        return replace(
            base, precision=int(metadata["precision"]), scale=int(metadata.get("scale", 0))
        )
    if kind == "Checkbox":
        default = str(metadata.get("defaultValue", "false")).lower() == "true"
        return replace(base, nillable=False, defaulted=True, default=default)
    return base
