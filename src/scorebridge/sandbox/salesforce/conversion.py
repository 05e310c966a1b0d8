"""Lead conversion, as a rep does it in Salesforce (the UI's *Convert*, Apex
``Database.convertLead``; the REST API has no conversion call, so the emulator offers it as the
control route ``POST /_sandbox/leads/convert``).

What a conversion leaves (Salesforce Help, "Convert Leads"; ``LeadConvert`` in the Apex reference):
an Account named after the Lead's ``Company`` (an existing Account of that name is reused, as the
UI proposes it), a Contact with the Lead's name, e-mail, phone, title, address and owner on that
Account, and, when asked, an Opportunity (not offered here: scorebridge opens its own); the Lead
becomes read-only with ``IsConverted``, ``ConvertedDate``, ``ConvertedContactId``,
``ConvertedAccountId``, ``ConvertedOpportunityId`` and the converted status. Knows nothing about
HTTP.
"""

from __future__ import annotations

from typing import Any

from scorebridge.sandbox.salesforce import errors
from scorebridge.sandbox.salesforce.org import Org, Record

CONVERTED_STATUS = "Closed - Converted"
#: Lead field -> Contact field a conversion copies.
CONTACT_FIELDS = {
    "FirstName": "FirstName",
    "LastName": "LastName",
    "Email": "Email",
    "Phone": "Phone",
    "Title": "Title",
    "City": "MailingCity",
    "Country": "MailingCountry",
    "LeadSource": "LeadSource",
    "OwnerId": "OwnerId",
}


def convert_lead(org: Org, lead_id: str) -> dict[str, Any]:
    """Convert the Lead ``lead_id`` without an Opportunity (the convert dialog's "Don't create an
    opportunity"); the ids of what was made. A converted or unknown Lead is an error."""
    found = org.find(lead_id)
    if found is None or found[0].name != "Lead":
        raise errors.bad("INVALID_ID_FIELD", f"no Lead with id {lead_id}")
    lead = found[1]
    if lead["IsConverted"]:
        raise errors.bad("CANNOT_UPDATE_CONVERTED_LEAD", "cannot reference converted lead")
    now = org.now()
    account_id = _account(org, str(lead.get("Company") or lead["LastName"]))
    contact = org.create(
        org.objects["Contact"],
        {**{to: lead.get(frm) for frm, to in CONTACT_FIELDS.items()}, "AccountId": account_id},
        at=now,
        check=False,
    )
    lead.update(
        Status=CONVERTED_STATUS,
        IsConverted=True,
        ConvertedDate=now.date().isoformat(),
        ConvertedContactId=contact["Id"],
        ConvertedAccountId=account_id,
        ConvertedOpportunityId=None,
    )
    org.touch(lead, now)
    return {
        "lead_id": lead_id,
        "contact_id": contact["Id"],
        "account_id": account_id,
        "opportunity_id": None,
    }


def _account(org: Org, name: str) -> str:
    """The Account named ``name`` (the first one), or a new one."""
    existing: Record | None = next((a for a in org.rows("Account") if a["Name"] == name), None)
    if existing is not None:
        return str(existing["Id"])
    return str(org.create(org.objects["Account"], {"Name": name}, at=org.now(), check=False)["Id"])
