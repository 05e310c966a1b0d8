"""Loading a seeded :class:`~scorebridge.sandbox.world.World` into the Mautic emulator's state.

Sales reps become users, persons in Mautic become contacts (id = person id, stage "Lead", owner
mapped to the rep's user id) and every activity goes through :class:`Recorder`, the same code the
control path uses, so stats rows, point-log rows and ``date_modified`` come out as Mautic would
record them. Contacts created by form/import have ``date_modified = null`` until something
changes them.

The companies of the world's Mautic contacts become Mautic companies (id = company id, created
with their first contact) and each contact is linked to its company as primary with the
``lead_companies_change_log`` row a form submission's company identification writes
(:mod:`.companies`); a company's industry becomes the nearest ``companyindustry`` option.
"""

from __future__ import annotations

import gc

from scorebridge.sandbox.mautic import companies
from scorebridge.sandbox.mautic.instance import add_user
from scorebridge.sandbox.mautic.recording import Recorder
from scorebridge.sandbox.mautic.state import Company, Contact, MauticState, Publish, db_time
from scorebridge.sandbox.world import Company as WorldCompany
from scorebridge.sandbox.world import World

#: The world's industries as ``companyindustry`` options (:data:`.instance.INDUSTRIES`).
INDUSTRY_OPTIONS = {
    "Logistics": "Transportation",
    "Transport": "Transportation",
    "Maritime": "Shipping",
    "Energy": "Energy",
    "Manufacturing": "Manufacturing",
    "Food & Beverage": "Food & Beverage",
    "Retail": "Retail",
    "Construction": "Construction",
    "Healthcare": "Healthcare",
    "Software": "Technology",
    "Finance": "Finance",
    "Telecom": "Telecommunications",
    "Utilities": "Utilities",
}


def load_world(state: MauticState, recorder: Recorder, world: World) -> dict[int, int]:
    """Load ``world`` into an instance-configured, contact-free state; returns rep id -> user id."""
    users = {
        u.id: add_user(state, u.first_name, u.last_name, u.email, world.now).id for u in world.users
    }
    companies = {c.id: c for c in world.companies}
    lead = next((s for s in state.stages.values() if s.name == "Lead"), None)
    stage_log = state.table("lead_stages_change_log")
    for person in world.persons:
        if not person.in_mautic:
            continue
        at = db_time(person.created_at)
        company = companies.get(person.company_id) if person.company_id is not None else None
        values: dict[str, object] = {
            "firstname": person.first_name,
            "lastname": person.last_name,
            "email": person.email,
            "position": person.position,
            "phone": person.phone or None,
            "city": person.city,
            "country": person.country,
        }
        if company is not None:
            values.update(
                company=company.name,
                website=f"https://{company.domain}",
                company_size=company.size,
                industry=company.industry,
            )
        for key, value in person.extra.items():
            if key in state.fields and key not in values:
                values[key] = value
        contact = Contact(
            id=person.id,
            publish=Publish(date_added=at),
            values=values,
            owner_id=users.get(person.owner_id) if person.owner_id is not None else None,
            date_identified=at,
        )
        if lead is not None:
            contact.stage_id = lead.id
            stage_log.insert(
                lead_id=contact.id,
                stage_id=lead.id,
                event_name=f"{lead.id}: {lead.name}",
                action_name="Stage changed",
                date_added=at,
            )
        state.contacts[contact.id] = contact
        state.index_email(contact, None)
    state.bump_id("contact", max(state.contacts, default=0))
    _link_companies(state, world)
    contacts = state.contacts
    record = recorder.record
    collecting = gc.isenabled()
    gc.disable()  # hundreds of thousands of long-lived row dicts: collection passes only cost
    try:
        for activity in world.activities:
            target = contacts.get(activity.person_id)
            if target is not None:
                record(target, activity.kind, db_time(activity.at), activity.attrs)
    finally:
        if collecting:
            gc.enable()
    return users


def _company(state: MauticState, source: WorldCompany, at: str) -> Company:
    company = Company(
        id=source.id,
        publish=Publish(date_added=at),
        values={
            "companyname": source.name,
            "companywebsite": f"https://{source.domain}",
            "companynumber_of_employees": source.size,
            "companyindustry": INDUSTRY_OPTIONS.get(source.industry, "Other"),
            "companycity": source.city,
            "companycountry": source.country,
        },
    )
    state.companies[company.id] = company
    return company


def _link_companies(state: MauticState, world: World) -> None:
    """Each Mautic contact's company, created with its first contact, linked as primary."""
    sources = {c.id: c for c in world.companies}
    members = sorted(
        (p for p in world.persons if p.in_mautic and p.company_id in sources),
        key=lambda p: (p.created_at, p.id),
    )
    for person in members:
        contact = state.contacts[person.id]
        at = db_time(person.created_at)
        company = state.companies.get(person.company_id or 0)
        if company is None:
            company = _company(state, sources[person.company_id or 0], at)
        companies.log_identified(state, contact, company, at)
        companies.add_contact(state, company, contact, at)
    state.bump_id("company", max(state.companies, default=0))
