"""The org's fixed setup and the loading of a seeded :class:`~scorebridge.sandbox.world.World`.

Owns what every org has (two profiles, their permission sets, the integration user that
client-credentials sessions run as and that is pre-authorized for JWT) and the mapping from the
neutral world to what Salesforce would have recorded: sales reps become users; a CRM person
without a deal is an open Lead; a person with deals was converted: a Contact (with an Account:
the person's company, or one in the person's name), a converted Lead pointing at it, and one
closed Opportunity per deal (``Closed Won``/``Closed Lost``, ``ContactId`` set, a primary
``OpportunityContactRole``). Records without a rep belong to the integration user. Everything is
back-dated to the world's own timestamps.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from typing import Any

from scorebridge.sandbox.salesforce.org import Org, Record
from scorebridge.sandbox.world import Deal, Person, World

INTEGRATION_USERNAME = "integration@nordlicht-analytics.example.sandbox"
INTEGRATION_PROFILE = "System Administrator"


def set_up(org: Org, at: datetime) -> None:
    """Profiles, their permission sets and the integration user; it becomes the running user."""
    for name in (INTEGRATION_PROFILE, "Standard User"):
        profile = _add(org, "Profile", {"Name": name}, at)
        _add(
            org,
            "PermissionSet",
            {
                "Name": "X" + profile["Id"][:15],
                "Label": name,
                "IsOwnedByProfile": True,
                "ProfileId": profile["Id"],
            },
            at,
        )
    user = add_user(org, "Integration", "User", "integration@nordlicht-analytics.example", at)
    user["Username"] = INTEGRATION_USERNAME
    user["ProfileId"] = profile_id(org, INTEGRATION_PROFILE)
    org.running_user = user["Id"]


def profile_id(org: Org, name: str) -> str:
    """The id of a profile by name."""
    return str(next(p["Id"] for p in org.rows("Profile") if p["Name"] == name))


def add_user(org: Org, first: str, last: str, email: str, at: datetime) -> Record:
    """An active standard user."""
    values = {
        "Username": email,
        "FirstName": first,
        "LastName": last,
        "Email": email,
        "IsActive": True,
        "UserType": "Standard",
        "ProfileId": profile_id(org, "Standard User"),
    }
    return _add(org, "User", values, at)


def load_world(org: Org, world: World) -> dict[str, int]:
    """Add the world's reps, accounts, leads, contacts and opportunities; counts."""
    since = world.now - timedelta(days=world.days)
    owner_of = {
        user.id: add_user(org, user.first_name, user.last_name, user.email, since)["Id"]
        for user in world.users
    }
    deals: dict[int, list[Deal]] = {}
    for deal in world.deals:
        deals.setdefault(deal.person_id, []).append(deal)
    companies = {c.id: c for c in world.companies}
    accounts: dict[str, str] = {}
    counts = {"users": len(owner_of), "leads": 0, "contacts": 0, "opportunities": 0}

    def account(name: str, extra: dict[str, Any]) -> str:
        if name not in accounts:
            accounts[name] = _add(org, "Account", {"Name": name, **extra}, since)["Id"]
        return accounts[name]

    for person in world.persons:
        if not person.in_crm:
            continue
        owner = owner_of.get(person.owner_id or 0, org.running_user)
        company = companies.get(person.company_id) if person.company_id is not None else None
        email = (person.crm_email or person.email).lower()
        lead = {
            "FirstName": person.first_name,
            "LastName": person.last_name,
            "Company": company.name if company else f"{person.first_name} {person.last_name}",
            "Email": email,
            "Phone": person.phone,
            "Title": person.position,
            "City": person.city,
            "Country": person.country,
            "Status": "Working - Contacted" if person.id % 3 == 0 else "Open - Not Contacted",
            "LeadSource": "Web",
            "OwnerId": owner,
        }
        closed = deals.get(person.id, [])
        if closed:
            firm = (
                {"NumberOfEmployees": company.size, "BillingCountry": company.country}
                if (company)
                else {}
            )
            account_id = account(str(lead["Company"]), firm)
            converted = _convert(org, person, closed, lead, account_id, owner, email)
            counts["contacts"] += 1
            counts["opportunities"] += len(closed)
            lead.update(converted)
        record = _add(org, "Lead", lead, person.created_at)
        if closed:
            org.touch(record, min(d.created_at for d in closed))  # converted then
        counts["leads"] += 1
    counts["accounts"] = len(accounts)
    return counts


def _convert(
    org: Org,
    person: Person,
    closed: list[Deal],
    lead: dict[str, Any],
    account_id: str,
    owner: str,
    email: str,
) -> dict[str, Any]:
    """The Contact and Opportunities of a converted lead; the lead's conversion fields."""
    first = min(closed, key=lambda d: d.created_at)
    contact = _add(
        org,
        "Contact",
        {
            "FirstName": person.first_name,
            "LastName": person.last_name,
            "Email": email,
            "Phone": person.phone,
            "Title": person.position,
            "AccountId": account_id,
            "MailingCity": person.city,
            "MailingCountry": person.country,
            "LeadSource": "Web",
            "OwnerId": owner,
        },
        first.created_at,
    )
    opportunity_of = {}
    for deal in closed:
        opportunity = _add(
            org,
            "Opportunity",
            {
                "Name": deal.name,
                "StageName": "Closed Won" if deal.won else "Closed Lost",
                "CloseDate": deal.closed_at.date().isoformat(),
                "Amount": float(deal.amount),
                "AccountId": account_id,
                "ContactId": contact["Id"],
                "LeadSource": "Web",
                "OwnerId": org.running_user if deal.owner_id is None else owner,
            },
            deal.created_at,
        )
        role = {"OpportunityId": opportunity["Id"], "ContactId": contact["Id"]}
        _add(org, "OpportunityContactRole", {**role, "Role": "Decision Maker", "IsPrimary": True},
             deal.created_at)  # fmt: skip
        org.touch(opportunity, deal.closed_at)
        opportunity_of[deal.id] = opportunity["Id"]
    org.touch(contact, max(d.closed_at for d in closed))
    return {
        "Status": "Closed - Converted",
        "IsConverted": True,
        "ConvertedDate": first.created_at.date().isoformat(),
        "ConvertedContactId": contact["Id"],
        "ConvertedAccountId": account_id,
        "ConvertedOpportunityId": opportunity_of[first.id],
    }


def _add(org: Org, name: str, values: dict[str, Any], at: datetime) -> Record:
    return org.create(org.objects[name], values, at=at, check=False)
