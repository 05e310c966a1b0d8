"""Neutral dataclasses for what Mautic returns, and the parsers that build them.

Owns: turning Mautic JSON (string ids and totals, id-keyed objects, tags as a list or a
name-keyed object, ``fields.all``, UTC or ISO dates) into frozen dataclasses with aware UTC
datetimes. Vendor JSON never leaves :mod:`scorebridge.mautic`.
Must not: send requests. Parsers raise ``ValueError``/``TypeError``/``KeyError`` on malformed
input; the client turns those into :class:`~scorebridge.errors.ContractError` (whole answer) or
:class:`~scorebridge.errors.RecordError` (one contact).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from scorebridge.errors import RecordError
from scorebridge.mautic.parsing import (
    as_int,
    as_opt_int,
    as_opt_str,
    items,
    parse_datetime,
    parse_mautic_datetime,
)

FieldValue = str | int | float | None


@dataclass(frozen=True)
class MauticOwner:
    """A Mautic user as a contact owner (``username`` is absent in the owners list)."""

    id: int
    first_name: str | None = None
    last_name: str | None = None
    username: str | None = None


@dataclass(frozen=True)
class MauticStage:
    """A stage; ``weight`` orders the funnel."""

    id: int
    name: str
    weight: int | None = None
    description: str | None = None
    is_published: bool = True


@dataclass(frozen=True)
class DoNotContact:
    """One do-not-contact entry: reason 1 unsubscribed, 2 bounced, 3 manual."""

    channel: str
    reason: int
    comments: str | None = None
    channel_id: int | None = None
    date_added: datetime | None = None


@dataclass(frozen=True)
class MauticContact:
    """A Mautic contact. ``fields`` is ``fields.all`` (alias → value) without its ``id``."""

    id: int
    points: int
    fields: dict[str, FieldValue]
    tags: tuple[str, ...] = ()
    owner: MauticOwner | None = None
    stage: MauticStage | None = None
    do_not_contact: tuple[DoNotContact, ...] = ()
    date_added: datetime | None = None
    date_modified: datetime | None = None
    last_active: datetime | None = None
    date_identified: datetime | None = None
    color: str | None = None

    @property
    def email(self) -> str | None:
        """The ``email`` field, or ``None``."""
        value = self.fields.get("email")
        return value if isinstance(value, str) and value else None

    @property
    def changed_at(self) -> datetime | None:
        """``date_modified``, or ``date_added`` for a contact never modified."""
        return self.date_modified or self.date_added


@dataclass(frozen=True)
class ContactPage:
    """One page of ``GET /api/contacts``; ``rejected`` holds contacts that could not be read."""

    total: int
    contacts: list[MauticContact]
    rejected: list[RecordError] = field(default_factory=list)
    server_time: datetime | None = None
    """Mautic's clock when it answered (the ``Date`` header), if it said."""


@dataclass(frozen=True)
class StatsPage:
    """One page of ``GET /api/stats/{table}``: raw rows, every value a string or ``None``."""

    total: int
    rows: list[dict[str, str | None]]


@dataclass(frozen=True)
class PointGroup:
    """A Mautic point group (topic score)."""

    id: int
    name: str
    description: str | None = None


@dataclass(frozen=True)
class GroupScore:
    """A contact's score in one point group."""

    group: PointGroup
    score: int


@dataclass(frozen=True)
class PointAction:
    """A Mautic point action (e.g. ``page.hit`` gives +5)."""

    id: int
    name: str
    type: str
    delta: int
    repeatable: bool = False
    is_published: bool = True
    description: str | None = None


@dataclass(frozen=True)
class PointTrigger:
    """A Mautic point trigger (fires at ``points``); ``event_types`` are its events' types."""

    id: int
    name: str
    points: int
    color: str | None = None
    is_published: bool = True
    event_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class Segment:
    """A Mautic segment (``lists`` in the API)."""

    id: int
    name: str
    alias: str | None = None
    description: str | None = None
    is_global: bool = False
    is_published: bool = True


@dataclass(frozen=True)
class Note:
    """A note on a contact; ``type`` is general, email, call or meeting."""

    id: int
    text: str
    type: str
    date_time: datetime | None = None
    contact_id: int | None = None


@dataclass(frozen=True)
class ContactField:
    """A contact field definition."""

    id: int
    alias: str
    label: str
    type: str
    group: str | None = None
    object: str | None = None
    is_published: bool = True
    properties: dict[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class MauticUser:
    """A Mautic user."""

    id: int
    username: str | None
    first_name: str | None = None
    last_name: str | None = None
    email: str | None = None
    role: str | None = None


def parse_owner(raw: Any) -> MauticOwner | None:
    """An owner object (or ``None``)."""
    if not raw:
        return None
    return MauticOwner(
        id=as_int(raw["id"]),
        first_name=as_opt_str(raw.get("firstName")),
        last_name=as_opt_str(raw.get("lastName")),
        username=as_opt_str(raw.get("username", raw.get("Username"))),
    )


def parse_stage(raw: Any) -> MauticStage | None:
    """A stage object (or ``None``)."""
    if not raw:
        return None
    return MauticStage(
        id=as_int(raw["id"]),
        name=str(raw.get("name") or ""),
        weight=as_opt_int(raw.get("weight")),
        description=as_opt_str(raw.get("description")),
        is_published=bool(raw.get("isPublished", True)),
    )


def parse_tags(raw: Any) -> tuple[str, ...]:
    """Tag names from a list of ``{tag}`` objects, an object keyed by name, or plain strings."""
    names: list[str] = []
    if isinstance(raw, dict):
        for key, value in raw.items():
            names.append(str(value.get("tag", key)) if isinstance(value, dict) else str(key))
    else:
        for value in items(raw):
            names.append(str(value["tag"]) if isinstance(value, dict) else str(value))
    return tuple(sorted(set(names)))


def parse_dnc(raw: Any) -> tuple[DoNotContact, ...]:
    """The ``doNotContact`` list."""
    return tuple(
        DoNotContact(
            channel=str(entry.get("channel") or "email"),
            reason=as_int(entry.get("reason", 0)),
            comments=as_opt_str(entry.get("comments")),
            channel_id=as_opt_int(entry.get("channelId")),
            date_added=parse_datetime(entry.get("dateAdded")),
        )
        for entry in items(raw)
    )


def _field_values(raw_fields: Any) -> dict[str, FieldValue]:
    """``fields.all`` without ``id``; older payloads without ``all`` are read group by group."""
    if not isinstance(raw_fields, dict):
        return {}
    flat = raw_fields.get("all")
    values: dict[str, FieldValue] = {}
    if isinstance(flat, dict):
        for alias, value in flat.items():
            if alias != "id" and (value is None or isinstance(value, str | int | float)):
                values[str(alias)] = value
        return values
    for group in raw_fields.values():
        for alias, spec in group.items() if isinstance(group, dict) else ():
            if isinstance(spec, dict) and "value" in spec:
                values[str(alias)] = spec["value"]
    return values


def parse_contact(raw: Any) -> MauticContact:
    """One contact object of a list, get, create or edit answer."""
    return MauticContact(
        id=as_int(raw["id"]),
        points=as_opt_int(raw.get("points")) or 0,
        fields=_field_values(raw.get("fields")),
        tags=parse_tags(raw.get("tags")),
        owner=parse_owner(raw.get("owner")),
        stage=parse_stage(raw.get("stage")),
        do_not_contact=parse_dnc(raw.get("doNotContact")),
        date_added=parse_datetime(raw.get("dateAdded")),
        date_modified=parse_datetime(raw.get("dateModified")),
        last_active=parse_datetime(raw.get("lastActive")),
        date_identified=parse_datetime(raw.get("dateIdentified")),
        color=as_opt_str(raw.get("color")),
    )


def parse_point_group(raw: Any) -> PointGroup:
    """A point group object."""
    return PointGroup(
        id=as_int(raw["id"]),
        name=str(raw["name"]),
        description=as_opt_str(raw.get("description")),
    )


def parse_group_score(raw: Any) -> GroupScore:
    """A ``{score, group}`` object."""
    return GroupScore(group=parse_point_group(raw["group"]), score=as_int(raw["score"]))


def parse_point_action(raw: Any) -> PointAction:
    """A point action object."""
    return PointAction(
        id=as_int(raw["id"]),
        name=str(raw.get("name") or ""),
        type=str(raw.get("type") or ""),
        delta=as_opt_int(raw.get("delta")) or 0,
        repeatable=bool(raw.get("repeatable", False)),
        is_published=bool(raw.get("isPublished", True)),
        description=as_opt_str(raw.get("description")),
    )


def parse_point_trigger(raw: Any) -> PointTrigger:
    """A point trigger object."""
    return PointTrigger(
        id=as_int(raw["id"]),
        name=str(raw.get("name") or ""),
        points=as_opt_int(raw.get("points")) or 0,
        color=as_opt_str(raw.get("color")),
        is_published=bool(raw.get("isPublished", True)),
        event_types=tuple(str(e.get("type") or "") for e in items(raw.get("events"))),
    )


def parse_segment(raw: Any) -> Segment:
    """A segment (``list``) object."""
    return Segment(
        id=as_int(raw["id"]),
        name=str(raw.get("name") or ""),
        alias=as_opt_str(raw.get("alias")),
        description=as_opt_str(raw.get("description")),
        is_global=bool(raw.get("isGlobal", False)),
        is_published=bool(raw.get("isPublished", True)),
    )


def parse_note(raw: Any) -> Note:
    """A note object (``lead`` may be an id or a contact object)."""
    lead = raw.get("lead")
    contact_id = as_opt_int(lead.get("id")) if isinstance(lead, dict) else as_opt_int(lead)
    return Note(
        id=as_int(raw["id"]),
        text=str(raw.get("text") or ""),
        type=str(raw.get("type") or "general"),
        date_time=parse_datetime(raw.get("dateTime")),
        contact_id=contact_id,
    )


def parse_field(raw: Any) -> ContactField:
    """A field definition object (empty ``properties`` may be ``[]``)."""
    properties = raw.get("properties")
    return ContactField(
        id=as_int(raw["id"]),
        alias=str(raw["alias"]),
        label=str(raw.get("label") or raw["alias"]),
        type=str(raw.get("type") or "text"),
        group=as_opt_str(raw.get("group")),
        object=as_opt_str(raw.get("object")),
        is_published=bool(raw.get("isPublished", True)),
        properties=dict(properties) if isinstance(properties, dict) else {},
    )


def parse_user(raw: Any) -> MauticUser:
    """A user object (``role`` is kept as its name)."""
    role = raw.get("role")
    return MauticUser(
        id=as_int(raw["id"]),
        username=as_opt_str(raw.get("username")),
        first_name=as_opt_str(raw.get("firstName")),
        last_name=as_opt_str(raw.get("lastName")),
        email=as_opt_str(raw.get("email")),
        role=as_opt_str(role.get("name")) if isinstance(role, dict) else as_opt_str(role),
    )


__all__ = [
    "ContactField",
    "ContactPage",
    "DoNotContact",
    "FieldValue",
    "GroupScore",
    "MauticContact",
    "MauticOwner",
    "MauticStage",
    "MauticUser",
    "Note",
    "PointAction",
    "PointGroup",
    "PointTrigger",
    "Segment",
    "StatsPage",
    "parse_contact",
    "parse_datetime",
    "parse_dnc",
    "parse_field",
    "parse_group_score",
    "parse_mautic_datetime",
    "parse_note",
    "parse_owner",
    "parse_point_action",
    "parse_point_trigger",
    "parse_segment",
    "parse_stage",
    "parse_tags",
    "parse_user",
]
