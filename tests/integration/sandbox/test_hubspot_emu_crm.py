"""HubSpot emulator over real sockets: owners, pipelines, deals, tasks with associations, the
properties API and seeding."""

from __future__ import annotations

from typing import Any

import pytest
from hubspot_emu_support import Hub, sample, small_world


@pytest.fixture
def hub(served: Hub) -> Hub:
    return served.fresh(small_world())


def ids(hub: Hub) -> dict[str, str]:
    return dict(hub.truth()["contacts_by_email"])


def test_owners_page_matches_the_sample_and_pages(hub: Hub) -> None:
    page = hub.call("GET", "/crm/v3/owners", limit=1).json()
    owner = page["results"][0]
    assert owner.keys() == sample("owners_page.json")["results"][0].keys()
    assert owner["id"] == "61000001"
    assert isinstance(owner["userId"], int)
    assert str(owner["userId"]) != owner["id"]
    assert owner["email"] == "jane.smith@nordlicht-analytics.example"
    rest = hub.call("GET", "/crm/v3/owners", limit=1, after=page["paging"]["next"]["after"]).json()
    assert [o["firstName"] for o in rest["results"]] == ["Omar"]
    assert "paging" not in rest
    by_email = hub.call("GET", "/crm/v3/owners", email="omar.haddad@nordlicht-analytics.example")
    assert [o["id"] for o in by_email.json()["results"]] == ["61000002"]
    by_user = hub.call("GET", f"/crm/v3/owners/{owner['userId']}", idProperty="userId")
    assert by_user.json()["id"] == "61000001"


def test_deal_pipeline_has_the_default_stages(hub: Hub) -> None:
    body = hub.call("GET", "/crm/v3/pipelines/deals").json()
    pipeline = body["results"][0]
    expected = sample("deal_pipelines.json")["results"][0]
    assert pipeline.keys() == expected.keys()
    assert pipeline["id"] == "default"
    stages = {s["id"]: s for s in pipeline["stages"]}
    for stage in expected["stages"]:
        assert stages[stage["id"]] == stage
    assert hub.call("GET", "/crm/v3/pipelines/deals/default/stages").json()["results"]


def test_seeded_closed_deals_search_and_their_contacts_by_v4_batch_read(hub: Hub) -> None:
    request = sample("deals_closed_search_request.json")
    request["filterGroups"][0]["filters"][1]["value"] = "0"
    found = hub.call("POST", "/crm/v3/objects/deals/search", request).json()
    assert found["total"] == 2
    won, lost = found["results"]
    assert won["properties"]["dealstage"] == "closedwon"
    assert won["properties"]["hs_is_closed_won"] == "true"
    assert won["properties"]["amount"] == "12500"
    assert lost["properties"]["hs_is_closed_won"] == "false"
    assert lost["properties"]["amount"] == "4200.5"
    assert won["properties"]["closedate"] == "2026-11-15T10:00:00Z"
    assert won["properties"]["pipeline"] == "default"
    response = hub.call(
        "POST",
        "/crm/v4/associations/deals/contacts/batch/read",
        {"inputs": [{"id": won["id"]}, {"id": lost["id"]}]},
    )
    assert response.status_code == 200
    body = response.json()
    expected = sample("deal_contact_associations_batch_read.json")["response"]
    assert body["results"][0].keys() == expected["results"][0].keys()
    assert (
        body["results"][0]["to"][0]["associationTypes"]
        == expected["results"][0]["to"][0]["associationTypes"]
    )
    assert body["results"][0]["to"][0]["toObjectId"] == ids(hub)["ana@nordicfreight.example"]
    truth = hub.truth()
    assert truth["deals_by_contact"] == {
        ids(hub)["ana@nordicfreight.example"]: 1,
        ids(hub)["b.chen@nordicfreight.example"]: 1,
    }


def test_create_deal_with_a_stage_and_association(hub: Hub) -> None:
    dan = ids(hub)["dan@nordicfreight.example"]
    deal = {
        "properties": {
            "dealname": "Dan - Product A",
            "amount": 9000,
            "dealstage": "qualifiedtobuy",
            "closedate": "2026-12-31T00:00:00.000Z",
            "hubspot_owner_id": "61000001",
        },
        "associations": [
            {
                "to": {"id": dan},
                "types": [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 3}],
            }
        ],
    }
    response = hub.call("POST", "/crm/v3/objects/deals", deal)
    assert response.status_code == 201, response.text
    props = response.json()["properties"]
    assert props["amount"] == "9000"
    read = hub.call(
        "GET",
        f"/crm/v3/objects/deals/{response.json()['id']}",
        properties="pipeline,hs_is_closed,hs_lastmodifieddate",
        associations="contacts",
    ).json()
    assert read["properties"]["pipeline"] == "default"
    assert read["properties"]["hs_is_closed"] == "false"
    assert read["associations"]["contacts"]["results"] == [{"id": dan, "type": "deal_to_contact"}]
    bad = dict(deal, properties={"dealname": "x", "dealstage": "nosuchstage"})
    assert hub.call("POST", "/crm/v3/objects/deals", bad).status_code == 400


def create_task(hub: Hub, contact: str, **overrides: Any) -> Any:
    task = sample("task_create_request.json")
    task["associations"][0]["to"]["id"] = contact
    task["properties"]["hubspot_owner_id"] = "61000001"
    task["properties"].update(overrides)
    return hub.call("POST", "/crm/v3/objects/tasks", task)


def test_task_create_matches_the_sample_and_finds_open_tasks_by_contact(hub: Hub) -> None:
    ana = ids(hub)["ana@nordicfreight.example"]
    response = create_task(hub, ana)
    assert response.status_code == 201, response.text
    body = response.json()
    expected = sample("task_create_response.json")
    assert body.keys() == expected.keys()
    assert set(body["properties"]) == set(expected["properties"])
    assert body["properties"]["hs_timestamp"] == "2026-11-21T09:00:00Z"
    assert body["properties"]["hs_createdate"] == "2026-11-20T10:00:00.000Z"
    done = create_task(hub, ana, hs_task_status="COMPLETED").json()
    search = sample("tasks_search_open_for_contact_request.json")
    search["filterGroups"][0]["filters"][0]["value"] = ana
    found = hub.call("POST", "/crm/v3/objects/tasks/search", search).json()
    assert [r["id"] for r in found["results"]] == [body["id"]]
    assert hub.truth()["tasks_by_contact"] == {ana: 2}
    assert done["id"] != body["id"]


def test_task_needs_hs_timestamp_a_valid_association_type_and_owner(hub: Hub) -> None:
    ana = ids(hub)["ana@nordicfreight.example"]
    no_due_date = sample("task_create_request.json")
    del no_due_date["properties"]["hs_timestamp"]
    no_due_date["properties"]["hubspot_owner_id"] = "61000001"
    no_due_date["associations"][0]["to"]["id"] = ana
    assert hub.call("POST", "/crm/v3/objects/tasks", no_due_date).status_code == 400
    wrong_type = sample("task_create_request.json")
    wrong_type["properties"]["hubspot_owner_id"] = "61000001"
    wrong_type["associations"][0]["to"]["id"] = ana
    wrong_type["associations"][0]["types"][0]["associationTypeId"] = 3
    assert hub.call("POST", "/crm/v3/objects/tasks", wrong_type).status_code == 400
    bad_owner = create_task(hub, ana, hubspot_owner_id="12345")
    assert bad_owner.status_code == 400
    assert "INVALID_OWNER_ID" in bad_owner.text
    assert hub.truth()["tasks"] == 0


def test_v4_default_association_put_and_per_record_list(hub: Hub) -> None:
    eva = ids(hub)["eva@nordicfreight.example"]
    task = sample("task_create_request.json")
    del task["associations"]
    task["properties"]["hubspot_owner_id"] = "61000002"
    created = hub.call("POST", "/crm/v3/objects/tasks", task)
    assert created.status_code == 201, created.text
    task_id = created.json()["id"]
    response = hub.call(
        "PUT", f"/crm/v4/objects/tasks/{task_id}/associations/default/contacts/{eva}"
    )
    assert response.status_code == 200
    spec = response.json()["results"][0]["associationSpec"]
    assert spec == {"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 204}
    listed = hub.call("GET", f"/crm/v4/objects/contacts/{eva}/associations/tasks").json()
    assert listed["results"][0]["toObjectId"] == task_id
    assert listed["results"][0]["associationTypes"][0]["typeId"] == 203
    missing = hub.call(
        "PUT", f"/crm/v4/objects/tasks/{task_id}/associations/default/contacts/424242"
    )
    assert missing.status_code == 404
    none = hub.call(
        "POST", "/crm/v4/associations/contacts/deals/batch/read", {"inputs": [{"id": eva}]}
    )
    assert none.status_code == 207
    assert none.json()["numErrors"] == 1


def test_properties_api_create_list_conflict_and_groups(hub: Hub) -> None:
    created = hub.call(
        "POST", "/crm/v3/properties/contacts", sample("property_create_enum_request.json")
    )
    assert created.status_code == 201
    body = created.json()
    assert set(sample("property_example_from_spec.json")) <= set(body)
    assert [o["value"] for o in body["options"]] == ["hot", "warm", "cold"]
    again = hub.call(
        "POST", "/crm/v3/properties/contacts", sample("property_create_enum_request.json")
    )
    assert again.status_code == 409
    incomplete = hub.call("POST", "/crm/v3/properties/contacts", {"name": "x_y"})
    assert incomplete.status_code == 400
    names = {p["name"] for p in hub.call("GET", "/crm/v3/properties/contacts").json()["results"]}
    assert {"lead_temperature", "lifecyclestage", "email", "hs_lead_status"} <= names
    stage = hub.call("GET", "/crm/v3/properties/contacts/lifecyclestage").json()
    assert "marketingqualifiedlead" in [o["value"] for o in stage["options"]]
    group = hub.call(
        "POST", "/crm/v3/properties/contacts/groups", {"name": "scorebridge", "label": "Scores"}
    )
    assert group.status_code == 201
    number = dict(sample("property_create_number_request.json"), groupName="scorebridge")
    assert hub.call("POST", "/crm/v3/properties/contacts", number).status_code == 201
    assert hub.truth()["properties"]["contacts"] == ["lead_temperature", "mautic_score"]


def test_unique_value_property_supports_upsert(hub: Hub) -> None:
    definition = {
        "name": "mautic_contact_id",
        "label": "Mautic id",
        "type": "string",
        "fieldType": "text",
        "groupName": "contactinformation",
        "hasUniqueValue": True,
    }
    assert hub.call("POST", "/crm/v3/properties/contacts", definition).status_code == 201
    request = {
        "inputs": [
            {
                "id": "4711",
                "idProperty": "mautic_contact_id",
                "properties": {"email": "m4711@example.com"},
            }
        ]
    }
    first = hub.call("POST", "/crm/v3/objects/contacts/batch/upsert", request).json()
    second = hub.call("POST", "/crm/v3/objects/contacts/batch/upsert", request).json()
    assert first["results"][0]["new"] is True
    assert second["results"][0]["new"] is False
    assert first["results"][0]["id"] == second["results"][0]["id"]


def test_seed_control_route_loads_a_generated_world(served: Hub) -> None:
    hub = served.fresh()
    response = hub.call("POST", "/_sandbox/seed", {"contacts": 60, "days": 20, "seed": 3})
    assert response.status_code == 200, response.text
    loaded = response.json()
    truth = hub.truth()
    assert truth["contacts"] == loaded["contacts"] > 0
    assert truth["owners"] == loaded["owners"] > 0
    assert truth["deals"] == loaded["deals"] == sum(truth["deals_by_contact"].values())
    listed = hub.call("GET", "/crm/v3/objects/contacts", limit=100).json()["results"]
    assert len(listed) == min(100, truth["contacts"])


def test_v3_put_labelled_v4_put_and_delete_associations(hub: Hub) -> None:
    contacts = ids(hub)
    dan, eva = contacts["dan@nordicfreight.example"], contacts["eva@nordicfreight.example"]
    task = sample("task_create_request.json")
    del task["associations"]
    task["properties"]["hubspot_owner_id"] = "61000002"
    task_id = hub.call("POST", "/crm/v3/objects/tasks", task).json()["id"]
    v3 = hub.call(
        "PUT", f"/crm/v3/objects/tasks/{task_id}/associations/contacts/{dan}/task_to_contact"
    )
    assert v3.status_code == 200
    assert v3.json()["associations"]["contacts"]["results"] == [
        {"id": dan, "type": "task_to_contact"}
    ]
    labelled = hub.call(
        "PUT",
        f"/crm/v4/objects/tasks/{task_id}/associations/contacts/{eva}",
        [{"associationCategory": "HUBSPOT_DEFINED", "associationTypeId": 204}],
    )
    assert labelled.status_code == 201
    assert labelled.json()["toObjectId"] == eva
    assert hub.truth()["tasks_by_contact"] == {dan: 1, eva: 1}
    gone = hub.call("DELETE", f"/crm/v4/objects/tasks/{task_id}/associations/contacts/{dan}")
    assert gone.status_code == 204
    assert hub.truth()["tasks_by_contact"] == {eva: 1}
