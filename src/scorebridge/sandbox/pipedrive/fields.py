"""Person fields (crm-apis.md §2.4): the standard fields every company has and the custom ones
created through ``/api/v2/personFields``, keyed by a 40-character hash ``field_code``; enum and
set fields hold option ids.

Owns a field definition, its JSON and the validation of a value written to it (v2 strictness:
numbers as numbers, an enum as one option id, a set as a non-empty list of option ids, ``null``
clears). Knows nothing about HTTP.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from scorebridge.sandbox.pipedrive import errors, values

FIELD_TYPES = (
    "varchar",
    "varchar_auto",
    "text",
    "double",
    "monetary",
    "date",
    "set",
    "enum",
    "user",
    "org",
    "people",
    "phone",
    "time",
    "timerange",
    "daterange",
    "address",
)
WITH_OPTIONS = ("enum", "set")
#: Types whose values take part in a search on ``custom_fields`` (text-like values).
SEARCHABLE = ("varchar", "varchar_auto", "text", "phone", "double", "address")

#: (field_code, field_name, field_type) of the standard person fields.
STANDARD: tuple[tuple[str, str, str], ...] = (
    ("name", "Name", "varchar"),
    ("first_name", "First name", "varchar"),
    ("last_name", "Last name", "varchar"),
    ("owner_id", "Owner", "user"),
    ("org_id", "Organization", "org"),
    ("emails", "Email", "varchar"),
    ("phones", "Phone", "phone"),
    ("label_ids", "Labels", "set"),
    ("visible_to", "Visible to", "enum"),
    ("add_time", "Person created", "date"),
    ("update_time", "Update time", "date"),
)


def new_field_code() -> str:
    """A fresh 40-character hex key, as Pipedrive gives custom fields."""
    return hashlib.sha1(secrets.token_bytes(16), usedforsecurity=False).hexdigest()


@dataclass
class FieldDef:
    """One person field."""

    code: str
    name: str
    type: str
    custom: bool = True
    options: list[dict[str, Any]] = field(default_factory=list)

    def to_json(self) -> dict[str, Any]:
        """The field as ``/api/v2/personFields`` returns it."""
        return {
            "field_name": self.name,
            "field_code": self.code,
            "field_type": self.type,
            "is_custom_field": self.custom,
            "is_optional_response_field": False,
            "options": [dict(o) for o in self.options] if self.type in WITH_OPTIONS else None,
            "subfields": None,
        }

    def option_ids(self) -> set[int]:
        """The ids of the field's options."""
        return {int(o["id"]) for o in self.options}

    def validate(self, value: Any, exists: Callable[[str, int], bool]) -> Any:
        """The stored value for ``value`` written to this field, or the 400 Pipedrive answers.

        ``exists(kind, id)`` tells whether a user, organization or person id exists.
        """
        if value is None:
            return None
        name = f"custom_fields.{self.code}"
        kind = self.type
        if kind in ("varchar", "varchar_auto", "phone"):
            return values.text(value, name)
        if kind == "text":
            return values.text(value, name, limit=65_535)
        if kind == "double":
            return values.number(value, name)
        if kind == "date":
            return values.day(value, name)
        if kind == "enum":
            option = values.integer(value, name)
            if option not in self.option_ids():
                raise errors.bad_request(f"{name}: option {option} does not exist")
            return option
        if kind == "set":
            return self._set(value, name)
        if kind in ("user", "org", "people"):
            item = values.integer(value, name)
            if item is None or not exists(kind, item):
                raise errors.bad_request(f"{name}: {kind} {item} does not exist")
            return item
        if not isinstance(value, dict) or "value" not in value:
            raise errors.bad_request(f"{name} must be an object with a value")
        return dict(value)

    def _set(self, value: Any, name: str) -> list[int]:
        if not isinstance(value, list) or not value:
            raise errors.bad_request(
                f"{name} must be a non-empty array of option ids (null clears)"
            )
        chosen = [values.whole(v, name) for v in value]
        unknown = sorted(set(chosen) - self.option_ids())
        if unknown:
            raise errors.bad_request(f"{name}: option(s) {unknown} do not exist")
        return list(dict.fromkeys(chosen))

    def searchable_text(self, value: Any) -> str | None:
        """The value as search sees it (text-like types only)."""
        if value is None or self.type not in SEARCHABLE:
            return None
        if isinstance(value, dict):
            return str(value.get("value") or "") or None
        return str(value)


def standard_fields() -> list[FieldDef]:
    """The standard person fields, in Pipedrive's order."""
    return [FieldDef(code, name, kind, custom=False) for code, name, kind in STANDARD]


def parse_options(raw: Any, next_id: Callable[[], int]) -> list[dict[str, Any]]:
    """``[{label}, ...]`` of a create or options call -> options with fresh ids."""
    if not isinstance(raw, list) or not raw:
        raise errors.bad_request("options must be a non-empty array of {label}")
    options = []
    for item in raw:
        label = item.get("label") if isinstance(item, dict) else None
        if not isinstance(label, str) or not label.strip():
            raise errors.bad_request("Every option needs a label")
        options.append({"id": next_id(), "label": label})
    return options
