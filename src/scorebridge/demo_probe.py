"""What the demo reads from the running sandbox, in-process: request counts and one lead's state
in each emulator (Mautic stage, points, segments, notes; the CRM's record, tasks and deals, in
one neutral shape for HubSpot, Pipedrive and Salesforce alike).

Owns these read-only looks. Each holds the emulator's state lock, so no request handler runs
meanwhile. Must not: change emulator state or send requests.
"""

from __future__ import annotations

from typing import Any

from scorebridge.sandbox.runner import Sandbox


def request_counts(sandbox: Sandbox) -> dict[str, int]:
    """Requests each emulator received so far."""
    return {name: sum(server.request_counts().values()) for name, server in sandbox.servers.items()}


def crm_counts(sandbox: Sandbox, crm: str) -> dict[str, int]:
    """Contacts, tasks and deals the CRM emulator holds."""
    with sandbox.servers[crm].lock:
        truth = sandbox.crms[crm].truth()
    if crm == "pipedrive":
        return {"contacts": truth["persons"], "tasks": truth["activities"], "deals": truth["deals"]}
    if crm == "salesforce":
        contacts = truth["leads"] - truth["converted_leads"] + truth["contacts"]
        return {"contacts": contacts, "tasks": truth["tasks"], "deals": truth["opportunities"]}
    return {k: int(truth[k]) for k in ("contacts", "tasks", "deals")}


def mautic_lead(sandbox: Sandbox, mautic_id: int | None) -> dict[str, Any]:
    """The contact's stage, points, group scores, field values, segments, tags and notes."""
    if mautic_id is None:
        return {}
    with sandbox.servers["mautic"].lock:
        truth = dict(sandbox.mautic.truth(str(mautic_id)))
        truth["fields"] = dict(sandbox.mautic.state.contacts[mautic_id].values)
        truth["notes"] = [
            {"type": n.type, "text": n.text}
            for n in sandbox.mautic.state.notes.values()
            if n.lead_id == mautic_id
        ]
    return truth


def crm_lead(sandbox: Sandbox, crm: str, email: str) -> dict[str, Any]:
    """The CRM record with this e-mail: ``{id, lifecycle, score, stage_score, band, tasks:
    [{subject, owner, due, priority}], deals: [{name, owner, stage}]}`` ({} if none)."""
    look = {"hubspot": _hubspot_lead, "pipedrive": _pipedrive_lead, "salesforce": _salesforce_lead}
    with sandbox.servers[crm].lock:
        return look[crm](sandbox.crms[crm], email)


def _hubspot_lead(emulator: Any, email: str) -> dict[str, Any]:
    state = emulator.state
    owners = {o.id: f"{o.first_name} {o.last_name}" for o in state.owners}
    contact = next(
        (
            r
            for r in state.records["contacts"].values()
            if not r.archived and r.properties.get("email") == email
        ),
        None,
    )
    if contact is None:
        return {}

    def linked(kind: str) -> list[dict[str, Any]]:
        rows = [state.records[kind].get(i) for i in state.associated("contacts", contact.id, kind)]
        return [dict(r.properties) for r in rows if r and not r.archived]

    props = contact.properties
    return {
        "id": contact.id,
        "lifecycle": props.get("lifecyclestage"),
        "score": props.get("scorebridge_score"),
        "stage_score": props.get("scorebridge_stage_score"),
        "band": props.get("scorebridge_band"),
        "tasks": [
            {
                "subject": t.get("hs_task_subject"),
                "owner": owners.get(str(t.get("hubspot_owner_id")), "-"),
                "due": t.get("hs_timestamp"),
                "priority": t.get("hs_task_priority"),
            }
            for t in linked("tasks")
        ],
        "deals": [
            {
                "name": d.get("dealname"),
                "owner": owners.get(str(d.get("hubspot_owner_id")), "-"),
                "stage": d.get("dealstage"),
            }
            for d in linked("deals")
        ],
    }


def _pipedrive_lead(emulator: Any, email: str) -> dict[str, Any]:
    company = emulator.company
    owners = {uid: u["name"] for uid, u in company.users.items()}
    person = next(
        (
            p
            for p in company.records["persons"].values()
            if not p["is_deleted"] and any(e["value"] == email for e in p["emails"])
        ),
        None,
    )
    if person is None:
        return {}
    fields = {f.name: f for f in company.person_fields}

    def value(name: str) -> Any:
        field = fields.get(name)
        raw = person["custom_fields"].get(field.code) if field else None
        options = {o["id"]: o["label"] for o in getattr(field, "options", None) or []}
        return options.get(raw, raw)

    stages = {s["id"]: s["name"] for s in company.stages}
    live = [r for r in company.records["activities"].values() if not r["is_deleted"]]
    deals = [r for r in company.records["deals"].values() if not r["is_deleted"]]
    return {
        "id": person["id"],
        "lifecycle": value("Lifecycle stage"),
        "score": value("scorebridge_score"),
        "stage_score": value("scorebridge_stage_score"),
        "band": value("scorebridge_band"),
        "tasks": [
            {
                "subject": a["subject"],
                "owner": owners.get(a["owner_id"], "-"),
                "due": f"{a['due_date']}T{a.get('due_time') or '00:00'}:00Z",
                "priority": None,  # Pipedrive's priority options are per company
            }
            for a in live
            if a.get("person_id") == person["id"]
        ],
        "deals": [
            {
                "name": d["title"],
                "owner": owners.get(d["owner_id"], "-"),
                "stage": stages.get(d["stage_id"], d["stage_id"]),
            }
            for d in deals
            if d.get("person_id") == person["id"]
        ],
    }


def _salesforce_lead(emulator: Any, email: str) -> dict[str, Any]:
    org = emulator.org
    owners = {u["Id"]: f"{u['FirstName']} {u['LastName']}" for u in org.rows("User")}
    people = [
        r
        for name in ("Lead", "Contact")
        for r in org.rows(name)
        if r.get("Email") == email and not r.get("IsConverted")
    ]
    if not people:
        return {}
    record = people[0]
    roles = {r["OpportunityId"] for r in org.rows("OpportunityContactRole")
             if r["ContactId"] == record["Id"]}  # fmt: skip
    return {
        "id": record["Id"],
        "lifecycle": record.get("scorebridge_lifecycle__c"),
        "score": record.get("scorebridge_score__c"),
        "stage_score": record.get("scorebridge_stage_score__c"),
        "band": record.get("scorebridge_band__c"),
        "tasks": [
            {
                "subject": t["Subject"],
                "owner": owners.get(t["OwnerId"], "-"),
                "due": str(t["ActivityDate"]),
                "priority": t["Priority"],
            }
            for t in org.rows("Task")
            if t["WhoId"] == record["Id"]
        ],
        "deals": [
            {"name": o["Name"], "owner": owners.get(o["OwnerId"], "-"), "stage": o["StageName"]}
            for o in org.rows("Opportunity")
            if o["Id"] in roles or o.get("ContactId") == record["Id"]
        ],
    }
