"""Who a sales task or deal goes to (DESIGN §6; issue: no task without an owner).

Owns: :class:`OwnerDirectory`, the pure resolution chain — the contact's CRM owner, else its
Mautic owner mapped by e-mail to a CRM owner, else round-robin over ``[crm] reps``, else
``[crm] default_owner`` — and loading it from the store (the CRM owners the CRM pull keeps, the
Mautic users :func:`refresh_mautic_users` keeps), plus counting the contacts that would get a
task nobody owns (for ``doctor`` before it happens). Must not: send requests other than the
Mautic user list read, or decide when a task is created.
"""

from __future__ import annotations

import json
import logging
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any, Literal, Protocol

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from scorebridge.config import Settings
from scorebridge.store import cursors
from scorebridge.store.engine import Store
from scorebridge.store.tables import Contact
from scorebridge.sync.crm_pull import stored_owners

log = logging.getLogger(__name__)

USERS_CURSOR = ("mautic", "users")
#: How long the stored Mautic user list is trusted when no contact names an unknown owner.
USERS_MAX_AGE = timedelta(hours=24)
Source = Literal["crm owner", "mautic owner", "round robin", "default owner"]
_contact = Contact.__table__  # type: ignore[attr-defined]


@dataclass(frozen=True)
class Assignment:
    """The owner a task or deal goes to (None: nobody could be named) and why."""

    owner_id: str | None
    source: Source | None


@dataclass(frozen=True)
class OwnerDirectory:
    """Everything owner resolution needs, loaded once per planning pass."""

    crm_owners: Mapping[str, str]
    """Active CRM owner id -> lower-cased e-mail ("" when the CRM gave none)."""
    mautic_users: Mapping[int, str]
    """Mautic user id -> lower-cased e-mail."""
    reps: tuple[str, ...] = ()
    """CRM owner ids, in the configured order."""
    default_owner: str | None = None
    unknown: tuple[str, ...] = ()
    """Configured reps/default owner that match no active CRM owner (ignored)."""

    def crm_owner_for_mautic_user(self, user_id: int | None) -> str | None:
        """The active CRM owner whose e-mail is the Mautic user's, if any."""
        email = self.mautic_users.get(user_id) if user_id is not None else None
        if not email:
            return None
        for owner_id, owner_email in self.crm_owners.items():
            if owner_email == email:
                return owner_id
        return None

    def resolve(
        self,
        contact_id: int,
        crm_owner_id: str | None,
        mautic_owner_id: int | None,
        mode: str = "owner",
    ) -> Assignment:
        """``mode = "owner"`` walks the whole chain; ``"round_robin"`` starts at the reps."""
        if mode == "owner":
            if crm_owner_id and (not self.crm_owners or crm_owner_id in self.crm_owners):
                return Assignment(crm_owner_id, "crm owner")
            mapped = self.crm_owner_for_mautic_user(mautic_owner_id)
            if mapped is not None:
                return Assignment(mapped, "mautic owner")
        if self.reps:
            return Assignment(self.reps[contact_id % len(self.reps)], "round robin")
        if self.default_owner:
            return Assignment(self.default_owner, "default owner")
        return Assignment(None, None)


def directory(
    crm_owners: Sequence[Any], mautic_users: Mapping[int, str], settings: Settings
) -> OwnerDirectory:
    """Build the directory from CRM owners (``id``, ``email``, ``active``) and the settings,
    resolving configured reps and the default owner given as ids or e-mails."""
    active = {str(o.id): (o.email or "").strip().lower() for o in crm_owners if o.active}
    by_email = {email: owner_id for owner_id, email in active.items() if email}
    unknown: list[str] = []

    def owner_of(ref: str) -> str | None:
        ref = ref.strip()
        found = ref if ref in active else by_email.get(ref.lower())
        if found is None and active:
            unknown.append(ref)
        return found if found is not None or active else ref  # no owner list: trust the id

    reps = tuple(r for r in (owner_of(ref) for ref in settings.crm.reps if ref.strip()) if r)
    default = owner_of(settings.crm.default_owner) if settings.crm.default_owner.strip() else None
    return OwnerDirectory(active, dict(mautic_users), reps, default, tuple(unknown))


def load_directory(conn: Connection, settings: Settings) -> OwnerDirectory:
    """The directory from what the last pulls stored."""
    owners = stored_owners(conn, settings.crm.kind) if settings.crm.kind != "none" else []
    return directory(owners, stored_mautic_users(conn), settings)


def stored_mautic_users(conn: Connection) -> dict[int, str]:
    """Mautic user id -> e-mail as of the last refresh (empty before the first)."""
    raw = cursors.get(conn, *USERS_CURSOR)
    if not raw:
        return {}
    return {int(k): str(v) for k, v in json.loads(raw).items()}


class UserSource(Protocol):
    """What :func:`refresh_mautic_users` needs from the Mautic client."""

    def list_users(self) -> Sequence[Any]:
        """Mautic's users (``id``, ``email``)."""
        ...


def refresh_mautic_users(store: Store, client: UserSource, now: datetime) -> int | None:
    """Re-read Mautic's users when a contact names an owner not known yet or the list is older
    than :data:`USERS_MAX_AGE`; returns how many were stored (None: nothing read)."""
    with store.read() as conn:
        known = stored_mautic_users(conn)
        updated = cursors.updated_at(conn, *USERS_CURSOR)
        owner_ids = set(
            conn.execute(
                sa.select(_contact.c.mautic_owner_id)
                .where(_contact.c.mautic_owner_id.is_not(None))
                .distinct()
            ).scalars()
        )
    stale = updated is None or now - updated >= USERS_MAX_AGE
    if not stale and owner_ids <= set(known):
        return None
    users = {int(u.id): (u.email or "").strip().lower() for u in client.list_users()}
    with store.write() as conn:
        cursors.set(conn, *USERS_CURSOR, json.dumps(users, sort_keys=True), now)
    return len(users)


def unowned_contacts(conn: Connection, owners: OwnerDirectory) -> int:
    """Contacts a task or deal could be created for today that nobody would own."""
    if owners.reps or owners.default_owner:
        return 0
    rows = conn.execute(
        sa.select(_contact.c.id, _contact.c.crm_owner_id, _contact.c.mautic_owner_id).where(
            _contact.c.deleted.is_(False), _contact.c.mautic_id.is_not(None)
        )
    )
    return sum(
        1 for r in rows if owners.resolve(r.id, r.crm_owner_id, r.mautic_owner_id).owner_id is None
    )
