"""HubSpot reads: changed-since search paging and the 10k re-window, owners, deals, by email."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
import responses
from hubspot_support import BASE, make_adapter, sample, sent_json

from scorebridge.clock import FrozenClock
from scorebridge.crm import CrmError
from scorebridge.crm.hubspot import HubSpotAdapter

SEARCH = f"{BASE}/crm/v3/objects/contacts/search"
T0 = datetime(2026, 11, 20, 9, 0, tzinfo=UTC)


def contact(n: int, at: datetime) -> dict[str, Any]:
    iso = at.strftime("%Y-%m-%dT%H:%M:%S.000Z")
    return {
        "id": str(n),
        "properties": {"email": f"p{n}@example.com", "lastmodifieddate": iso},
        "updatedAt": iso,
    }


def test_changed_since_pages_with_after_and_decodes_contacts(
    adapter: HubSpotAdapter, http: responses.RequestsMock
) -> None:
    first = sample("contacts_search_response")
    http.post(SEARCH, json=first)
    http.post(SEARCH, json={"total": 3, "results": [contact(153, T0 + timedelta(hours=1))]})
    since = datetime(2025, 11, 20, tzinfo=UTC)
    pages = list(adapter.contacts_changed_since(since))

    assert [[c.id for c in p.items] for p in pages] == [["151", "152"], ["153"]]
    ana = pages[0].items[0]
    assert ana.email == "ana@example.com"
    assert ana.owner_id == "6166860"
    assert ana.lifecycle == "marketingqualifiedlead"
    assert ana.updated_at == datetime(2026, 11, 20, 9, 30, 12, 345000, tzinfo=UTC)
    assert ana.properties["first_name"] == "Ana"
    assert ana.properties["lead_status"] == "NEW"
    assert "hs_lead_status" not in pages[0].items[1].properties  # null values are left out
    assert pages[0].cursor == datetime(2026, 11, 20, 9, 41, tzinfo=UTC)
    assert pages[1].cursor == T0 + timedelta(hours=1)

    body = sent_json(http.calls[0])
    assert body["filterGroups"] == [
        {
            "filters": [
                {"propertyName": "lastmodifieddate", "operator": "GTE", "value": "1763596800000"}
            ]
        }
    ]
    assert body["sorts"] == [{"propertyName": "lastmodifieddate", "direction": "ASCENDING"}]
    assert body["limit"] == 200
    assert body["after"] == "0"
    assert {"email", "hubspot_owner_id", "lifecyclestage"} <= set(body["properties"])
    assert sent_json(http.calls[1])["after"] == "2"


def test_ten_thousand_cap_restarts_from_the_last_timestamp_without_duplicates(
    clock: FrozenClock, http: responses.RequestsMock
) -> None:
    # a cap of 4 with pages of 2 behaves like HubSpot's 10,000 with pages of 200
    adapter = make_adapter(clock, search_page_size=2, search_result_cap=4)
    t = [T0 + timedelta(minutes=i) for i in range(4)]
    pages = [
        {
            "total": 7,
            "results": [contact(1, t[0]), contact(2, t[1])],
            "paging": {"next": {"after": "2"}},
        },
        {
            "total": 7,
            "results": [contact(3, t[2]), contact(4, t[2])],
            "paging": {"next": {"after": "4"}},
        },
        # new window GTE t[2]: 3 and 4 come back and must not be yielded again
        {
            "total": 4,
            "results": [contact(3, t[2]), contact(4, t[2])],
            "paging": {"next": {"after": "2"}},
        },
        {"total": 4, "results": [contact(5, t[2]), contact(6, t[3])]},
    ]
    for page in pages:
        http.post(SEARCH, json=page)
    got = list(adapter.contacts_changed_since(T0))
    ids = [c.id for page in got for c in page.items]
    assert ids == ["1", "2", "3", "4", "5", "6"]
    assert got[-1].cursor == t[3]
    bodies = [sent_json(c) for c in http.calls]
    assert [b["after"] for b in bodies] == ["0", "2", "0", "2"]
    window = bodies[2]["filterGroups"][0]["filters"][0]["value"]
    assert window == str(int(t[2].timestamp() * 1000))


def test_cap_full_of_one_timestamp_is_a_contract_error(
    clock: FrozenClock, http: responses.RequestsMock
) -> None:
    adapter = make_adapter(clock, search_page_size=2, search_result_cap=2)
    http.post(
        SEARCH,
        json={"results": [contact(1, T0), contact(2, T0)], "paging": {"next": {"after": "2"}}},
    )
    with pytest.raises(CrmError) as caught:
        list(adapter.contacts_changed_since(T0))
    assert caught.value.kind == "contract"


def test_owners_pages_through_the_active_owners_only(
    adapter: HubSpotAdapter, http: responses.RequestsMock
) -> None:
    page1 = sample("owners_page")
    page1["paging"] = {"next": {"after": "MTAw"}}
    page2 = {"results": [{"id": "7", "email": "queue@example.com", "archived": False}]}
    http.get(f"{BASE}/crm/v3/owners", json=page1)
    http.get(f"{BASE}/crm/v3/owners", json=page2)
    owners = adapter.owners()
    assert [(o.id, o.name, o.email, o.active) for o in owners] == [
        ("6166860", "John Smith", "jsmith@example.com", True),
        ("7", "queue@example.com", "queue@example.com", True),
    ]
    assert "after=MTAw" in http.calls[1].request.url
    assert all("archived=false" in call.request.url for call in http.calls)
    assert len(http.calls) == 2  # archived owners are never assigned work: not read


def test_closed_deals_carry_outcome_and_associated_contacts(
    adapter: HubSpotAdapter, http: responses.RequestsMock
) -> None:
    deals = {
        "total": 2,
        "results": [
            {
                "id": "7001",
                "properties": {
                    "amount": "12000",
                    "closedate": "2026-11-01T00:00:00Z",
                    "dealstage": "closedwon",
                    "hs_is_closed": "true",
                    "hs_is_closed_won": "true",
                    "hs_lastmodifieddate": "2026-11-02T00:00:00Z",
                },
            },
            {
                "id": "7002",
                "properties": {
                    "amount": "",
                    "dealstage": "closedlost",
                    "hs_lastmodifieddate": "2026-11-03T00:00:00Z",
                },
            },
        ],
    }
    http.post(f"{BASE}/crm/v3/objects/deals/search", json=deals)
    http.post(
        f"{BASE}/crm/v4/associations/deals/contacts/batch/read",
        json=sample("deal_contact_associations_batch_read")["response"],
    )
    pages = list(adapter.closed_deals_since(datetime(2026, 11, 20, tzinfo=UTC)))
    won, lost = pages[0].items
    assert (won.id, won.won, won.amount, won.contact_ids) == ("7001", True, 12000.0, ("151",))
    assert won.closed_at == datetime(2026, 11, 1, tzinfo=UTC)
    assert (lost.won, lost.amount, lost.closed_at, lost.contact_ids) == (False, None, None, ())
    search = sent_json(http.calls[0])
    assert {"propertyName": "hs_is_closed", "operator": "EQ", "value": "true"} in search[
        "filterGroups"
    ][0]["filters"]
    assert search["sorts"][0]["propertyName"] == "hs_lastmodifieddate"
    assert sent_json(http.calls[1]) == {"inputs": [{"id": "7001"}, {"id": "7002"}]}

    # the next cycle's overlap returns both again, one of them modified since
    changed = json.loads(json.dumps(deals))
    changed["results"][1]["properties"]["hs_lastmodifieddate"] = "2026-11-21T00:00:00Z"
    http.post(f"{BASE}/crm/v3/objects/deals/search", json=changed)
    http.post(f"{BASE}/crm/v4/associations/deals/contacts/batch/read", json={"results": []})
    won, lost = list(adapter.closed_deals_since(datetime(2026, 11, 20, tzinfo=UTC)))[0].items
    assert (won.contact_ids, lost.contact_ids) == (("151",), ())
    assert sent_json(http.calls[3]) == {"inputs": [{"id": "7002"}]}  # the unchanged one not again
    assert len(http.calls) == 4


def test_find_by_email_reads_by_email_and_skips_unknown(
    adapter: HubSpotAdapter, http: responses.RequestsMock
) -> None:
    answer = {
        "status": "COMPLETE",
        "results": [sample("contacts_search_response")["results"][0]],
        "numErrors": 1,
        "errors": [
            {"status": "error", "category": "OBJECT_NOT_FOUND", "context": {"ids": ["x@y.z"]}}
        ],
    }
    http.post(f"{BASE}/crm/v3/objects/contacts/batch/read", status=207, json=answer)
    found = adapter.find_by_email(["ANA@example.com", "x@y.z", "ana@example.com"])
    assert list(found) == ["ana@example.com"]
    assert found["ana@example.com"].id == "151"
    body = sent_json(http.calls[0])
    assert body["idProperty"] == "email"
    assert body["inputs"] == [{"id": "ana@example.com"}, {"id": "x@y.z"}]


def test_find_by_email_of_nobody_is_empty(
    adapter: HubSpotAdapter, http: responses.RequestsMock
) -> None:
    http.post(f"{BASE}/crm/v3/objects/contacts/batch/read", status=404, json=sample("error_404"))
    assert adapter.find_by_email(["nobody@example.com"]) == {}
    assert adapter.find_by_email([]) == {}
    assert json.loads(http.calls[0].request.body)["inputs"] == [{"id": "nobody@example.com"}]
