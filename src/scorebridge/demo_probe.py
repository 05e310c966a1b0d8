"""What the demo reads from the running sandbox, in-process: request counts and one lead's state
in each emulator (Mautic stage, points, segments, notes; HubSpot properties, tasks, deals).

Owns these read-only looks. Each holds the emulator's state lock, so no request handler runs
meanwhile. Must not: change emulator state or send requests.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from scorebridge.sandbox.runner import Sandbox


def request_counts(sandbox: Sandbox) -> dict[str, int]:
    """Requests each emulator received so far."""
    return {name: sum(server.request_counts().values()) for name, server in sandbox.servers.items()}


def hubspot_owner_ids(sandbox: Sandbox) -> list[str]:
    """The active HubSpot owners (the sales reps)."""
    with sandbox.servers["hubspot"].lock:
        return [o.id for o in sandbox.crms["hubspot"].state.owners if not o.archived]


def hubspot_counts(sandbox: Sandbox) -> dict[str, int]:
    """Contacts, tasks and deals the HubSpot emulator holds."""
    with sandbox.servers["hubspot"].lock:
        truth = sandbox.crms["hubspot"].truth()
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


def _task(props: dict[str, Any], owners: dict[str, str]) -> dict[str, Any]:
    return {
        "subject": props.get("hs_task_subject"),
        "owner": owners.get(str(props.get("hubspot_owner_id")), "-"),
        "due": props.get("hs_timestamp"),
        "priority": props.get("hs_task_priority"),
    }


def _deal(props: dict[str, Any], owners: dict[str, str]) -> dict[str, Any]:
    return {
        "name": props.get("dealname"),
        "owner": owners.get(str(props.get("hubspot_owner_id")), "-"),
        "stage": props.get("dealstage"),
    }


def hubspot_lead(sandbox: Sandbox, email: str) -> dict[str, Any]:
    """The HubSpot contact with this e-mail: id, properties, tasks and deals ({} if none)."""
    with sandbox.servers["hubspot"].lock:
        state = sandbox.crms["hubspot"].state
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

        def linked(kind: str, pick: Callable[[dict[str, Any], dict[str, str]], Any]) -> list[Any]:
            rows = [
                state.records[kind].get(i) for i in state.associated("contacts", contact.id, kind)
            ]
            return [pick(dict(r.properties), owners) for r in rows if r and not r.archived]

        return {
            "id": contact.id,
            "properties": dict(contact.properties),
            "tasks": linked("tasks", _task),
            "deals": linked("deals", _deal),
        }
