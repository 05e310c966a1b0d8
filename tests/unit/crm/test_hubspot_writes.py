"""HubSpot contact writes: batch update/upsert, 207 partials, 409 existing ids, 400 poison."""

from __future__ import annotations

import json

import responses
from hubspot_support import BASE, sample, sent_json
from requests import PreparedRequest

from scorebridge.crm import WriteItem
from scorebridge.crm.hubspot import HubSpotAdapter

UPDATE = f"{BASE}/crm/v3/objects/contacts/batch/update"
UPSERT = f"{BASE}/crm/v3/objects/contacts/batch/upsert"


def test_update_207_acks_good_items_and_fails_the_missing_one(
    adapter: HubSpotAdapter, http: responses.RequestsMock
) -> None:
    http.post(UPDATE, status=207, json=sample("batch_update_207_with_errors"))
    results = adapter.update_contacts(
        [
            WriteItem(crm_id="151", properties={"scorebridge_score": 92.0}),
            WriteItem(crm_id="999999", properties={"scorebridge_score": 0}),
        ]
    )
    assert [(r.index, r.ok, r.remote_id) for r in results] == [(0, True, "151"), (1, False, None)]
    assert results[1].status == 404
    assert not results[1].retryable
    assert "OBJECT_NOT_FOUND" in results[1].message
    body = sent_json(http.calls[0])
    assert body["inputs"][0]["properties"] == {"scorebridge_score": "92"}
    assert body["inputs"][1]["properties"] == {"scorebridge_score": "0"}  # zero is written
    assert http.calls[0].request.headers["Authorization"] == "Bearer pat-na1-secret-token-0000"


def test_update_chunks_by_100_and_keeps_input_order(
    adapter: HubSpotAdapter, http: responses.RequestsMock
) -> None:
    def echo(request: PreparedRequest) -> tuple[int, dict[str, str], str]:
        inputs = json.loads(request.body)["inputs"]
        results = [{"id": i["id"], "properties": i["properties"]} for i in reversed(inputs)]
        return 200, {}, json.dumps({"status": "COMPLETE", "results": results})

    http.add_callback(responses.POST, UPDATE, callback=echo)
    items = [WriteItem(crm_id=str(1000 + i), properties={"x": i}) for i in range(250)]
    results = adapter.update_contacts(items)
    assert [len(sent_json(c)["inputs"]) for c in http.calls] == [100, 100, 50]
    assert [r.remote_id for r in results] == [str(1000 + i) for i in range(250)]
    assert all(r.ok for r in results)


def test_update_without_id_is_a_per_item_failure(adapter: HubSpotAdapter) -> None:
    results = adapter.update_contacts([WriteItem(properties={"x": 1})])
    assert not results[0].ok
    assert "crm_id" in results[0].message


def test_upsert_by_email_reports_created_and_existing(
    adapter: HubSpotAdapter, http: responses.RequestsMock
) -> None:
    answer = sample("contacts_batch_upsert_response")
    for result in answer["results"]:
        result.pop("objectWriteTraceId", None)  # match by email when the trace id is absent
    http.post(UPSERT, json=answer)
    results = adapter.create_contacts(
        [
            WriteItem(email="Ana@Example.com ", properties={"lifecycle": "salesqualifiedlead"}),
            WriteItem(email="new.person@example.com", properties={"scorebridge_band": "warm"}),
        ]
    )
    assert [(r.ok, r.remote_id, r.message) for r in results] == [
        (True, "151", ""),
        (True, "301", "created"),
    ]
    inputs = sent_json(http.calls[0])["inputs"]
    assert inputs[0]["idProperty"] == "email"
    assert inputs[0]["id"] == "ana@example.com"
    assert inputs[0]["properties"] == {
        "lifecyclestage": "salesqualifiedlead",
        "email": "ana@example.com",
    }


def test_409_existing_id_links_to_the_existing_contact(
    adapter: HubSpotAdapter, http: responses.RequestsMock
) -> None:
    http.post(UPSERT, status=409, json=sample("error_409_contact_exists"))
    http.post(UPDATE, json={"status": "COMPLETE", "results": [{"id": "151", "properties": {}}]})
    results = adapter.create_contacts(
        [WriteItem(email="ana.alias@example.com", properties={"scorebridge_score": 91})]
    )
    assert results[0].ok
    assert results[0].remote_id == "151"
    assert "existing" in results[0].message
    update = sent_json(http.calls[1])["inputs"][0]
    assert update["id"] == "151"
    assert update["properties"] == {"scorebridge_score": "91"}  # email not forced onto 151


def test_409_inside_a_multi_item_batch_is_resolved_item_by_item(
    adapter: HubSpotAdapter, http: responses.RequestsMock
) -> None:
    def upsert(request: PreparedRequest) -> tuple[int, dict[str, str], str]:
        inputs = json.loads(request.body)["inputs"]
        if any(i["id"] == "dup@example.com" for i in inputs):
            return 409, {}, json.dumps(sample("error_409_contact_exists"))
        results = [{"id": "500", "new": True, "properties": {"email": i["id"]}} for i in inputs]
        return 200, {}, json.dumps({"status": "COMPLETE", "results": results})

    http.add_callback(responses.POST, UPSERT, callback=upsert)
    http.post(UPDATE, json={"status": "COMPLETE", "results": [{"id": "151", "properties": {}}]})
    results = adapter.create_contacts(
        [
            WriteItem(email="fresh@example.com", properties={}),
            WriteItem(email="dup@example.com", properties={}),
        ]
    )
    assert [(r.ok, r.remote_id) for r in results] == [(True, "500"), (True, "151")]


def test_400_on_a_batch_isolates_the_poison_item(
    adapter: HubSpotAdapter, http: responses.RequestsMock
) -> None:
    def update(request: PreparedRequest) -> tuple[int, dict[str, str], str]:
        inputs = json.loads(request.body)["inputs"]
        if any(i["properties"].get("scorebridge_band") == "lukewarm" for i in inputs):
            return 400, {}, json.dumps(sample("error_400_validation"))
        results = [{"id": i["id"], "properties": {}} for i in inputs]
        return 200, {}, json.dumps({"status": "COMPLETE", "results": results})

    http.add_callback(responses.POST, UPDATE, callback=update)
    results = adapter.update_contacts(
        [
            WriteItem(crm_id="1", properties={"scorebridge_band": "hot"}),
            WriteItem(crm_id="2", properties={"scorebridge_band": "lukewarm"}),
            WriteItem(crm_id="3", properties={"scorebridge_band": "cold"}),
        ]
    )
    assert [r.ok for r in results] == [True, False, True]
    assert results[1].status == 400
    assert not results[1].retryable
    assert "aeb5f871-7f07-4993-9211-075dc63e7cbf" in results[1].message  # correlation id
    assert "Invalid input" not in results[1].message  # never the body text
    assert len(http.calls) == 4  # the batch, then each item alone


def test_207_error_without_ids_leaves_items_retryable(
    adapter: HubSpotAdapter, http: responses.RequestsMock
) -> None:
    http.post(
        UPDATE,
        status=207,
        json={
            "status": "COMPLETE",
            "results": [{"id": "1", "properties": {}}],
            "numErrors": 1,
            "errors": [{"status": "error", "category": "INTERNAL_ERROR", "context": {}}],
        },
    )
    results = adapter.update_contacts(
        [WriteItem(crm_id="1", properties={}), WriteItem(crm_id="2", properties={})]
    )
    assert results[0].ok
    assert not results[1].ok
    assert results[1].retryable
    assert "INTERNAL_ERROR" in results[1].message


def test_an_e_mail_change_refused_with_409_fails_only_its_item_and_for_good(
    adapter: HubSpotAdapter, http: responses.RequestsMock
) -> None:
    def update(request: PreparedRequest) -> tuple[int, dict[str, str], str]:
        inputs = json.loads(request.body)["inputs"]
        if any(i["properties"].get("email") for i in inputs):
            return 409, {}, json.dumps(sample("error_409_contact_exists"))  # Existing ID: 151
        results = [{"id": i["id"], "properties": {}} for i in inputs]
        return 200, {}, json.dumps({"status": "COMPLETE", "results": results})

    http.add_callback(responses.POST, UPDATE, callback=update)
    results = adapter.update_contacts(
        [
            WriteItem(crm_id="160", properties={"company": "Acme", "job_title": "CTO"}),
            WriteItem(crm_id="161", properties={"email": " Ana.Ruiz@Example.com "}),
        ]
    )
    assert results[0].ok
    assert (results[1].ok, results[1].retryable, results[1].status) == (False, False, 409)
    assert results[1].message == "e-mail ana.ruiz@example.com already belongs to CRM contact 151"
    first = json.loads(http.calls[0].request.body)["inputs"]
    assert first[0]["properties"] == {"company": "Acme", "jobtitle": "CTO"}
    assert first[1]["properties"] == {"email": "ana.ruiz@example.com"}
