"""HubSpot schema, tasks and deals: created once, found again by their idempotency key."""

from __future__ import annotations

from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest
import responses
from hubspot_support import BASE, sample, sent_json

from scorebridge.crm import CrmError, DealSpec, FieldSpec, TaskSpec
from scorebridge.crm.hubspot import HubSpotAdapter

TASKS = f"{BASE}/crm/v3/objects/tasks"
FIELDS = [
    FieldSpec("scorebridge_score", "Score", "number"),
    FieldSpec("scorebridge_band", "Band", "enumeration", ("cold", "warm", "hot")),
    FieldSpec("scorebridge_stage", "Stage", "string"),
]
SPEC = TaskSpec(
    idempotency_key="warm-notify-sales:151:1",
    subject="Warm lead Ana Ruiz: 52 points",
    body="Visited pricing 3x",
    due_at=datetime(2026, 11, 21, 9, 0, tzinfo=UTC),
    owner_id="6166860",
    priority="high",
    contact_id="151",
)


def test_ensure_schema_creates_only_missing_properties_in_the_scorebridge_group(
    adapter: HubSpotAdapter, http: responses.RequestsMock
) -> None:
    http.get(
        f"{BASE}/crm/v3/properties/contacts",
        json={
            "results": [
                {"name": "email", "type": "string"},
                {"name": "scorebridge_score", "type": "number"},
            ]
        },
    )
    http.get(
        f"{BASE}/crm/v3/properties/contacts/groups",
        json={"results": [{"name": "contactinformation"}]},
    )
    http.post(f"{BASE}/crm/v3/properties/contacts/groups", status=201, json={"name": "scorebridge"})
    http.post(f"{BASE}/crm/v3/properties/contacts", status=201, json={})
    http.post(f"{BASE}/crm/v3/properties/contacts", status=201, json={})
    http.get(
        f"{BASE}/crm/v3/properties/deals",
        json={"results": [{"name": "scorebridge_key", "type": "string"}]},
    )

    assert adapter.ensure_schema(FIELDS) == ["scorebridge_band", "scorebridge_stage"]
    band = sent_json(http.calls[3])
    assert band["groupName"] == "scorebridge"
    assert (band["type"], band["fieldType"]) == ("enumeration", "select")
    assert [o["value"] for o in band["options"]] == ["cold", "warm", "hot"]
    stage = sent_json(http.calls[4])
    assert (stage["name"], stage["type"], stage["fieldType"]) == (
        "scorebridge_stage",
        "string",
        "text",
    )


def test_ensure_schema_twice_creates_nothing_and_reads_the_fields_back(
    adapter: HubSpotAdapter, http: responses.RequestsMock
) -> None:
    existing = [{"name": f.name, "type": f.type} for f in FIELDS]
    http.get(f"{BASE}/crm/v3/properties/contacts", json={"results": existing})
    http.get(
        f"{BASE}/crm/v3/properties/deals",
        json={"results": [{"name": "scorebridge_key", "type": "string"}]},
    )
    http.post(f"{BASE}/crm/v3/objects/contacts/search", json={"results": []})
    assert adapter.ensure_schema(FIELDS) == []
    list(adapter.contacts_changed_since(None))
    assert "scorebridge_band" in sent_json(http.calls[2])["properties"]


def test_ensure_schema_refuses_a_property_of_another_type(
    adapter: HubSpotAdapter, http: responses.RequestsMock
) -> None:
    http.get(
        f"{BASE}/crm/v3/properties/contacts",
        json={"results": [{"name": "scorebridge_score", "type": "string"}]},
    )
    with pytest.raises(CrmError, match="scorebridge_score") as caught:
        adapter.ensure_schema(FIELDS[:1])
    assert caught.value.kind == "contract"


def test_ensure_schema_creates_the_deal_key_property(
    adapter: HubSpotAdapter, http: responses.RequestsMock
) -> None:
    http.get(f"{BASE}/crm/v3/properties/contacts", json={"results": []})
    http.get(f"{BASE}/crm/v3/properties/deals", json={"results": []})
    http.get(f"{BASE}/crm/v3/properties/deals/groups", json={"results": [{"name": "scorebridge"}]})
    http.post(f"{BASE}/crm/v3/properties/deals", status=409, json={"category": "CONFLICT"})
    assert adapter.ensure_schema([]) == []  # a concurrent creation (409) counts as present
    created = sent_json(http.calls[3])
    assert (created["name"], created["hasUniqueValue"]) == ("scorebridge_key", True)


def test_create_task_sends_due_owner_priority_marker_and_association_204(
    adapter: HubSpotAdapter, http: responses.RequestsMock
) -> None:
    http.post(TASKS, status=201, json=sample("task_create_response"))
    assert adapter.create_task(SPEC) == "90123"
    body = sent_json(http.calls[0])
    props = body["properties"]
    assert props["hs_timestamp"] == "2026-11-21T09:00:00.000Z"
    assert props["hs_task_subject"] == SPEC.subject
    assert props["hs_task_status"] == "NOT_STARTED"
    assert props["hs_task_priority"] == "HIGH"
    assert props["hubspot_owner_id"] == "6166860"
    assert props["hs_task_body"].startswith("Visited pricing 3x")
    assert "[scorebridge:warm-notify-sales:151:1]" in props["hs_task_body"]
    assert body["associations"] == sample("task_create_request")["associations"]


def test_find_open_task_reads_the_contacts_tasks_and_matches_the_marker(
    adapter: HubSpotAdapter, http: responses.RequestsMock
) -> None:
    links = f"{BASE}/crm/v4/objects/contacts/151/associations/tasks"
    page1 = {
        "results": [{"toObjectId": "1", "associationTypes": []}],
        "paging": {"next": {"after": "1"}},
    }
    page2 = {"results": [{"toObjectId": "90123", "associationTypes": []}]}
    other = {"id": "1", "properties": {"hs_task_body": "[scorebridge:warm-notify-sales:151:0]"}}
    ours = {
        "id": "90123",
        "properties": {
            "hs_task_body": "x\n\n[scorebridge:warm-notify-sales:151:1]",
            "hs_task_status": "COMPLETED",  # a completed task still counts
        },
    }
    http.get(links, json=page1)
    http.get(links, json=page2)
    http.post(f"{TASKS}/batch/read", json={"status": "COMPLETE", "results": [other, ours]})
    assert adapter.find_open_task(SPEC.idempotency_key, "151") == "90123"
    assert "after=1" in http.calls[1].request.url
    assert sent_json(http.calls[2])["inputs"] == [{"id": "1"}, {"id": "90123"}]


def test_find_open_task_without_a_match_is_none(
    adapter: HubSpotAdapter, http: responses.RequestsMock
) -> None:
    http.get(f"{BASE}/crm/v4/objects/contacts/151/associations/tasks", json={"results": []})
    http.get(f"{BASE}/crm/v4/objects/contacts/404/associations/tasks", status=404, json={})
    assert adapter.find_open_task(SPEC.idempotency_key, "151") is None
    assert adapter.find_open_task(SPEC.idempotency_key, "404") is None  # contact gone


KEY_PROPERTY = f"{BASE}/crm/v3/properties/deals/scorebridge_key"
DEALS = f"{BASE}/crm/v3/objects/deals"


def test_deal_is_created_in_the_first_open_stage_and_read_back_by_its_unique_key(
    adapter: HubSpotAdapter, http: responses.RequestsMock
) -> None:
    spec = DealSpec("turned-hot:151:1", "Ana Ruiz - hot lead", None, None, 5000.0, "6166860", "151")
    http.get(f"{BASE}/crm/v3/pipelines/deals", json=sample("deal_pipelines"))
    http.post(DEALS, status=201, json={"id": "8001", "properties": {}})
    http.get(KEY_PROPERTY, json={"name": "scorebridge_key", "hasUniqueValue": True})
    found = {"id": "8001", "properties": {"scorebridge_key": "turned-hot:151:1"}}
    http.post(f"{DEALS}/batch/read", json={"status": "COMPLETE", "results": [found]})
    assert adapter.create_deal(spec) == "8001"
    body = sent_json(http.calls[1])
    assert body["properties"] == {
        "dealname": "Ana Ruiz - hot lead",
        "pipeline": "default",
        "dealstage": "appointmentscheduled",
        "scorebridge_key": "turned-hot:151:1",
        "amount": "5000",
        "hubspot_owner_id": "6166860",
    }
    assert body["associations"][0]["to"] == {"id": "151"}
    assert body["associations"][0]["types"][0]["associationTypeId"] == 3
    assert adapter.find_deal("turned-hot:151:1", "151") == "8001"
    assert sent_json(http.calls[3]) == {
        "inputs": [{"id": "turned-hot:151:1"}],
        "idProperty": "scorebridge_key",
        "properties": ["scorebridge_key"],
    }


def test_a_create_refused_for_a_taken_key_answers_the_deal_holding_it(
    adapter: HubSpotAdapter, http: responses.RequestsMock
) -> None:
    spec = DealSpec("turned-hot:151:1", "Hot", "default", "appointmentscheduled", None, None, "151")
    http.post(DEALS, status=409, json={"status": "error", "category": "CONFLICT", "message": "x"})
    http.get(KEY_PROPERTY, json={"name": "scorebridge_key", "hasUniqueValue": True})
    found = {"id": "8001", "properties": {"scorebridge_key": "turned-hot:151:1"}}
    http.post(f"{DEALS}/batch/read", json={"status": "COMPLETE", "results": [found]})
    assert adapter.create_deal(spec) == "8001"


def test_find_deal_without_a_unique_key_reads_the_contacts_deals(
    adapter: HubSpotAdapter, http: responses.RequestsMock
) -> None:
    http.get(KEY_PROPERTY, json={"name": "scorebridge_key", "hasUniqueValue": False})
    http.get(
        f"{BASE}/crm/v4/objects/contacts/151/associations/deals",
        json={"results": [{"toObjectId": 8000}, {"toObjectId": 8001}]},
    )
    http.post(
        f"{DEALS}/batch/read",
        json={
            "results": [
                {"id": "8000", "properties": {"scorebridge_key": None}},
                {"id": "8001", "properties": {"scorebridge_key": "turned-hot:151:1"}},
            ]
        },
    )
    assert adapter.find_deal("turned-hot:151:1", "151") == "8001"
    assert sent_json(http.calls[2])["properties"] == ["scorebridge_key"]


def test_open_deals_leave_out_closed_stages_and_other_pipelines(
    adapter: HubSpotAdapter, http: responses.RequestsMock
) -> None:
    http.get(
        f"{BASE}/crm/v4/objects/contacts/151/associations/deals",
        json={"results": [{"toObjectId": n} for n in (8003, 8000, 8001, 8002, 8004)]},
    )

    def deal(deal_id: str, stage: str | None, pipeline: str = "default", **more: str) -> Any:
        props = {"dealname": f"D{deal_id}", "pipeline": pipeline, "dealstage": stage, **more}
        return {"id": deal_id, "properties": props}

    http.post(
        f"{DEALS}/batch/read",
        json={
            "results": [
                deal("8003", "appointmentscheduled", scorebridge_key="turned-hot:151:1"),
                deal("8000", "closedwon"),
                deal("8001", "closedlost"),
                deal("8002", "appointmentscheduled", pipeline="partners"),
                deal("8004", "retired-stage", hs_is_closed="true"),
            ]
        },
    )
    http.get(f"{BASE}/crm/v3/pipelines/deals", json=sample("deal_pipelines"))
    http.get(f"{BASE}/crm/v3/pipelines/deals", json=sample("deal_pipelines"))  # unknown stage
    found = adapter.open_deals("151", None)
    assert [(d.id, d.stage, d.idempotency_key) for d in found] == [
        ("8003", "appointmentscheduled", "turned-hot:151:1")
    ]
    assert set(sent_json(http.calls[1])["properties"]) >= {"pipeline", "dealstage"}


def test_a_task_on_a_deal_carries_the_216_association(
    adapter: HubSpotAdapter, http: responses.RequestsMock
) -> None:
    http.post(TASKS, status=201, json=sample("task_create_response"))
    adapter.create_task(replace(SPEC, deal_id="8001"))
    associations = sent_json(http.calls[0])["associations"]
    assert [(a["to"]["id"], a["types"][0]["associationTypeId"]) for a in associations] == [
        ("151", 204),
        ("8001", 216),
    ]
