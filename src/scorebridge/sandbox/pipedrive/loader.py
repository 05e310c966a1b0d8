"""Load a seeded :class:`~scorebridge.sandbox.world.World` into an emulated Pipedrive company.

Owns the mapping from the neutral world to what Pipedrive would have recorded: sales reps become
users (ids :data:`USER_ID_BASE` + rep id), companies of CRM persons become organizations, persons
in the CRM become persons (under their CRM e-mail; Pipedrive has no unowned persons, so a person
without a rep belongs to the company's admin), closed deals land in the default pipeline, won in
its last stage and lost in an earlier one, linked by ``person_id``. Everything is back-dated to
the world's own timestamps.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from scorebridge.sandbox.pipedrive.deals import new_deal
from scorebridge.sandbox.pipedrive.persons import new_person
from scorebridge.sandbox.pipedrive.state import DEFAULT_STAGES, Company, Record
from scorebridge.sandbox.world import World

USER_ID_BASE = 23_450_000
LOST_REASONS = ("Chose competitor", "No budget", "Bad timing", "No decision")


def user_record(user_id: int, name: str, email: str, admin: bool, at: datetime) -> Record:
    """A company user."""
    return {
        "id": user_id,
        "name": name,
        "email": email,
        "active_flag": True,
        "is_admin": admin,
        "timezone_name": "Europe/Berlin",
        "default_currency": "EUR",
        "created": at,
        "modified": at,
    }


def load_world(company: Company, world: World, admin_id: int) -> dict[str, int]:
    """Add the world's reps, organizations, persons and deals; counts of what was added."""
    since = world.now - timedelta(days=world.days)
    for user in world.users:
        name = f"{user.first_name} {user.last_name}"
        company.users[USER_ID_BASE + user.id] = user_record(
            USER_ID_BASE + user.id, name, user.email, False, since
        )
    closes: dict[int, list[datetime]] = {}
    for deal in world.deals:
        closes.setdefault(deal.person_id, []).append(deal.closed_at)
    companies = {c.id: c for c in world.companies}
    org_of: dict[int, int] = {}
    person_of: dict[int, int] = {}
    for person in world.persons:
        if not person.in_crm:
            continue
        org_id = None
        if person.company_id is not None and person.company_id in companies:
            if person.company_id not in org_of:
                org = companies[person.company_id]
                org_of[org.id] = company.add(
                    "organizations",
                    {
                        "name": org.name,
                        "owner_id": admin_id,
                        "add_time": since,
                        "update_time": since,
                        "is_deleted": False,
                        "visible_to": 3,
                        "label_ids": [],
                        "address": {
                            "value": f"{org.city}, {org.country}",
                            "country": org.country,
                            "locality": org.city,
                        },
                        "custom_fields": {},
                    },
                    at=since,
                )["id"]
            org_id = org_of[person.company_id]
        owner = USER_ID_BASE + person.owner_id if person.owner_id else admin_id
        email = (person.crm_email or person.email).lower()
        record = new_person(owner)
        record.update(
            name=f"{person.first_name} {person.last_name}",
            first_name=person.first_name,
            last_name=person.last_name,
            org_id=org_id,
            add_time=person.created_at,
            update_time=max([person.created_at, *closes.get(person.id, [])]),
            emails=[{"value": email, "primary": True, "label": "work"}],
            phones=[{"value": person.phone, "primary": True, "label": "work"}],
            job_title=person.position,
            postal_address={
                "value": f"{person.city}, {person.country}",
                "country": person.country,
                "locality": person.city,
            },
        )
        person_of[person.id] = company.add("persons", record, at=person.created_at)["id"]
    deals = 0
    last_stage = len(DEFAULT_STAGES)
    for deal in world.deals:
        person_id = person_of.get(deal.person_id)
        if person_id is None:
            continue
        owner = USER_ID_BASE + deal.owner_id if deal.owner_id else admin_id
        record = new_deal(owner, company.currency, origin="ManuallyCreated")
        status = "won" if deal.won else "lost"
        record.update(
            title=deal.name,
            person_id=person_id,
            org_id=company.records["persons"][person_id]["org_id"],
            pipeline_id=1,
            stage_id=last_stage if deal.won else 1 + deal.id % (last_stage - 1),
            value=int(deal.amount) if float(deal.amount).is_integer() else deal.amount,
            add_time=deal.created_at,
            update_time=deal.closed_at,
            stage_change_time=deal.closed_at,
            status=status,
            lost_reason=None if deal.won else LOST_REASONS[deal.id % len(LOST_REASONS)],
            close_time=deal.closed_at,
            won_time=deal.closed_at if deal.won else None,
            lost_time=None if deal.won else deal.closed_at,
            expected_close_date=deal.closed_at.date().isoformat(),
        )
        company.add("deals", record, at=deal.created_at)
        deals += 1
    return {
        "users": len(world.users),
        "organizations": len(org_of),
        "persons": len(person_of),
        "deals": deals,
    }
