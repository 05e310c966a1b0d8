"""HubSpot emulator over real sockets: auth, contact CRUD, list paging, errors, identity."""

from __future__ import annotations

import re

import pytest
import requests
from hubspot_emu_support import START, Hub, sample, small_world

from scorebridge.sandbox.hubspot import HubSpotEmulator
from scorebridge.sandbox.runner import Sandbox, SandboxOptions

ISO_MS = re.compile(r"^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$")


@pytest.fixture
def hub(served: Hub) -> Hub:
    return served.fresh(small_world())


def test_a_wrong_or_missing_token_gets_the_401_body(hub: Hub) -> None:
    for headers in ({"Authorization": "Bearer pat-na1-wrong"}, {}):
        response = requests.get(hub.url + "/crm/v3/objects/contacts", headers=headers, timeout=5)
        assert response.status_code == 401
        body = response.json()
        assert body.keys() >= sample("error_401.json").keys()
        assert body["category"] == "INVALID_AUTHENTICATION"
        assert body["status"] == "error"


def test_every_start_has_its_own_token(hub: Hub) -> None:
    other = HubSpotEmulator()
    assert other.token != hub.emulator.token
    assert re.fullmatch(r"pat-na1-[0-9a-f]{8}(-[0-9a-f]{4}){3}-[0-9a-f]{12}", other.token)
    headers = {"Authorization": f"Bearer {other.token}"}
    refused = requests.get(hub.url + "/crm/v3/objects/contacts", headers=headers, timeout=5)
    assert refused.status_code == 401
    sandbox = Sandbox(SandboxOptions(contacts=3, days=3, now=START))
    try:
        ready = sandbox.start()
        assert ready["hubspot"]["token"] == sandbox.crms["hubspot"].token
        assert ready["hubspot"]["token"] not in (hub.emulator.token, other.token)
    finally:
        sandbox.stop()


def test_list_pages_with_an_opaque_cursor_and_the_sample_shape(hub: Hub) -> None:
    first = hub.call("GET", "/crm/v3/objects/contacts", limit=3).json()
    expected = sample("contacts_list_page.json")
    assert first.keys() == expected.keys()
    record = first["results"][0]
    assert record.keys() == expected["results"][0].keys()
    assert set(record["properties"]) == set(expected["results"][0]["properties"])
    assert all(isinstance(v, str) for v in record["properties"].values())
    assert ISO_MS.match(record["createdAt"])
    assert ISO_MS.match(record["properties"]["createdate"])
    after = first["paging"]["next"]["after"]
    assert not after.isdigit()
    second = hub.call("GET", "/crm/v3/objects/contacts", limit=3, after=after).json()
    assert "paging" not in second
    ids = [r["id"] for r in first["results"] + second["results"]]
    assert len(ids) == len(set(ids)) == 4  # persons in the CRM, the Mautic-only one is absent


def test_seeded_contacts_carry_crm_email_owner_and_lifecycle(hub: Hub) -> None:
    props = "email,firstname,jobtitle,company,country,phone,hubspot_owner_id,lifecyclestage"
    bo = hub.call(
        "GET",
        "/crm/v3/objects/contacts/b.chen@nordicfreight.example",
        idProperty="email",
        properties=props,
    ).json()["properties"]
    assert bo["email"] == "b.chen@nordicfreight.example"
    assert bo["hubspot_owner_id"] == "61000002"
    assert bo["lifecyclestage"] == "opportunity"
    ana = hub.call(
        "GET",
        "/crm/v3/objects/contacts/ana@nordicfreight.example",
        idProperty="email",
        properties=props,
    ).json()["properties"]
    assert ana["lifecyclestage"] == "customer"
    assert ana["company"] == "Nordic Freight"
    eva = hub.call(
        "GET",
        "/crm/v3/objects/contacts/eva@nordicfreight.example",
        idProperty="email",
        properties=props,
    ).json()["properties"]
    assert eva["hubspot_owner_id"] is None
    assert eva["company"] is None


def test_create_returns_201_and_duplicate_email_gets_409_with_existing_id(hub: Hub) -> None:
    created = hub.create_contact(email="New.Person@Example.com", firstname="New")
    assert created["properties"]["email"] == "new.person@example.com"
    assert created["properties"]["hs_object_id"] == created["id"]
    assert created["id"].isdigit()
    again = hub.call(
        "POST", "/crm/v3/objects/contacts", {"properties": {"email": "new.person@example.com"}}
    )
    assert again.status_code == 409
    body = again.json()
    assert body.keys() == sample("error_409_contact_exists.json").keys()
    assert body["message"] == f"Contact already exists. Existing ID: {created['id']}"
    assert body["category"] == "CONFLICT"


def test_unknown_or_read_only_property_is_a_400_validation_error(hub: Hub) -> None:
    contact = hub.create_contact(email="x@example.com")
    response = hub.call(
        "PATCH",
        f"/crm/v3/objects/contacts/{contact['id']}",
        {"properties": {"mautic_score": "5", "lastmodifieddate": "1"}},
    )
    assert response.status_code == 400
    body = response.json()
    assert body["category"] == "VALIDATION_ERROR"
    assert set(sample("error_400_validation.json")) <= set(body)
    assert "PROPERTY_DOESNT_EXIST" in body["message"]
    assert "READ_ONLY_VALUE" in body["message"]
    assert {e["code"] for e in body["errors"]} == {"PROPERTY_DOESNT_EXIST", "READ_ONLY_VALUE"}
    bad_option = hub.call(
        "PATCH",
        f"/crm/v3/objects/contacts/{contact['id']}",
        {"properties": {"lifecyclestage": "hot"}},
    )
    assert bad_option.status_code == 400
    assert "INVALID_OPTION" in bad_option.text


def test_patch_stamps_lastmodifieddate_from_the_clock_and_clears_with_empty_string(
    hub: Hub,
) -> None:
    contact = hub.create_contact(email="y@example.com", firstname="Y")
    hub.advance(90.5)
    response = hub.call(
        "PATCH",
        f"/crm/v3/objects/contacts/{contact['id']}",
        {"properties": {"firstname": "", "lifecyclestage": "lead"}},
    )
    assert response.status_code == 200
    body = response.json()
    assert body["properties"]["lastmodifieddate"] == "2026-11-20T10:01:30.500Z"
    assert body["updatedAt"] == "2026-11-20T10:01:30.500Z"
    assert body["createdAt"] == "2026-11-20T10:00:00.000Z"
    read = hub.call("GET", f"/crm/v3/objects/contacts/{contact['id']}").json()
    assert read["properties"]["firstname"] is None


def test_email_change_keeps_the_id_and_moves_the_email_lookup(hub: Hub) -> None:
    before = hub.truth()["contacts_by_email"]
    ana_id = before["ana@nordicfreight.example"]
    response = hub.call(
        "PATCH",
        f"/crm/v3/objects/contacts/{ana_id}",
        {"properties": {"email": "ana.ruiz@nordicfreight.example"}},
    )
    assert response.status_code == 200
    assert (
        hub.call(
            "GET", "/crm/v3/objects/contacts/ana@nordicfreight.example", idProperty="email"
        ).status_code
        == 404
    )
    moved = hub.call(
        "GET", "/crm/v3/objects/contacts/ana.ruiz@nordicfreight.example", idProperty="email"
    )
    assert moved.json()["id"] == ana_id
    assert hub.truth()["contacts"] == 4
    taken = hub.call(
        "PATCH",
        f"/crm/v3/objects/contacts/{ana_id}",
        {"properties": {"email": "dan@nordicfreight.example"}},
    )
    assert taken.status_code == 409


def test_archive_hides_the_record_except_with_archived_true(hub: Hub) -> None:
    contact = hub.create_contact(email="z@example.com")
    path = f"/crm/v3/objects/contacts/{contact['id']}"
    assert hub.call("DELETE", path).status_code == 204
    missing = hub.call("GET", path)
    assert missing.status_code == 404
    assert missing.json().keys() == sample("error_404.json").keys()
    archived = hub.call("GET", path, archived="true").json()
    assert archived["archived"] is True
    assert ISO_MS.match(archived["archivedAt"])
    listed = hub.call("GET", "/crm/v3/objects/contacts", archived="true").json()["results"]
    assert [r["id"] for r in listed] == [contact["id"]]
    assert hub.create_contact(email="z@example.com")["id"] != contact["id"]


def test_date_versioned_paths_serve_the_same_records_and_are_counted_apart(hub: Hub) -> None:
    v3 = hub.call("GET", "/crm/v3/objects/contacts", limit=100).json()
    dated = hub.call("GET", "/crm/objects/2026-03/contacts", limit=100).json()
    assert v3 == dated
    created = hub.call(
        "POST", "/crm/objects/2026-03/contacts", {"properties": {"email": "d@example.com"}}
    )
    assert created.status_code == 201
    counts = hub.server.request_counts()
    assert counts["GET /crm/objects/2026-03/{objectType}"] == 1
    assert counts["GET /crm/v3/objects/{objectType}"] == 1


def test_unknown_object_type_and_route_answer_hubspot_errors(hub: Hub) -> None:
    response = hub.call("GET", "/crm/v3/objects/widgets")
    assert response.status_code == 400
    assert response.json()["category"] == "VALIDATION_ERROR"
    assert hub.call("GET", "/crm/v9/nothing").status_code == 404


def test_lifecycle_stage_moves_back_only_after_being_cleared(hub: Hub) -> None:
    path = (
        "/crm/v3/objects/contacts/" + hub.truth()["contacts_by_email"]["ana@nordicfreight.example"]
    )
    ignored = hub.call("PATCH", path, {"properties": {"lifecyclestage": "lead", "jobtitle": "CTO"}})
    assert ignored.status_code == 200
    assert ignored.json()["properties"]["lifecyclestage"] == "customer"
    assert ignored.json()["properties"]["jobtitle"] == "CTO"
    hub.call("PATCH", path, {"properties": {"lifecyclestage": ""}})
    moved = hub.call("PATCH", path, {"properties": {"lifecyclestage": "lead"}})
    assert moved.json()["properties"]["lifecyclestage"] == "lead"
    forward = hub.call("PATCH", path, {"properties": {"lifecyclestage": "salesqualifiedlead"}})
    assert forward.json()["properties"]["lifecyclestage"] == "salesqualifiedlead"
