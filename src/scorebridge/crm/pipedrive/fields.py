"""Pipedrive person fields (crm-apis.md §2.4): which field holds what, and their value codecs.

Owns: the company's person fields read from ``GET /api/v2/personFields`` (custom ones are keyed
by a 40-character ``field_code`` inside ``custom_fields``), finding a field by its *slug* (the
field name lower-cased, blanks as ``_``: ``"Job title"`` → ``job_title``), the fields scorebridge
keeps itself for the standard names Pipedrive persons lack (:data:`STANDARD_CUSTOM`), the create
bodies (``double``, ``varchar``, ``enum`` with ``options[{label}]``), and the codecs: enum values
are option ids (written by label, read back as the label), numbers are JSON numbers read back
without a trailing ``.0``, ``None`` clears.
Must not: send requests (:class:`PersonFields` is handed the answers) or know persons' JSON.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from scorebridge.crm.base import FieldSpec, FieldValue
from scorebridge.crm.errors import CrmError, crm_error
from scorebridge.crm.pipedrive.auth import SYSTEM

_TYPES = {"number": "double", "string": "varchar", "enumeration": "enum"}
_NUMBER_TYPES = frozenset({"double", "monetary", "int"})
_ENUM_TYPES = frozenset({"enum", "set"})

#: Logical standard names that Pipedrive persons have no field for: scorebridge keeps them in
#: custom text fields of these names (created by ``ensure_schema`` when missing).
STANDARD_CUSTOM: dict[str, FieldSpec] = {
    "company": FieldSpec("company", "Company", "string"),
    "job_title": FieldSpec("job_title", "Job title", "string"),
    "country": FieldSpec("country", "Country", "string"),
    "lifecycle": FieldSpec("lifecycle_stage", "Lifecycle stage", "string"),
    "lead_status": FieldSpec("lead_status", "Lead status", "string"),
}


def slug(name: str) -> str:
    """A field name as scorebridge addresses it: lower case, runs of other characters as ``_``."""
    return re.sub(r"[^a-z0-9]+", "_", name.strip().lower()).strip("_")


@dataclass(frozen=True)
class PersonField:
    """One person field: its code, type, whether it is custom, and its options (id → label)."""

    name: str
    code: str
    type: str
    custom: bool
    options: Mapping[int, str]

    @classmethod
    def parse(cls, raw: Mapping[str, Any]) -> PersonField:
        """A ``personFields`` item."""
        options = {
            int(o["id"]): str(o.get("label") or "")
            for o in raw.get("options") or []
            if isinstance(o, dict) and isinstance(o.get("id"), int)
        }
        return cls(
            name=str(raw.get("field_name") or ""),
            code=str(raw.get("field_code") or ""),
            type=str(raw.get("field_type") or ""),
            custom=bool(raw.get("is_custom_field")),
            options=options,
        )

    def encode(self, value: FieldValue) -> Any:
        """``value`` as this field stores it; raise a validation error when it cannot."""
        if value is None:
            return None
        if self.type in _ENUM_TYPES:
            wanted = str(value).strip().lower()
            for option_id, label in self.options.items():
                if label.strip().lower() == wanted:
                    return [option_id] if self.type == "set" else option_id
            raise crm_error(
                "validation",
                f"person field {self.name!r} has no option {value!r}: add it in Pipedrive "
                "(Settings > Data fields)",
                system=SYSTEM,
            )
        if self.type in _NUMBER_TYPES:
            if isinstance(value, bool) or not isinstance(value, int | float):
                try:
                    value = float(str(value))
                except ValueError as exc:
                    raise crm_error(
                        "validation", f"person field {self.name!r} needs a number", system=SYSTEM
                    ) from exc
            return int(value) if float(value).is_integer() else float(value)
        if isinstance(value, bool):
            return "true" if value else "false"
        return str(value)

    def decode(self, raw: Any) -> str | None:
        """A stored value as the string scorebridge reads (``None`` for empty)."""
        if raw is None or raw == "" or raw == []:
            return None
        if self.type in _ENUM_TYPES:
            ids = raw if isinstance(raw, list) else [raw]
            labels = [self.options.get(int(i), str(i)) for i in ids if str(i).isdigit()]
            return ";".join(labels) or None
        if isinstance(raw, float) and raw.is_integer():
            return str(int(raw))
        if isinstance(raw, dict):  # address, monetary: the value part
            inner = raw.get("value") or raw.get("formatted_address")
            return str(inner) if inner not in (None, "") else None
        return str(raw)


class PersonFields:
    """The company's person fields, found by slug; custom ones also by code."""

    def __init__(self, fields: Iterable[PersonField]) -> None:
        self._by_slug: dict[str, PersonField] = {}
        self._by_code: dict[str, PersonField] = {}
        for field in fields:
            self._by_slug.setdefault(slug(field.name), field)
            if field.custom:
                self._by_code.setdefault(field.code, field)

    def get(self, name: str) -> PersonField | None:
        """The field whose slug is ``slug(name)`` (the first one, when names repeat)."""
        return self._by_slug.get(slug(name))

    def custom(self, name: str) -> PersonField | None:
        """The *custom* field for ``name``, if any."""
        found = self.get(name)
        return found if found is not None and found.custom else None

    def by_code(self, code: str) -> PersonField | None:
        """The custom field of ``code``."""
        return self._by_code.get(code)

    def names(self) -> list[str]:
        """Every field's slug."""
        return sorted(self._by_slug)

    def missing(self, specs: Sequence[FieldSpec]) -> list[FieldSpec]:
        """The specs no custom field exists for; an existing one of another type is an error."""
        missing = []
        for spec in specs:
            found = self.custom(spec.name)
            if found is None:
                missing.append(spec)
            elif found.type != _TYPES[spec.type]:
                raise _type_clash(spec, found)
        return missing

    def decode_custom(self, custom: Mapping[str, Any]) -> dict[str, str]:
        """A person's ``custom_fields`` as slug → string (empty values left out)."""
        found = {}
        for code, raw in custom.items():
            field = self._by_code.get(code)
            if field is None:
                continue
            value = field.decode(raw)
            if value is not None:
                found[slug(field.name)] = value
        return found


def create_body(spec: FieldSpec, field_name: str) -> dict[str, Any]:
    """``POST /api/v2/personFields`` for a field scorebridge keeps, named ``field_name``."""
    body: dict[str, Any] = {"field_name": field_name, "field_type": _TYPES[spec.type]}
    if spec.type == "enumeration":
        body["options"] = [{"label": option} for option in spec.options]
    return body


def _type_clash(spec: FieldSpec, found: PersonField) -> CrmError:
    return crm_error(
        "contract",
        f"person field {found.name!r} exists with type {found.type!r}, scorebridge needs "
        f"{_TYPES[spec.type]!r}: rename or delete it in Pipedrive",
        system=SYSTEM,
    )
