"""Load a seeded :class:`~scorebridge.sandbox.world.World` into an emulated HubSpot account.

Owns the mapping from the neutral world to what HubSpot would have recorded: users become owners
(string ids distinct from their numeric ``userId``), persons in the CRM become contacts (under
their CRM e-mail when it differs from Mautic's), closed deals land in the ``default`` pipeline
associated to their contact. Everything is back-dated to the world's own timestamps.
"""

from __future__ import annotations

from datetime import datetime

from scorebridge.sandbox.hubspot.state import AccountState, Owner, Record
from scorebridge.sandbox.hubspot.values import iso_instant, iso_ms, number_text
from scorebridge.sandbox.world import World

#: Owner ids and user ids are different numbers in HubSpot; keep them visibly apart.
OWNER_ID_BASE = 61_000_000
USER_ID_BASE = 1_296_000


def owner_id(user_id: int) -> str:
    """The HubSpot owner id of a world user."""
    return str(OWNER_ID_BASE + user_id)


def _touch(record: Record, stamp: str, at: datetime) -> None:
    """Move a record's modification time forward to ``at`` (a deal closing updates both sides)."""
    if at > record.updated_at:
        record.updated_at = at
        record.properties[stamp] = iso_ms(at)


def load_world(state: AccountState, world: World) -> dict[str, int]:
    """Add the world's owners, contacts and deals to ``state``; counts of what was added."""
    for user in world.users:
        state.owners.append(
            Owner(
                id=owner_id(user.id),
                user_id=USER_ID_BASE + user.id,
                email=user.email,
                first_name=user.first_name,
                last_name=user.last_name,
                created_at=world.now,
            )
        )
    companies = {c.id: c for c in world.companies}
    deals_by_person: dict[int, list[bool]] = {}
    for deal in world.deals:
        deals_by_person.setdefault(deal.person_id, []).append(deal.won)
    contact_of: dict[int, str] = {}
    for person in world.persons:
        if not person.in_crm:
            continue
        outcomes = deals_by_person.get(person.id, [])
        stage = "customer" if any(outcomes) else "opportunity" if outcomes else "lead"
        company = companies.get(person.company_id) if person.company_id is not None else None
        values = {
            "email": (person.crm_email or person.email).lower(),
            "firstname": person.first_name,
            "lastname": person.last_name,
            "jobtitle": person.position,
            "company": company.name if company else None,
            "country": person.country,
            "city": person.city,
            "phone": person.phone,
            "lifecyclestage": stage,
            "hubspot_owner_id": owner_id(person.owner_id) if person.owner_id else None,
            "createdate": iso_ms(person.created_at),
        }
        record = state.create("contacts", values, at=person.created_at, check=False)
        contact_of[person.id] = record.id
    deals = 0
    for deal in world.deals:
        contact = contact_of.get(deal.person_id)
        if contact is None:
            continue
        values = {
            "dealname": deal.name,
            "amount": number_text(deal.amount),
            "pipeline": "default",
            "dealstage": "closedwon" if deal.won else "closedlost",
            "closedate": iso_instant(deal.closed_at),
            "createdate": iso_ms(deal.created_at),
            "hubspot_owner_id": owner_id(deal.owner_id) if deal.owner_id else None,
        }
        record = state.create("deals", values, at=deal.created_at, check=False)
        state.associate("deals", record.id, "contacts", contact)
        _touch(record, "hs_lastmodifieddate", deal.closed_at)
        _touch(state.records["contacts"][contact], "lastmodifieddate", deal.closed_at)
        deals += 1
    return {"owners": len(world.users), "contacts": len(contact_of), "deals": deals}
