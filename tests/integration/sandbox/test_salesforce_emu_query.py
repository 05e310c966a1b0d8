"""Salesforce emulator SOQL over real sockets: incremental reads with nextRecordsUrl paging and
batch sizes, the filters an adapter needs (SystemModstamp, Email IN, Id IN, IsClosed, IsWon),
contact roles as a subquery and as an object, owners, parent paths, errors, queryAll and the
updated/deleted feeds."""

from __future__ import annotations

from typing import Any

import pytest
from salesforce_emu_support import API, Force, sample

CHANGED = (
    "SELECT Id, Email, FirstName, LastName, Company, Status, Rating, OwnerId, IsConverted, "
    "ConvertedContactId, SystemModstamp, LastModifiedDate FROM Lead "
    "WHERE SystemModstamp >= {since} ORDER BY SystemModstamp, Id"
)


def _many_leads(force: Force, count: int) -> None:
    for start in range(0, count, 200):
        records = [
            {"attributes": {"type": "Lead"}, "LastName": f"Bulk{n}", "Company": "Bulk Co",
             "Email": f"bulk{n}@bulk.example"}
            for n in range(start, min(count, start + 200))
        ]  # fmt: skip
        answer = force.call("POST", "/composite/sobjects", {"allOrNone": True, "records": records})
        assert all(r["success"] for r in answer.json()), answer.text
        force.advance(1)


def test_incremental_read_pages_through_next_records_url(force: Force) -> None:
    _many_leads(force, 450)
    first = force.query(CHANGED.format(since="2026-11-20T00:00:00Z"), **{
        "Sforce-Query-Options": "batchSize=200"
    })  # fmt: skip
    assert first.keys() == sample("soql_leads_changed_since_page1.json").keys()
    assert first["totalSize"] == 450
    assert not first["done"]
    assert len(first["records"]) == 200
    assert first["nextRecordsUrl"].startswith("/services/data/v62.0/query/01g")
    assert first["nextRecordsUrl"].endswith("-200")
    expected_keys = sample("soql_leads_changed_since_page1.json")["records"][0].keys()
    assert first["records"][0].keys() == expected_keys - {"Mautic_Score__c", "Lead_Temperature__c"}
    force.call("PATCH", f"/sobjects/Lead/{first['records'][0]['Id']}", {"Rating": "Hot"})
    pages, url = [first], first["nextRecordsUrl"]
    while url:
        page = force.call("GET", url).json()
        pages.append(page)
        url = page.get("nextRecordsUrl")
    assert [len(p["records"]) for p in pages] == [200, 200, 50]
    assert pages[-1].keys() == sample("soql_leads_changed_since_page2.json").keys()
    assert pages[-1]["done"] is True
    rows = [r for p in pages for r in p["records"]]
    assert len({r["Id"] for r in rows}) == 450  # the result is the query-time snapshot
    stamps = [(r["SystemModstamp"], r["Id"]) for r in rows]
    assert stamps == sorted(stamps)
    later = force.query(CHANGED.format(since="2026-11-20T10:00:03Z"))
    assert [r["Rating"] for r in later["records"]] == ["Hot"]  # the update moved it forward
    assert force.query(CHANGED.format(since="2026-10-01T00:00:00Z"))["done"] is True  # 2000


def test_query_locators_expire_when_idle(force: Force) -> None:
    _many_leads(force, 201)
    first = force.query("SELECT Id FROM Lead", **{"Sforce-Query-Options": "batchSize=200"})
    force.advance(901)
    expired = force.call("GET", first["nextRecordsUrl"])
    assert expired.status_code == 400
    assert expired.json()[0]["errorCode"] == "INVALID_QUERY_LOCATOR"


def test_lookup_filters_an_adapter_needs(force: Force) -> None:
    truth = force.control("truth")
    emails = "'ana@nordicfreight.example', 'DAN@nordicfreight.example', 'nobody@x.example'"
    open_leads = force.query(f"SELECT Id, Email FROM Lead WHERE Email IN ({emails}) "
                             "AND IsConverted = false")  # fmt: skip
    assert [r["Email"] for r in open_leads["records"]] == ["dan@nordicfreight.example"]
    contacts = force.query(f"SELECT Id, Email, AccountId FROM Contact WHERE Email IN ({emails})")
    assert [r["Id"] for r in contacts["records"]] == [
        truth["contacts_by_email"]["ana@nordicfreight.example"]
    ]
    wanted = list(truth["leads_by_email"].values())[:2]
    short = [wanted[0][:15], wanted[1]]  # 15- and 18-character ids both work
    by_id = force.query(f"SELECT Id FROM Lead WHERE Id IN ('{short[0]}', '{short[1]}')")
    assert {r["Id"] for r in by_id["records"]} == set(wanted)
    like = force.query("SELECT Name FROM Lead WHERE Name LIKE 'b_ ch%' OR LastName = 'LIND'")
    assert sorted(r["Name"] for r in like["records"]) == ["Bo Chen", "Eva Lind"]
    assert force.query("SELECT COUNT() FROM Lead WHERE Rating = null") == {
        "totalSize": 4,
        "done": True,
        "records": [],
    }


def test_closed_opportunities_with_contact_roles_match_the_sample(force: Force) -> None:
    soql = (
        "SELECT Id, Name, StageName, IsClosed, IsWon, CloseDate, Amount, AccountId, ContactId, "
        "SystemModstamp, (SELECT ContactId, IsPrimary, Role FROM OpportunityContactRoles) "
        "FROM Opportunity WHERE IsClosed = true AND SystemModstamp > 2026-11-01T00:00:00Z "
        "ORDER BY SystemModstamp"
    )
    body = force.query(soql)
    expected = sample("soql_closed_opportunities_with_contact_roles.json")
    assert body.keys() == expected.keys()
    won, lost = body["records"]
    assert won.keys() == expected["records"][0].keys()
    roles = won["OpportunityContactRoles"]
    assert roles.keys() == expected["records"][0]["OpportunityContactRoles"].keys()
    assert (
        roles["records"][0].keys()
        == expected["records"][0]["OpportunityContactRoles"]["records"][0].keys()
    )
    assert (won["IsWon"], won["Amount"], won["CloseDate"]) == (True, 12500.0, "2026-11-15")
    assert (lost["IsWon"], lost["StageName"]) == (False, "Closed Lost")
    assert roles["records"][0]["ContactId"] == won["ContactId"]
    only_won = force.query("SELECT Id FROM Opportunity WHERE IsWon = true")
    assert [r["Id"] for r in only_won["records"]] == [won["Id"]]
    direct = force.query(
        "SELECT OpportunityId, ContactId, IsPrimary FROM OpportunityContactRole "
        f"WHERE OpportunityId IN ('{won['Id']}', '{lost['Id']}') ORDER BY OpportunityId"
    )
    assert [r["OpportunityId"] for r in direct["records"]] == [won["Id"], lost["Id"]]
    converted = force.query(
        "SELECT Email, ConvertedContactId, ConvertedOpportunityId FROM Lead "
        "WHERE IsConverted = true ORDER BY Email"
    )
    assert converted["records"][0]["ConvertedOpportunityId"] == won["Id"]


def test_owners_tasks_and_parent_paths(force: Force) -> None:
    owners = force.query("SELECT Id, Name, Email, IsActive, UserType FROM User "
                         "WHERE IsActive = true ORDER BY Email")  # fmt: skip
    assert [u["Email"] for u in owners["records"]] == [
        "integration@nordlicht-analytics.example",
        "jane.smith@nordlicht-analytics.example",
        "omar.haddad@nordlicht-analytics.example",
    ]
    lead = force.query("SELECT Id FROM Lead WHERE LastName = 'Vogel'")["records"][0]["Id"]
    created = force.call("POST", "/sobjects/Task", {"Subject": "Call Dan", "WhoId": lead})
    assert created.status_code == 201
    tasks = force.query(
        f"SELECT Id, Subject, IsClosed, Who.Name, Owner.Email FROM Task WHERE WhoId = '{lead}' "
        "AND IsClosed = false"
    )
    task = tasks["records"][0]
    assert task["Who"]["Name"] == "Dan Vogel"
    assert task["Who"]["attributes"]["type"] == "Lead"
    assert task["Owner"]["Email"] == "integration@nordlicht-analytics.example"
    child = force.query("SELECT Id, (SELECT Subject FROM Tasks) FROM Lead WHERE Id = "
                        f"'{lead}'")  # fmt: skip
    assert child["records"][0]["Tasks"]["records"][0]["Subject"] == "Call Dan"
    none = force.query("SELECT Id, (SELECT Subject FROM Tasks) FROM Lead WHERE LastName = 'Lind'")
    assert none["records"][0]["Tasks"] is None


@pytest.mark.parametrize(
    ("soql", "code", "text"),
    [
        ("SELECT Id FORM Lead", "MALFORMED_QUERY", "unexpected token: 'FORM'"),
        ("SELECT Id, Foo FROM Lead", "INVALID_FIELD", "No such column 'Foo' on entity 'Lead'"),
        ("SELECT Id FROM Leed", "INVALID_TYPE", "sObject type 'Leed' is not supported"),
        ("SELECT Id FROM Lead WHERE SystemModstamp > '2026-11-20T00:00:00Z'", "INVALID_FIELD",
         "must be of type dateTime and should not be enclosed in quotes"),
        ("SELECT Id FROM Lead WHERE IsConverted = 'false'", "INVALID_FIELD", "of type boolean"),
        ("SELECT Id FROM Lead OFFSET 2001", "NUMBER_OUTSIDE_VALID_RANGE", "offset"),
        ("SELECT Id FROM Lead ORDER BY", "MALFORMED_QUERY", "unexpected end of query"),
    ],
)  # fmt: skip
def test_bad_queries_answer_salesforce_errors(
    force: Force, soql: str, code: str, text: str
) -> None:
    answer = force.call("GET", "/query", q=soql)
    assert answer.status_code == 400
    body: list[dict[str, Any]] = answer.json()
    assert body[0]["errorCode"] == code
    assert text in body[0]["message"]
    if code == "MALFORMED_QUERY" and "FORM" in soql:
        assert body == sample("error_400_malformed_query.json")


def test_query_all_and_the_updated_and_deleted_feeds(force: Force) -> None:
    lead = force.query("SELECT Id FROM Lead WHERE LastName = 'Lind'")["records"][0]["Id"]
    force.advance(120)
    assert force.call("PATCH", f"/sobjects/Lead/{lead}", {"Rating": "Warm"}).status_code == 204
    force.advance(120)
    assert force.call("DELETE", f"/sobjects/Lead/{lead}").status_code == 204
    assert force.query("SELECT COUNT() FROM Lead")["totalSize"] == 3
    every = force.call(
        "GET", "/queryAll", q="SELECT Id, IsDeleted FROM Lead WHERE IsDeleted = true"
    )
    assert [r["Id"] for r in every.json()["records"]] == [lead]
    window = {"start": "2026-11-20T10:00:00Z", "end": "2026-11-20T10:10:00Z"}
    updated = force.call("GET", "/sobjects/Lead/updated/", **window).json()
    assert updated.keys() == sample("getupdated_response.json").keys()
    assert updated["ids"] == []  # deleted since
    deleted = force.call("GET", "/sobjects/Lead/deleted/", **window).json()
    assert [d["id"] for d in deleted["deletedRecords"]] == [lead]
    assert force.call("GET", f"{API}/sobjects/Lead/{lead}").status_code == 404
    old = {"start": "2026-09-01T00:00:00Z", "end": "2026-09-02T00:00:00Z"}
    assert force.call("GET", "/sobjects/Lead/updated/", **old).status_code == 400
