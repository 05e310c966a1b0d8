"""HubSpot emulator search over real sockets: operators, sorts, paging, caps, index lag."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import pytest
from hubspot_emu_support import START, Hub, sample, small_world

from scorebridge.sandbox.hubspot.values import epoch_ms, iso_ms

SEARCH = "/crm/v3/objects/contacts/search"


@pytest.fixture
def hub(served: Hub) -> Hub:
    served.fresh(small_world())
    unlimited = served.call("POST", "/_sandbox/limits", {"search_per_second": 1000})
    assert unlimited.status_code == 200
    return served


def emails(response: Any) -> list[str]:
    assert response.status_code == 200, response.text
    return [r["properties"]["email"] for r in response.json()["results"]]


def one_filter(prop: str, op: str, **value: Any) -> dict[str, Any]:
    return {"filterGroups": [{"filters": [{"propertyName": prop, "operator": op, **value}]}]}


def test_the_incremental_sample_request_answers_the_sample_shape(hub: Hub) -> None:
    for definition in ("property_create_number_request.json", "property_create_enum_request.json"):
        created = hub.call("POST", "/crm/v3/properties/contacts", sample(definition))
        assert created.status_code == 201, created.text
    request = sample("contacts_search_request.json")
    request["filterGroups"][0]["filters"][0]["value"] = str(epoch_ms(START - timedelta(days=27)))
    response = hub.call("POST", SEARCH, request)
    body = response.json()
    expected = sample("contacts_search_response.json")
    assert set(body) == {"total", "results"}  # one page only: no paging
    assert body["total"] == 4  # Cleo is Mautic-only; the deals touched Ana and Bo later
    record = body["results"][0]
    assert record.keys() == expected["results"][0].keys()
    assert set(record["properties"]) == set(expected["results"][0]["properties"])
    assert record["properties"]["mautic_score"] is None
    stamps = [r["properties"]["lastmodifieddate"] for r in body["results"]]
    assert stamps == sorted(stamps)


def test_operators(hub: Hub) -> None:
    assert emails(hub.call("POST", SEARCH, one_filter("firstname", "EQ", value="ana"))) == [
        "ana@nordicfreight.example"
    ]
    assert len(emails(hub.call("POST", SEARCH, one_filter("firstname", "NEQ", value="Ana")))) == 3
    in_filter = one_filter("lifecyclestage", "IN", values=["customer", "opportunity"])
    assert len(emails(hub.call("POST", SEARCH, in_filter))) == 2
    no_owner = one_filter("hubspot_owner_id", "NOT_HAS_PROPERTY")
    assert emails(hub.call("POST", SEARCH, no_owner)) == ["eva@nordicfreight.example"]
    has_company = one_filter("company", "HAS_PROPERTY")
    assert len(emails(hub.call("POST", SEARCH, has_company))) == 3
    iso_after = one_filter("createdate", "GT", value=iso_ms(START - timedelta(days=27)))
    assert len(emails(hub.call("POST", SEARCH, iso_after))) == 2
    ms_lte = one_filter("createdate", "LTE", value=str(epoch_ms(START - timedelta(days=27))))
    assert len(emails(hub.call("POST", SEARCH, ms_lte))) == 2
    between = one_filter(
        "createdate",
        "BETWEEN",
        value=str(epoch_ms(START - timedelta(days=29))),
        highValue=str(epoch_ms(START - timedelta(days=28))),
    )
    assert len(emails(hub.call("POST", SEARCH, between))) == 2


def test_groups_are_ored_and_filters_anded(hub: Hub) -> None:
    body = {
        "filterGroups": [
            {
                "filters": [
                    {"propertyName": "firstname", "operator": "EQ", "value": "Ana"},
                    {"propertyName": "lifecyclestage", "operator": "EQ", "value": "lead"},
                ]
            },
            {"filters": [{"propertyName": "firstname", "operator": "EQ", "value": "Dan"}]},
        ]
    }
    assert emails(hub.call("POST", SEARCH, body)) == ["dan@nordicfreight.example"]


def test_contains_token_finds_a_marker_in_task_bodies(hub: Hub) -> None:
    contact = hub.truth()["contacts_by_email"]["ana@nordicfreight.example"]
    task = sample("task_create_request.json")
    task["associations"][0]["to"]["id"] = contact
    task["properties"]["hubspot_owner_id"] = "61000001"
    assert hub.call("POST", "/crm/v3/objects/tasks", task).status_code == 201
    found = hub.call(
        "POST",
        "/crm/v3/objects/tasks/search",
        one_filter("hs_task_body", "CONTAINS_TOKEN", value="mautic-bridge:hot:151:2026-11-20"),
    ).json()
    assert found["total"] == 1
    missed = hub.call(
        "POST",
        "/crm/v3/objects/tasks/search",
        one_filter("hs_task_body", "CONTAINS_TOKEN", value="mautic-bridge:warm:151:2026-11-20"),
    ).json()
    assert missed["total"] == 0


def test_sorts_descending_and_query(hub: Hub) -> None:
    body = {"sorts": [{"propertyName": "firstname", "direction": "DESCENDING"}]}
    assert emails(hub.call("POST", SEARCH, body))[0] == "eva@nordicfreight.example"
    assert emails(hub.call("POST", SEARCH, {"query": "vog"})) == ["dan@nordicfreight.example"]


def test_limit_over_200_and_bad_filters_are_400(hub: Hub) -> None:
    assert hub.call("POST", SEARCH, {"limit": 201}).status_code == 400
    assert hub.call("POST", SEARCH, {"limit": 200}).status_code == 200
    unknown = hub.call("POST", SEARCH, one_filter("no_such_prop", "EQ", value="1"))
    assert unknown.status_code == 400
    bad_op = hub.call("POST", SEARCH, one_filter("email", "LIKE", value="a"))
    assert bad_op.json()["category"] == "VALIDATION_ERROR"
    six_groups = {
        "filterGroups": [{"filters": [{"propertyName": "email", "operator": "HAS_PROPERTY"}]}] * 6
    }
    assert hub.call("POST", SEARCH, six_groups).status_code == 400


def test_numeric_after_pages_and_the_10000_cap_answers_400(hub: Hub) -> None:
    with hub.server.lock:
        state = hub.emulator.state
        for n in range(10_050):
            state.create("contacts", {"email": f"p{n}@example.com"}, check=False)
    first = hub.call("POST", SEARCH, {"limit": 200}).json()
    assert first["total"] == 10_054
    assert first["paging"]["next"]["after"] == "200"
    last_allowed = hub.call("POST", SEARCH, {"limit": 200, "after": "9800"}).json()
    assert len(last_allowed["results"]) == 200
    assert last_allowed["paging"]["next"]["after"] == "10000"
    past = hub.call("POST", SEARCH, {"limit": 200, "after": "10000"})
    assert past.status_code == 400
    assert past.json()["category"] == "VALIDATION_ERROR"


def test_search_index_lag_hides_fresh_writes_until_it_passes(hub: Hub) -> None:
    assert hub.call("POST", "/_sandbox/limits", {"search_lag_ms": 3000}).status_code == 200
    contact = hub.create_contact(email="lagging@example.com", firstname="Before")
    hub.call(
        "PATCH", f"/crm/v3/objects/contacts/{contact['id']}", {"properties": {"firstname": "After"}}
    )
    by_email = one_filter("email", "EQ", value="lagging@example.com")
    by_email["properties"] = ["firstname"]
    assert hub.call("POST", SEARCH, by_email).json()["total"] == 0
    hub.advance(3)
    found = hub.call("POST", SEARCH, by_email).json()
    assert [r["properties"]["firstname"] for r in found["results"]] == ["After"]
