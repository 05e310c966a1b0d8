"""Entities as Mautic 5's JMS serializer prints them (mautic-api.md §2.2, §3, §5).

Contacts: publish fields first, int ``id``/``points``, ``fields`` groups keyed by alias with
DB-string metadata (empty group -> ``[]``), ``fields.all`` with a string ``id``, number fields
int or float by scale, booleans int on single GET and strings in lists, ``tags`` as a list of
``{id, tag, description}`` (the reference leaves list vs name-keyed object open; this emulator
picks the list), no group scores, no segments.

Pure functions of the state; no HTTP.
"""

from __future__ import annotations

from typing import Any

from scorebridge.sandbox.mautic.php import php_serialize
from scorebridge.sandbox.mautic.state import (
    Company,
    Contact,
    FieldDef,
    MauticState,
    Note,
    PointAction,
    PointGroup,
    Publish,
    Segment,
    Stage,
    Trigger,
    User,
    iso_time,
)

GROUPS = ("core", "social", "personal", "professional")
#: ``CompanyRepository::getFieldGroups``.
COMPANY_GROUPS = ("core", "professional", "other")


def publish_fields(publish: Publish) -> dict[str, Any]:
    """``isPublished, dateAdded, dateModified, createdBy, ...`` (FormEntity)."""
    return {
        "isPublished": publish.is_published,
        "dateAdded": iso_time(publish.date_added),
        "dateModified": iso_time(publish.date_modified),
        "createdBy": publish.created_by,
        "createdByUser": publish.created_by_user,
        "modifiedBy": publish.modified_by,
        "modifiedByUser": publish.modified_by_user,
    }


def field_value(definition: FieldDef, raw: Any, *, in_list: bool) -> Any:
    """A field value with ``fixNumbers``/``formatFieldValues`` types."""
    if raw is None:
        return None
    if definition.type == "number":
        return float(raw) if definition.scaled else int(raw)
    if definition.type == "boolean":
        return str(int(raw)) if in_list else int(raw)
    return str(raw)


def _normalized(definition: FieldDef, value: Any) -> Any:
    if value is None:
        return None
    if definition.type in ("select", "multiselect"):
        for option in definition.properties.get("list", []):
            if option.get("value") == value:
                return option.get("label")
    if definition.type == "boolean":
        return "Yes" if str(value) == "1" else "No"
    return value


class ContactSerializer:
    """Caches the static part of each field's entry; rebuild when fields change."""

    def __init__(self, state: MauticState) -> None:
        self.state = state
        ordered = sorted(state.fields.values(), key=lambda d: d.order)
        # (alias, definition, static entry part, group, normalised differently?)
        self._fields = [
            (d.alias, d, _field_base(d), d.group, d.type in ("select", "multiselect", "boolean"))
            for d in ordered
        ]

    def values(self, contact: Contact, *, in_list: bool) -> dict[str, Any]:
        """Alias -> typed value, in field order."""
        stored = contact.values
        out: dict[str, Any] = {}
        for alias, definition, _base, _group, _special in self._fields:
            raw = contact.points if alias == "points" else stored.get(alias)
            out[alias] = None if raw is None else field_value(definition, raw, in_list=in_list)
        return out

    def fields(
        self, contact: Contact, *, in_list: bool, select: list[str] | None = None
    ) -> dict[str, Any]:
        """The ``fields`` object."""
        values = self.values(contact, in_list=in_list)
        groups: dict[str, dict[str, Any]] = {group: {} for group in GROUPS}
        for alias, definition, base, group, special in self._fields:
            value = values[alias]
            if select is not None and (alias not in select or value is None):
                continue
            entry = base.copy()
            entry["value"] = value
            entry["normalizedValue"] = _normalized(definition, value) if special else value
            groups.setdefault(group, {})[alias] = entry
        result: dict[str, Any] = {group: entries or [] for group, entries in groups.items()}
        flat: dict[str, Any] = {"id": str(contact.id)}
        if select is None:
            flat.update(values)
        else:
            flat.update((a, v) for a, v in values.items() if a in select and v is not None)
        result["all"] = flat
        return result

    def contact(
        self,
        contact: Contact,
        *,
        in_list: bool = False,
        minimal: bool = False,
        select: list[str] | None = None,
        deleted: bool = False,
    ) -> dict[str, Any]:
        """One contact as the API prints it."""
        out = publish_fields(contact.publish)
        out["id"] = None if deleted else contact.id
        out["points"] = contact.points
        out["color"] = contact.color
        out["fields"] = self.fields(contact, in_list=in_list, select=select)
        if minimal:
            return out
        owner = self.state.users.get(contact.owner_id or 0)
        stage = self.state.stages.get(contact.stage_id or 0)
        out["lastActive"] = iso_time(contact.last_active)
        out["owner"] = owner_json(owner) if owner else None
        out["ipAddresses"] = (
            {ip: {"ipAddress": ip, "ipDetails": _ip_details()} for ip in contact.ip_addresses}
            if contact.ip_addresses
            else []
        )
        out["tags"] = [tag_json(self.state.tag(name)) for name in contact.tags]
        out["utmtags"] = []
        out["stage"] = stage_json(stage, brief=True) if stage else None
        out["dateIdentified"] = iso_time(contact.date_identified)
        out["preferredProfileImage"] = "gravatar"
        out["doNotContact"] = [
            {
                "id": row["id"],
                "dateAdded": iso_time(row["date_added"]),
                "reason": row["reason"],
                "comments": row["comments"],
                "channel": row["channel"],
                "channelId": row["channel_id"],
            }
            for row in self.state.table("lead_donotcontact").by_lead.get(contact.id, [])
        ]
        out["frequencyRules"] = []
        if select is not None:
            out = {key: value for key, value in out.items() if value is not None}
        return out

    def lead_brief(self, contact: Contact | None) -> dict[str, Any] | None:
        """The nested ``lead`` of a note: ``{id, points, color, fields}``."""
        if contact is None:
            return None
        return {
            "id": contact.id,
            "points": contact.points,
            "color": contact.color,
            "fields": self.fields(contact, in_list=False),
        }


def _field_base(d: FieldDef) -> dict[str, Any]:
    return {
        "id": str(d.id),
        "label": d.label,
        "alias": d.alias,
        "type": d.type,
        "group": d.group,
        "object": d.object,
        "is_fixed": "1" if d.is_fixed else "0",
        "properties": php_serialize(d.properties),
        "default_value": d.default_value,
        "field_order": str(d.order),
    }


def company_json(company: Company, fields: list[FieldDef]) -> dict[str, Any]:
    """A company (``Company::loadApiMetadata``, group ``companyDetails``: ``id, score,
    fields`` only, no publish fields) with ``fields`` grouped core/professional/other (an empty
    group is ``[]``) and ``fields.all`` (``CustomFieldsApiControllerTrait::preSerializeEntity``,
    numbers fixed by scale; ``id`` an int, null once deleted). Field entries carry the
    ``lead_fields`` columns without ``field_order`` (developer docs, "Get Company")."""
    company_id = None if company.removed else company.id
    groups: dict[str, dict[str, Any]] = {group: {} for group in COMPANY_GROUPS}
    flat: dict[str, Any] = {"id": company_id}
    for definition in fields:
        raw = company.values.get(definition.alias)
        value = None if raw is None else field_value(definition, raw, in_list=False)
        entry = {k: v for k, v in _field_base(definition).items() if k != "field_order"}
        entry["value"] = value
        entry["normalizedValue"] = _normalized(definition, value)
        groups.setdefault(definition.group, {})[definition.alias] = entry
        flat[definition.alias] = value
    grouped: dict[str, Any] = {group: entries or [] for group, entries in groups.items()}
    grouped["all"] = flat
    return {"id": company_id, "score": company.score, "fields": grouped}


def _ip_details() -> dict[str, str]:
    keys = ("city", "region", "country", "latitude", "longitude", "isp", "organization")
    return {key: "" for key in (*keys, "timezone")}


def owner_json(user: User) -> dict[str, Any]:
    """A contact's ``owner`` (User ``userList`` group)."""
    return {
        "id": user.id,
        "username": user.username,
        "firstName": user.first_name,
        "lastName": user.last_name,
    }


#: The instance's roles: id -> (name, description, raw permissions; None = admin: all).
ROLES: dict[int, tuple[str, str, dict[str, list[str]] | None]] = {
    1: ("Administrator", "Full system access", None),
    2: ("Sales", "Sales representatives", {"lead:leads": ["viewown", "editown", "create",
                                                         "deleteown"]}),
}  # fmt: skip


def role_json(role_id: int) -> dict[str, Any]:
    """A user's ``role`` (``roleList`` group)."""
    name, description, permissions = ROLES[role_id]
    return {
        "createdByUser": None,
        "modifiedByUser": None,
        "id": role_id,
        "name": name,
        "description": description,
        "isAdmin": permissions is None,
        "rawPermissions": permissions,
    }


def user_json(user: User) -> dict[str, Any]:
    """A user in ``/api/users``."""
    return {
        **publish_fields(user.publish),
        "id": user.id,
        "username": user.username,
        "firstName": user.first_name,
        "lastName": user.last_name,
        "email": user.email,
        "position": user.position,
        "role": role_json(user.role_id),
        "timezone": user.timezone,
        "locale": user.locale,
        "lastLogin": None,
        "lastActive": None,
        "onlineStatus": "offline",
        "signature": user.signature,
    }


def tag_json(tag: Any) -> dict[str, Any]:
    """``{id, tag, description}``."""
    return {"id": tag.id, "tag": tag.tag, "description": tag.description}


def stage_json(stage: Stage, *, brief: bool = False) -> dict[str, Any]:
    """A stage (``brief``: the ``stageList`` group nested in a contact)."""
    core = {
        "id": stage.id,
        "name": stage.name,
        "category": None,
        "weight": stage.weight,
        "description": stage.description,
    }
    if brief:
        return core
    return {**publish_fields(stage.publish), **core, "publishUp": None, "publishDown": None}


def segment_json(segment: Segment) -> dict[str, Any]:
    """A segment (``list``)."""
    return {
        **publish_fields(segment.publish),
        "id": segment.id,
        "name": segment.name,
        "publicName": segment.public_name,
        "alias": segment.alias,
        "description": segment.description,
        "category": None,
        "filters": [segment_filter_json(f) for f in segment.filters],
        "isGlobal": segment.is_global,
        "isPreferenceCenter": segment.is_preference_center,
    }


def segment_filter_json(stored: dict[str, Any]) -> dict[str, Any]:
    """A stored filter as ``LeadList::getFilters`` returns it: with the legacy root ``filter``
    and ``display`` copied from ``properties`` (``null`` when absent)."""
    properties = stored.get("properties") or {}
    out = dict(stored)
    has = isinstance(properties, dict) and bool(properties)
    out["filter"] = properties["filter"] if has and "filter" in properties else out.get("filter")
    out["display"] = (
        properties["display"] if has and "display" in properties else out.get("display")
    )
    return out


def point_action_json(action: PointAction) -> dict[str, Any]:
    """A point action (``group`` is not serialized by Mautic)."""
    return {
        **publish_fields(action.publish),
        "id": action.id,
        "name": action.name,
        "category": None,
        "type": action.type,
        "description": action.description,
        "publishUp": None,
        "publishDown": None,
        "delta": action.delta,
        "properties": action.properties,
        "repeatable": action.repeatable,
    }


def trigger_json(trigger: Trigger) -> dict[str, Any]:
    """A point trigger with its events keyed by id."""
    return {
        **publish_fields(trigger.publish),
        "id": trigger.id,
        "name": trigger.name,
        "category": None,
        "description": trigger.description,
        "publishUp": None,
        "publishDown": None,
        "points": trigger.points,
        "color": trigger.color,
        "events": {str(event["id"]): event for event in trigger.events},
        "triggerExistingLeads": trigger.trigger_existing,
    }


def point_group_json(group: PointGroup, *, nested: bool = False) -> dict[str, Any]:
    """A point group (nested in a group score: only ``id, name, description``)."""
    core = {"id": group.id, "name": group.name, "description": group.description}
    return core if nested else {**core, **publish_fields(group.publish)}


def note_json(note: Note, serializer: ContactSerializer) -> dict[str, Any]:
    """A note with its nested lead."""
    return {
        "id": note.id,
        "text": note.text,
        "type": note.type,
        "dateTime": iso_time(note.date_time),
        "lead": serializer.lead_brief(serializer.state.contacts.get(note.lead_id)),
    }


def field_json(definition: FieldDef) -> dict[str, Any]:
    """A field definition in ``/api/fields/{contact,company}``."""
    return {
        **publish_fields(definition.publish),
        "id": definition.id,
        "label": definition.label,
        "alias": definition.alias,
        "type": definition.type,
        "group": definition.group,
        "order": definition.order,
        "object": definition.object,
        "defaultValue": definition.default_value,
        "isRequired": definition.is_required,
        "isFixed": definition.is_fixed,
        "isListable": definition.is_listable,
        "isVisible": definition.is_visible,
        "isShortVisible": definition.is_short_visible,
        "isUniqueIdentifier": definition.is_unique,
        "isPubliclyUpdatable": definition.is_publicly_updatable,
        "properties": definition.properties or {},
    }
