"""HubSpot emulator over real sockets: unique values and what reads are consistent.

Unique-value properties (``hasUniqueValue``) refuse a second record holding the value — on a
single create, a batch create and an update alike, before anything is applied — and serve as
``idProperty`` for reads; e-mail is the contact's built-in unique value (409 "Contact already
exists. Existing ID: N", samples/hubspot/error_409_contact_exists.json). Search shows writes only
after ``search_lag_ms``; reads by id, by unique value and through associations never lag.
"""

from __future__ import annotations

from typing import Any

import pytest
from hubspot_emu_support import Hub, sample

KEY = "scorebridge_key"


@pytest.fixture
def hub(served: Hub) -> Hub:
    return served.fresh()


def unique_key_property(hub: Hub, kind: str = "deals") -> Any:
    definition = {
        "name": KEY,
        "label": "scorebridge key",
        "type": "string",
        "fieldType": "text",
        "groupName": "dealinformation" if kind == "deals" else "task",
        "hasUniqueValue": True,
    }
    return hub.call("POST", f"/crm/v3/properties/{kind}", definition)


def deal(name: str, key: str, contact_id: str | None = None) -> dict[str, Any]:
    body: dict[str, Any] = {"properties": {"dealname": name, "pipeline": "default", KEY: key}}
    if contact_id is not None:
        body["associations"] = [
            {
                "to": {"id": contact_id},
                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 3}],
            }
        ]
    return body


def test_a_second_deal_with_a_taken_unique_value_is_refused_and_nothing_is_created(
    hub: Hub,
) -> None:
    created = unique_key_property(hub)
    assert created.status_code == 201, created.text
    assert created.json()["hasUniqueValue"] is True
    first = hub.call("POST", "/crm/v3/objects/deals", deal("First", "hot:1:1"))
    assert first.status_code == 201
    again = hub.call("POST", "/crm/v3/objects/deals", deal("Second", "hot:1:1"))
    assert again.status_code == 409
    assert again.json()["category"] == "CONFLICT"
    assert first.json()["id"] in again.json()["message"]
    twice = {"inputs": [deal("A", "hot:2:1"), deal("B", "hot:2:1")]}
    assert hub.call("POST", "/crm/v3/objects/deals/batch/create", twice).status_code == 409
    taken = {"inputs": [deal("C", "hot:3:1"), deal("D", "hot:1:1")]}
    assert hub.call("POST", "/crm/v3/objects/deals/batch/create", taken).status_code == 409
    assert hub.truth()["deals"] == 1  # the refused batches applied nothing


def test_a_deal_is_read_by_its_unique_value_at_once_while_search_still_lags(hub: Hub) -> None:
    unique_key_property(hub)
    with hub.server.lock:
        hub.emulator.state.search_lag_ms = 5_000
    contact = hub.create_contact(email="lag@example.com")
    made = hub.call("POST", "/crm/v3/objects/deals", deal("Hot", "hot:9:1", contact["id"]))
    deal_id = made.json()["id"]
    search = {
        "filterGroups": [{"filters": [{"propertyName": KEY, "operator": "EQ", "value": "hot:9:1"}]}]
    }
    assert hub.call("POST", "/crm/v3/objects/deals/search", search).json()["total"] == 0
    read = hub.call(
        "POST",
        "/crm/v3/objects/deals/batch/read",
        {"inputs": [{"id": "hot:9:1"}], "idProperty": KEY, "properties": [KEY]},
    )
    assert read.status_code == 200
    assert [r["id"] for r in read.json()["results"]] == [deal_id]
    linked = hub.call("GET", f"/crm/v4/objects/contacts/{contact['id']}/associations/deals")
    assert [r["toObjectId"] for r in linked.json()["results"]] == [deal_id]
    missing = hub.call(
        "POST",
        "/crm/v3/objects/deals/batch/read",
        {"inputs": [{"id": "hot:9:2"}], "idProperty": KEY},
    )
    assert missing.status_code == 207
    assert missing.json()["errors"][0]["category"] == "OBJECT_NOT_FOUND"
    hub.advance(6)
    assert hub.call("POST", "/crm/v3/objects/deals/search", search).json()["total"] == 1


def test_tasks_cannot_have_unique_value_properties(hub: Hub) -> None:
    refused = unique_key_property(hub, "tasks")
    assert refused.status_code == 400
    assert "tasks" in refused.json()["message"]


def test_an_e_mail_change_to_another_contacts_e_mail_is_the_409_and_changes_nothing(
    hub: Hub,
) -> None:
    taken = hub.create_contact(email="taken@example.com")
    mover = hub.create_contact(email="old@example.com")
    single = hub.call(
        "PATCH",
        f"/crm/v3/objects/contacts/{mover['id']}",
        {"properties": {"email": "Taken@Example.com"}},
    )
    assert single.status_code == 409
    body = single.json()
    assert set(sample("error_409_contact_exists.json")) <= set(body)
    assert body["message"] == f"Contact already exists. Existing ID: {taken['id']}"
    other = hub.create_contact(email="other@example.com")
    batch = {
        "inputs": [
            {"id": other["id"], "properties": {"firstname": "Olga"}},
            {"id": mover["id"], "properties": {"email": "taken@example.com"}},
        ]
    }
    refused = hub.call("POST", "/crm/v3/objects/contacts/batch/update", batch)
    assert refused.status_code == 409
    assert refused.json()["message"] == f"Contact already exists. Existing ID: {taken['id']}"
    emails = hub.truth()["contacts_by_email"]
    assert emails["old@example.com"] == mover["id"]  # nothing applied, not even Olga
    names = hub.call("GET", f"/crm/v3/objects/contacts/{other['id']}", properties="firstname")
    assert names.json()["properties"]["firstname"] is None
    moved = hub.call(
        "PATCH",
        f"/crm/v3/objects/contacts/{mover['id']}",
        {"properties": {"email": "new@example.com"}},
    )
    assert moved.status_code == 200
    assert hub.truth()["contacts_by_email"]["new@example.com"] == mover["id"]
