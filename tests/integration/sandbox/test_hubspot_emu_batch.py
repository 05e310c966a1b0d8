"""HubSpot emulator batch routes over real sockets: 100-input cap, upsert, 207, 409."""

from __future__ import annotations

import pytest
from hubspot_emu_support import Hub, sample, small_world

BATCH = "/crm/v3/objects/contacts/batch"


@pytest.fixture
def hub(served: Hub) -> Hub:
    served.fresh(small_world())
    for definition in ("property_create_number_request.json", "property_create_enum_request.json"):
        assert served.call("POST", "/crm/v3/properties/contacts", sample(definition)).ok
    return served


def test_more_than_100_inputs_is_a_400_and_writes_nothing(hub: Hub) -> None:
    inputs = [{"properties": {"email": f"n{i}@example.com"}} for i in range(101)]
    response = hub.call("POST", f"{BATCH}/create", {"inputs": inputs})
    assert response.status_code == 400
    assert response.json()["category"] == "VALIDATION_ERROR"
    assert hub.truth()["contacts"] == 4
    assert hub.call("POST", f"{BATCH}/create", {"inputs": inputs[:100]}).status_code == 201
    assert hub.truth()["contacts"] == 104


def test_upsert_by_email_updates_existing_and_creates_new(hub: Hub) -> None:
    request = sample("contacts_batch_upsert_request.json")
    request["inputs"][0]["id"] = "ANA@nordicfreight.example"
    response = hub.call("POST", f"{BATCH}/upsert", request)
    assert response.status_code == 200
    body = response.json()
    expected = sample("contacts_batch_upsert_response.json")
    assert body.keys() == expected.keys()
    existing, new = body["results"]
    assert existing.keys() == expected["results"][0].keys()
    assert new.keys() == expected["results"][1].keys()
    assert existing["new"] is False
    assert new["new"] is True
    assert existing["id"] == hub.truth()["contacts_by_email"]["ana@nordicfreight.example"]
    assert existing["properties"]["mautic_score"] == "91"
    assert new["properties"]["email"] == "new.person@example.com"
    assert new["objectWriteTraceId"] == "mautic-4711"
    again = hub.call("POST", f"{BATCH}/upsert", request).json()
    assert [r["new"] for r in again["results"]] == [False, False]
    assert hub.truth()["contacts"] == 5


def test_update_with_a_missing_id_is_207_and_applies_the_rest(hub: Hub) -> None:
    ana = hub.truth()["contacts_by_email"]["ana@nordicfreight.example"]
    inputs = [
        {"id": ana, "properties": {"mautic_score": 92}},
        {"id": "999999", "properties": {"mautic_score": "1"}},
    ]
    response = hub.call("POST", f"{BATCH}/update", {"inputs": inputs})
    assert response.status_code == 207
    body = response.json()
    expected = sample("batch_update_207_with_errors.json")
    assert body.keys() == expected.keys()
    assert body["numErrors"] == 1
    assert body["errors"][0].keys() == expected["errors"][0].keys()
    assert body["errors"][0]["context"] == {"ids": ["999999"]}
    assert body["errors"][0]["message"] == expected["errors"][0]["message"]
    assert body["results"][0]["properties"]["mautic_score"] == "92"


def test_invalid_value_fails_the_whole_update_batch(hub: Hub) -> None:
    ids = hub.truth()["contacts_by_email"]
    inputs = [
        {"id": ids["ana@nordicfreight.example"], "properties": {"lead_temperature": "hot"}},
        {"id": ids["dan@nordicfreight.example"], "properties": {"lead_temperature": "boiling"}},
    ]
    response = hub.call("POST", f"{BATCH}/update", {"inputs": inputs})
    assert response.status_code == 400
    assert "INVALID_OPTION" in response.json()["message"]
    duplicate = hub.call("POST", f"{BATCH}/update", {"inputs": [inputs[0], inputs[0]]})
    assert duplicate.status_code == 400
    read = hub.call(
        "POST",
        f"{BATCH}/read",
        {"inputs": [{"id": ids["ana@nordicfreight.example"]}], "properties": ["lead_temperature"]},
    ).json()
    assert read["results"][0]["properties"]["lead_temperature"] is None


def test_injected_item_failures_answer_207_and_skip_only_those_items(hub: Hub) -> None:
    faults = hub.call("POST", "/_sandbox/faults", {"batch_item_failure_ratio": 0.5, "seed": 7})
    assert faults.status_code == 200
    inputs = [
        {
            "id": f"u{i}@example.com",
            "idProperty": "email",
            "objectWriteTraceId": f"t{i}",
            "properties": {"mautic_score": str(i)},
        }
        for i in range(40)
    ]
    body = hub.call("POST", f"{BATCH}/upsert", {"inputs": inputs})
    assert body.status_code == 207
    result = body.json()
    failed = {e["context"]["objectWriteTraceId"][0] for e in result["errors"]}
    written = {r["objectWriteTraceId"] for r in result["results"]}
    assert result["numErrors"] == len(failed)
    assert 5 < len(failed) < 35
    assert failed.isdisjoint(written)
    assert len(failed | written) == 40
    assert hub.truth()["contacts"] == 4 + len(written)


def test_batch_create_with_a_taken_email_is_409_for_the_whole_batch(hub: Hub) -> None:
    inputs = [
        {"properties": {"email": "fresh@example.com"}},
        {"properties": {"email": "dan@nordicfreight.example"}},
    ]
    response = hub.call("POST", f"{BATCH}/create", {"inputs": inputs})
    assert response.status_code == 409
    dan = hub.truth()["contacts_by_email"]["dan@nordicfreight.example"]
    assert response.json()["message"] == f"Contact already exists. Existing ID: {dan}"
    assert hub.truth()["contacts"] == 4


def test_batch_read_by_email_and_archive(hub: Hub) -> None:
    read = hub.call(
        "POST",
        f"{BATCH}/read",
        {
            "idProperty": "email",
            "inputs": [{"id": "dan@nordicfreight.example"}],
            "properties": ["firstname"],
        },
    )
    assert read.status_code == 200
    dan = read.json()["results"][0]
    assert dan["properties"]["firstname"] == "Dan"
    archived = hub.call("POST", f"{BATCH}/archive", {"inputs": [{"id": dan["id"]}]})
    assert archived.status_code == 204
    assert hub.truth()["archived_contacts"] == 1
