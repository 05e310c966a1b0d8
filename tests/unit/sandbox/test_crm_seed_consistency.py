"""The three CRM emulators load one seeded world consistently: the same people under their CRM
e-mail, owners that are the world's sales reps, and closed deals with the same outcome, amount
and person, whose win rate still follows the hidden intent."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from scorebridge.sandbox.hubspot import HubSpotEmulator
from scorebridge.sandbox.pipedrive import PipedriveEmulator
from scorebridge.sandbox.pipedrive.loader import USER_ID_BASE
from scorebridge.sandbox.salesforce import SalesforceEmulator
from scorebridge.sandbox.seed import generate_world
from scorebridge.sandbox.world import World

NOW = datetime(2026, 11, 22, 10, 0, tzinfo=UTC)


@pytest.fixture(scope="module")
def world() -> World:
    return generate_world(contacts=600, days=45, seed=5, now=NOW)


def _crm_people(world: World) -> dict[str, tuple[str | None, list[tuple[bool, float]]]]:
    """CRM e-mail -> (owner e-mail, sorted (won, amount) of the person's deals)."""
    reps = {u.id: u.email for u in world.users}
    deals: dict[int, list[tuple[bool, float]]] = {}
    for deal in world.deals:
        deals.setdefault(deal.person_id, []).append((deal.won, deal.amount))
    return {
        (p.crm_email or p.email).lower(): (
            reps.get(p.owner_id) if p.owner_id else None,
            sorted(deals.get(p.id, [])),
        )
        for p in world.persons
        if p.in_crm
    }


def test_pipedrive_holds_the_worlds_people_owners_and_deals(world: World) -> None:
    emulator = PipedriveEmulator()
    emulator.load(world)
    company = emulator.company
    users = {u["id"]: u["email"] for u in company.users.values()}
    assert {e for i, e in users.items() if i != USER_ID_BASE} == {u.email for u in world.users}
    seen = {}
    for person in company.records["persons"].values():
        deals = sorted(
            (d["status"] == "won", float(d["value"]))
            for d in company.records["deals"].values()
            if d["person_id"] == person["id"]
        )
        owner = users[person["owner_id"]] if person["owner_id"] != USER_ID_BASE else None
        seen[person["emails"][0]["value"]] = (owner, deals)
    assert seen == _crm_people(world)
    statuses = {d["status"] for d in company.records["deals"].values()}
    assert statuses == {"won", "lost"}


def test_salesforce_holds_the_worlds_people_owners_and_deals(world: World) -> None:
    emulator = SalesforceEmulator()
    emulator.load(world)
    org = emulator.org
    users = {u["Id"]: u["Email"] for u in org.rows("User")}
    assert set(users.values()) - {"integration@nordlicht-analytics.example"} == {
        u.email for u in world.users
    }
    contact_of = {c["Id"]: c for c in org.rows("Contact")}
    seen = {}
    for lead in org.rows("Lead"):
        deals = []
        if lead["IsConverted"]:
            contact = contact_of[lead["ConvertedContactId"]]
            assert contact["Email"] == lead["Email"]
            deals = sorted(
                (o["IsWon"], o["Amount"])
                for o in org.rows("Opportunity")
                if o["ContactId"] == contact["Id"]
            )
            roles = [
                r for r in org.rows("OpportunityContactRole") if r["ContactId"] == contact["Id"]
            ]
            assert len(roles) == len(deals)
        owner = users[lead["OwnerId"]]
        seen[lead["Email"]] = (owner if owner != users[org.running_user] else None, deals)
    assert seen == _crm_people(world)
    assert all(o["IsClosed"] for o in org.rows("Opportunity"))


def test_hubspot_pipedrive_and_salesforce_agree_and_deals_follow_intent(world: World) -> None:
    hub, pipe, force = HubSpotEmulator(), PipedriveEmulator(), SalesforceEmulator()
    counts = [e.load(world) for e in (hub, pipe, force)]
    persons = sum(p.in_crm for p in world.persons)
    assert (counts[0]["contacts"], counts[1]["persons"], counts[2]["leads"]) == (persons,) * 3
    assert (
        counts[0]["deals"] == counts[1]["deals"] == counts[2]["opportunities"] == len(world.deals)
    )
    intent = {p.id: p.intent for p in world.persons}
    won = [intent[d.person_id] for d in world.deals if d.won]
    lost = [intent[d.person_id] for d in world.deals if not d.won]
    assert sum(won) / len(won) > sum(lost) / len(lost) + 0.1
