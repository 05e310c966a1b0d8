"""The Mautic emulator's in-memory data model: what a Mautic 5 database would hold.

Owns the entities (contacts with their field values, companies, users, stages, segments, tags,
notes, point actions, triggers, point groups and per-contact group scores, OAuth tokens) and the
stats tables
(see ``tables``). Times are stored the way MySQL holds them: UTC
``YYYY-MM-DD HH:MM:SS`` strings, which compare correctly as strings.

Must not know HTTP, JSON shapes or how events are recorded (see ``serialize``, ``recording``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from scorebridge.sandbox.mautic.tables import Row, Table, new_tables

DB_FORMAT = "%Y-%m-%d %H:%M:%S"


def db_time(moment: datetime) -> str:
    """An aware datetime as MySQL stores it (UTC, second precision)."""
    if moment.utcoffset():
        moment = moment.astimezone(UTC)
    return moment.isoformat(sep=" ", timespec="seconds")[:19]


def iso_time(db_value: str | None) -> str | None:
    """A DB time as the JMS serializer prints entity dates (``c`` format, UTC)."""
    if db_value is None:
        return None
    return db_value.replace(" ", "T") + "+00:00"


@dataclass
class Publish:
    """The publish fields every Mautic ``FormEntity`` carries."""

    date_added: str
    created_by: int | None = None
    created_by_user: str | None = None
    date_modified: str | None = None
    modified_by: int | None = None
    modified_by_user: str | None = None
    is_published: bool = True


@dataclass
class FieldDef:
    """A contact or company field (``lead_fields`` row; ``object`` "lead" or "company")."""

    id: int
    label: str
    alias: str
    type: str
    group: str
    order: int
    publish: Publish
    properties: dict[str, Any] = field(default_factory=dict)
    object: str = "lead"
    default_value: str | None = None
    is_fixed: bool = False
    is_required: bool = False
    is_unique: bool = False
    is_publicly_updatable: bool = False
    is_listable: bool = True
    is_visible: bool = True
    is_short_visible: bool = False

    @property
    def numeric(self) -> bool:
        """Stored in a numeric column (number fields and ``points``)."""
        return self.type == "number"

    @property
    def scaled(self) -> bool:
        """A number field with a scale comes back as a float, without one as an int."""
        scale = self.properties.get("scale")
        return scale not in (None, "", 0, "0")


@dataclass
class User:
    """A Mautic user (the API user and the sales reps)."""

    id: int
    username: str
    first_name: str
    last_name: str
    email: str
    publish: Publish
    password: str = ""
    role_id: int = 2  # 1 Administrator, 2 Sales (see ``serialize.ROLES``)
    position: str | None = None
    timezone: str | None = None
    locale: str | None = None
    signature: str | None = None

    @property
    def is_admin(self) -> bool:
        """The Administrator role bypasses every permission check."""
        return self.role_id == 1

    @property
    def full_name(self) -> str:
        """``First Last`` as Mautic prints it in ``createdByUser``."""
        return f"{self.first_name} {self.last_name}"


@dataclass
class Stage:
    """A funnel stage."""

    id: int
    name: str
    weight: int
    publish: Publish
    description: str | None = None


@dataclass
class Segment:
    """A segment (``lead_lists``)."""

    id: int
    name: str
    alias: str
    publish: Publish
    description: str | None = None
    is_global: bool = True
    public_name: str = ""
    is_preference_center: bool = False
    filters: list[dict[str, Any]] = field(default_factory=list)


@dataclass
class Tag:
    """A tag."""

    id: int
    tag: str
    description: str | None = None


@dataclass
class Note:
    """A contact note."""

    id: int
    lead_id: int
    text: str
    type: str
    date_time: str | None
    publish: Publish


@dataclass
class PointGroup:
    """A point group (Mautic 5)."""

    id: int
    name: str
    publish: Publish
    description: str | None = None


@dataclass
class PointAction:
    """A point action: what earns or costs points, optionally into a point group."""

    id: int
    name: str
    type: str
    delta: int
    properties: dict[str, Any]
    publish: Publish
    repeatable: bool = False
    group_id: int | None = None
    description: str | None = None


@dataclass
class Trigger:
    """A point trigger (only its threshold and colour have an effect here)."""

    id: int
    name: str
    points: int
    color: str
    events: list[dict[str, Any]]
    publish: Publish
    description: str | None = None
    trigger_existing: bool = False


@dataclass
class Published:
    """A read-only published item of the instance: an email, form, asset or campaign."""

    id: int
    name: str
    publish: Publish
    description: str | None = None


@dataclass
class Contact:
    """A ``leads`` row plus what hangs off it."""

    id: int
    publish: Publish
    values: dict[str, Any]  # field alias -> DB value (None when empty)
    points: int = 0
    owner_id: int | None = None
    stage_id: int | None = None
    date_identified: str | None = None
    tags: list[str] = field(default_factory=list)
    ip_addresses: list[str] = field(default_factory=list)
    color: str | None = None
    group_scores: dict[int, int] = field(default_factory=dict)
    fired_actions: set[int] = field(default_factory=set)

    @property
    def last_active(self) -> str | None:
        """``leads.last_active``."""
        value = self.values.get("last_active")
        return value if isinstance(value, str) else None


@dataclass
class Company:
    """A ``companies`` row: field values by alias (``None`` when empty), score and owner.

    Its contacts are ``companies_leads`` rows (see :mod:`.companies`)."""

    id: int
    publish: Publish
    values: dict[str, Any]
    score: int = 0
    owner_id: int | None = None
    removed: bool = False  # deleted: Doctrine has reset the id it serializes

    @property
    def name(self) -> str | None:
        """``companyname``."""
        value = self.values.get("companyname")
        return None if value is None else str(value)


@dataclass
class Token:
    """An issued OAuth2 access token."""

    value: str
    client_id: str
    expires_at: datetime


class MauticState:
    """Everything one emulated Mautic instance holds.

    ``configure`` (in :mod:`.instance`) fills the instance configuration (fields, users, stages,
    segments, point actions and groups); contacts and stats rows come from the world loader, the
    API and the control path.
    """

    def __init__(self) -> None:
        self.fields: dict[str, FieldDef] = {}
        self.company_fields: dict[str, FieldDef] = {}
        self.users: dict[int, User] = {}
        self.stages: dict[int, Stage] = {}
        self.segments: dict[int, Segment] = {}
        self.tags: dict[str, Tag] = {}
        self.notes: dict[int, Note] = {}
        self.point_actions: dict[int, PointAction] = {}
        self.triggers: dict[int, Trigger] = {}
        self.point_groups: dict[int, PointGroup] = {}
        self.contacts: dict[int, Contact] = {}
        self.companies: dict[int, Company] = {}
        self.tables: dict[str, Table] = new_tables()
        self.tokens: dict[str, Token] = {}
        self.ip_ids: dict[str, int] = {}
        self.email_index: dict[str, int] = {}  # lower-cased e-mail -> contact id
        self.next_ids: dict[str, int] = {}
        self.memberships: dict[tuple[int, int], Row] = {}  # (segment, contact) -> row
        #: read-only catalogues: "emails", "forms", "assets", "campaigns" -> id -> item
        self.catalogue: dict[str, dict[int, Published]] = {}

    def next_id(self, kind: str) -> int:
        """The next auto-increment id of an entity kind."""
        value = self.next_ids.get(kind, 1)
        self.next_ids[kind] = value + 1
        return value

    def bump_id(self, kind: str, used: int) -> None:
        """Make sure later ids of ``kind`` come after ``used``."""
        if self.next_ids.get(kind, 1) <= used:
            self.next_ids[kind] = used + 1

    def table(self, name: str) -> Table:
        """A stats table by name."""
        return self.tables[name]

    def ip_id(self, address: str) -> int:
        """The ``ip_addresses`` id of an address, created on first use."""
        known = self.ip_ids.get(address)
        if known is None:
            known = self.tables["ip_addresses"].insert(ip_address=address)["id"]
            self.ip_ids[address] = known
        return known

    def tag(self, name: str) -> Tag:
        """A tag by name, created on first use."""
        found = self.tags.get(name)
        if found is None:
            found = Tag(id=self.next_id("tag"), tag=name)
            self.tags[name] = found
        return found

    def index_email(self, contact: Contact, old: str | None) -> None:
        """Keep the e-mail lookup (the unique identifier) in step with a contact."""
        if old and self.email_index.get(old.lower()) == contact.id:
            del self.email_index[old.lower()]
        email = contact.values.get("email")
        if email:
            self.email_index[str(email).lower()] = contact.id

    def contact_by_email(self, email: str) -> Contact | None:
        """The contact holding this e-mail (case-insensitive, like MySQL's collation)."""
        found = self.email_index.get(email.lower())
        return None if found is None else self.contacts.get(found)

    def remove_contact(self, contact_id: int) -> Contact:
        """Delete a contact and cascade its rows."""
        contact = self.contacts.pop(contact_id)
        email = str(contact.values.get("email") or "").lower()
        if email and self.email_index.get(email) == contact_id:
            del self.email_index[email]
        for name, table in self.tables.items():
            if name != "ip_addresses":
                table.delete_lead(contact_id)
        for key in [key for key in self.memberships if key[1] == contact_id]:
            del self.memberships[key]
        for note_id in [n.id for n in self.notes.values() if n.lead_id == contact_id]:
            del self.notes[note_id]
        return contact
