"""Loading a seeded :class:`~scorebridge.sandbox.world.World` into the Mautic emulator's state.

Sales reps become users, persons in Mautic become contacts (id = person id, stage "Lead", owner
mapped to the rep's user id) and every activity goes through :class:`Recorder`, the same code the
control path uses, so stats rows, point-log rows and ``date_modified`` come out as Mautic would
record them. Contacts created by form/import have ``date_modified = null`` until something
changes them.
"""

from __future__ import annotations

import gc

from scorebridge.sandbox.mautic.instance import add_user
from scorebridge.sandbox.mautic.recording import Recorder
from scorebridge.sandbox.mautic.state import Contact, MauticState, Publish, db_time
from scorebridge.sandbox.world import World


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
