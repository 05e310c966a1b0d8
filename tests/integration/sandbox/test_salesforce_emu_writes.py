"""Salesforce emulator writes over real sockets: records and their rules, custom fields through
the Tooling API with field-level security, upsert by external id (single and collection), and
sObject collections with per-item failures, all-or-none and injected lock errors."""

from __future__ import annotations

from typing import Any

import requests
from salesforce_emu_support import Force, sample

SCORE = sample("tooling_customfield_number_request.json")
MAUTIC_ID = {
    "FullName": "Lead.Mautic_Contact_Id__c",
    "Metadata": {"label": "Mautic Contact Id", "type": "Text", "length": 18,
                 "externalId": True, "unique": True},
}  # fmt: skip


def _lead(force: Force, last: str) -> str:
    return str(force.query(f"SELECT Id FROM Lead WHERE LastName = '{last}'")["records"][0]["Id"])


def _field(force: Force, body: dict[str, Any]) -> dict[str, Any]:
    answer = force.call("POST", "/tooling/sobjects/CustomField", body)
    assert answer.status_code == 201, answer.text
    return dict(answer.json())


def _grant(force: Force, field: str, **permissions: bool) -> requests.Response:
    user = force.query("SELECT ProfileId FROM User WHERE Username = "
                       f"'{force.creds['username']}'")["records"][0]  # fmt: skip
    permission_set = force.query(
        "SELECT Id FROM PermissionSet WHERE IsOwnedByProfile = true "
        f"AND ProfileId = '{user['ProfileId']}'"
    )["records"][0]["Id"]
    grant = {"ParentId": permission_set, "SobjectType": field.split(".")[0], "Field": field,
             "PermissionsRead": True, "PermissionsEdit": True, **permissions}  # fmt: skip
    return force.call("POST", "/sobjects/FieldPermissions", grant)


def test_create_read_update_with_salesforce_rules(force: Force) -> None:
    created = force.call("POST", "/sobjects/Lead", {"LastName": "Nyberg", "Email": "n@x.example"})
    assert created.status_code == 400
    assert created.json() == sample("error_400_required_field.json")
    created = force.call("POST", "/sobjects/Lead", {"LastName": "Nyberg", "Company": "Fjord AS"})
    assert created.status_code == 201
    assert created.json().keys() == sample("create_response_201.json").keys()
    lead = created.json()["id"]
    record = force.call("GET", f"/sobjects/Lead/{lead}").json()
    assert record["Status"] == "Open - Not Contacted"
    assert record["SystemModstamp"] == "2026-11-20T10:00:00.000+0000"
    force.advance(60)
    assert force.call("PATCH", f"/sobjects/Lead/{lead[:15]}", {"rating": "Hot"}).status_code == 204
    record = force.call("GET", f"/sobjects/Lead/{lead}", fields="Rating,SystemModstamp").json()
    assert record == {
        "attributes": record["attributes"],
        "Rating": "Hot",
        "SystemModstamp": "2026-11-20T10:01:00.000+0000",
    }
    refusals = {
        "INVALID_FIELD": {"Mautic_Score__c": 5},
        "INVALID_FIELD_FOR_INSERT_UPDATE": {"IsConverted": True},
        "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST": {"Status": "Hot lead"},
        "INVALID_EMAIL_ADDRESS": {"Email": "not-an-address"},
        "STRING_TOO_LONG": {"Title": "x" * 129},
        "MALFORMED_ID": {"OwnerId": "nope"},
        "FIELD_INTEGRITY_EXCEPTION": {"OwnerId": lead},
        "JSON_PARSER_ERROR": {"NumberOfEmployees": "many"},
        "REQUIRED_FIELD_MISSING": {"Company": None},
    }
    for code, body in refusals.items():
        answer = force.call("PATCH", f"/sobjects/Lead/{lead}", body)
        assert answer.status_code == 400, body
        assert answer.json()[0]["errorCode"] == code, answer.text
    converted = force.query("SELECT Id FROM Lead WHERE IsConverted = true")["records"][0]["Id"]
    answer = force.call("PATCH", f"/sobjects/Lead/{converted}", {"Rating": "Hot"})
    assert answer.json()[0]["errorCode"] == "CANNOT_UPDATE_CONVERTED_LEAD"
    assert force.call("PUT", f"/sobjects/Lead/{lead}", {"Rating": "Hot"}).status_code == 405
    missing = force.call("GET", "/sobjects/Lead/00QDn0000000999AAA")
    assert missing.status_code == 404
    assert missing.json() == sample("error_404_not_found.json")


def test_tasks_link_to_leads_without_what_id(force: Force) -> None:
    body = sample("task_create_request.json")
    del body["Mautic_Task_Key__c"]
    body.update(WhoId=_lead(force, "Vogel"), OwnerId=force.query(
        "SELECT Id FROM User WHERE Email = 'jane.smith@nordlicht-analytics.example'"
    )["records"][0]["Id"])  # fmt: skip
    created = force.call("POST", "/sobjects/Task", body)
    assert created.status_code == 201, created.text
    task = force.call("GET", f"/sobjects/Task/{created.json()['id']}").json()
    assert (task["IsClosed"], task["IsHighPriority"], task["ActivityDate"]) == (
        False,
        True,
        "2026-11-21",
    )
    assert force.call("PATCH", f"/sobjects/Task/{task['Id']}", {"Status": "Completed"}).ok
    assert force.call("GET", f"/sobjects/Task/{task['Id']}").json()["IsClosed"] is True
    opportunity = force.query("SELECT Id FROM Opportunity LIMIT 1")["records"][0]["Id"]
    refused = force.call("POST", "/sobjects/Task", {**body, "WhatId": opportunity})
    assert refused.json()[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"


def test_custom_fields_stay_invisible_until_field_level_security_is_granted(
    force: Force,
) -> None:
    created = _field(force, SCORE)
    assert created["id"].startswith("00N")
    assert created.keys() == {"id", "success", "errors", "warnings", "infos"}
    names = {f["name"] for f in force.call("GET", "/sobjects/Lead/describe").json()["fields"]}
    assert "Mautic_Score__c" not in names
    lead = _lead(force, "Vogel")
    hidden = force.call("PATCH", f"/sobjects/Lead/{lead}", {"Mautic_Score__c": 42})
    assert hidden.json()[0]["errorCode"] == "INVALID_FIELD"
    tooling = force.call("GET", "/tooling/query", q="SELECT Id, DeveloperName, TableEnumOrId "
                         "FROM CustomField WHERE TableEnumOrId = 'Lead'").json()  # fmt: skip
    assert [r["DeveloperName"] for r in tooling["records"]] == ["Mautic_Score"]
    again = force.call("POST", "/tooling/sobjects/CustomField", SCORE)
    assert again.json()[0]["errorCode"] == "DUPLICATE_DEVELOPER_NAME"
    edit_only = _grant(force, "Lead.Mautic_Score__c", PermissionsRead=False)
    assert edit_only.json()[0]["errorCode"] == "FIELD_INTEGRITY_EXCEPTION"
    assert _grant(force, "Lead.Mautic_Score__c").status_code == 201
    assert _grant(force, "Lead.Mautic_Score__c").json()[0]["errorCode"] == "DUPLICATE_VALUE"
    assert _grant(force, "Lead.Email").json()[0]["errorCode"] == "INVALID_FIELD"
    described = force.call("GET", "/sobjects/Lead/describe").json()
    score = next(f for f in described["fields"] if f["name"] == "Mautic_Score__c")
    assert (score["type"], score["precision"], score["scale"], score["custom"]) == (
        "double",
        18,
        0,
        True,
    )
    assert force.call("PATCH", f"/sobjects/Lead/{lead}", {"Mautic_Score__c": 41.6}).ok
    read = force.query(f"SELECT Mautic_Score__c FROM Lead WHERE Id = '{lead}'")
    assert read["records"][0]["Mautic_Score__c"] == 42.0
    for bad in (
        {"FullName": "Lead.Bad Name__c", "Metadata": {"label": "B", "type": "Text", "length": 5}},
        {"FullName": "Lead.Short__c", "Metadata": {"label": "S", "type": "Text"}},
        {"FullName": "Lead.P__c", "Metadata": {"label": "P", "type": "Picklist"}},
        {"FullName": "Lead.E__c", "Metadata": {"label": "E", "type": "Checkbox",
                                               "externalId": True}},
    ):  # fmt: skip
        assert force.call("POST", "/tooling/sobjects/CustomField", bad).status_code == 400, bad
    force.control("settings", {"can_customize": False})
    denied = force.call("POST", "/tooling/sobjects/CustomField", MAUTIC_ID)
    assert denied.status_code == 403
    assert denied.json()[0]["errorCode"] == "INSUFFICIENT_ACCESS"


def test_upsert_by_external_id_single_record(force: Force) -> None:
    force.control("settings", {"field_access_on_create": True})
    _field(force, MAUTIC_ID)
    body = {"LastName": "Ruiz", "Company": "Acme", "Email": "ana.r@acme.example"}
    created = force.call("PATCH", "/sobjects/Lead/Mautic_Contact_Id__c/4711", body)
    assert created.status_code == 201
    assert created.json().keys() == sample("upsert_by_external_id_response_201.json").keys()
    assert created.json()["created"] is True
    again = force.call("PATCH", "/sobjects/Lead/Mautic_Contact_Id__c/4711", {"Rating": "Warm"})
    assert again.status_code == 200
    assert again.json() == {**sample("upsert_by_external_id_response_200.json"),
                            "id": created.json()["id"]}  # fmt: skip
    old_api = force.call(
        "PATCH", "/services/data/v45.0/sobjects/Lead/Mautic_Contact_Id__c/4711", {"Rating": "Hot"}
    )
    assert old_api.status_code == 204
    read = force.call("GET", "/sobjects/Lead/Mautic_Contact_Id__c/4711").json()
    assert (read["Rating"], read["Mautic_Contact_Id__c"]) == ("Hot", "4711")
    unknown = force.call("PATCH", "/sobjects/Lead/Nope__c/1", body)
    assert unknown.status_code == 404
    _field(force, {"FullName": "Lead.Legacy_Id__c",
                   "Metadata": {"label": "Legacy", "type": "Text", "length": 10,
                                "externalId": True}})  # fmt: skip
    for last in ("Twin", "Twain"):
        force.call(
            "POST", "/sobjects/Lead", {"LastName": last, "Company": "T", "Legacy_Id__c": "7"}
        )
    twice = force.call("PATCH", "/sobjects/Lead/Legacy_Id__c/7", {"Rating": "Hot"})
    assert twice.status_code == 300
    assert len(twice.json()) == 2
    assert all(url.startswith("/services/data/v62.0/sobjects/Lead/00Q") for url in twice.json())


def test_collections_upsert_and_partial_update_match_the_samples(force: Force) -> None:
    force.control("settings", {"field_access_on_create": True})
    _field(force, MAUTIC_ID)
    _field(force, SCORE)
    existing = force.call("PATCH", "/sobjects/Lead/Mautic_Contact_Id__c/4711",
                          {"LastName": "Ruiz", "Company": "Acme"}).json()["id"]  # fmt: skip
    upserted = force.call(
        "PATCH",
        "/composite/sobjects/Lead/Mautic_Contact_Id__c",
        sample("composite_sobjects_upsert_request.json"),
    )
    assert upserted.status_code == 200
    expected = sample("composite_sobjects_upsert_response.json")
    assert [r.keys() for r in upserted.json()] == [r.keys() for r in expected]
    assert [(r["id"] == existing, r["created"]) for r in upserted.json()] == [
        (True, False),
        (False, True),
    ]
    deleted = _lead(force, "Lind")
    force.call("DELETE", f"/sobjects/Lead/{deleted}")
    request = sample("composite_sobjects_update_request.json")
    request["records"] = [
        {**request["records"][0], "id": existing},
        {"attributes": {"type": "Lead"}, "id": deleted, "Mautic_Score__c": 55},
    ]
    partial = force.call("PATCH", "/composite/sobjects", request)
    assert partial.status_code == 200
    assert partial.json()[1] == sample("composite_sobjects_update_partial_failure.json")[1]
    assert partial.json()[0] == {"id": existing, "success": True, "errors": []}
    score = force.query(f"SELECT Mautic_Score__c FROM Lead WHERE Id = '{existing}'")
    assert score["records"][0]["Mautic_Score__c"] == 92.0


def test_all_or_none_limits_and_injected_lock_failures(force: Force) -> None:
    records = [
        {"attributes": {"type": "Lead"}, "LastName": "Ok", "Company": "A"},
        {"attributes": {"type": "Lead"}, "LastName": "No company"},
    ]
    rolled = force.call("POST", "/composite/sobjects", {"allOrNone": True, "records": records})
    first, second = rolled.json()
    assert first["errors"][0]["statusCode"] == "ALL_OR_NONE_OPERATION_ROLLED_BACK"
    assert second["errors"][0]["statusCode"] == "REQUIRED_FIELD_MISSING"
    assert force.query("SELECT COUNT() FROM Lead WHERE LastName = 'Ok'")["totalSize"] == 0
    kept = force.call("POST", "/composite/sobjects", {"allOrNone": False, "records": records})
    assert [r["success"] for r in kept.json()] == [True, False]
    too_many = {"records": [records[0]] * 201}
    answer = force.call("POST", "/composite/sobjects", too_many)
    assert answer.status_code == 400
    assert answer.json()[0]["errorCode"] == "EXCEEDED_ID_LIMIT"
    force.control("faults", {"batch_item_failure_ratio": 0.5, "seed": 3})
    many = {"records": [{**records[0], "LastName": f"L{n}"} for n in range(20)]}
    results = force.call("POST", "/composite/sobjects", many).json()
    failed = [r for r in results if not r["success"]]
    assert 0 < len(failed) < 20
    assert {r["errors"][0]["statusCode"] for r in failed} == {"UNABLE_TO_LOCK_ROW"}
    made = force.query("SELECT COUNT() FROM Lead WHERE Company = 'A' AND LastName LIKE 'L%'")
    assert made["totalSize"] == 20 - len(failed)
    read = force.call("GET", "/composite/sobjects/Lead", ids=f"{results[0].get('id')},"
                      "00QDn0000000999AAA", fields="Id,LastName")  # fmt: skip
    assert read.json()[1] is None


def test_a_rep_converts_a_lead_into_a_contact_on_its_companys_account(force: Force) -> None:
    """Lead conversion as the UI and ``Database.convertLead`` leave it (Salesforce Help, "Convert
    Leads"): a Contact with the Lead's name, e-mail and owner on an Account named after the
    Company (reused when one exists), the Lead read-only with its conversion fields."""
    lead = force.call(
        "POST",
        "/sobjects/Lead",
        {
            "FirstName": "Siri",
            "LastName": "Dahl",
            "Company": "Dahl Marine",
            "Email": "s@dahl.example",
        },
    ).json()["id"]
    account = force.call("POST", "/sobjects/Account", {"Name": "Dahl Marine"}).json()["id"]
    made = force.control("leads/convert", {"lead_id": lead})
    assert made["account_id"] == account
    assert made["opportunity_id"] is None
    contact = force.call("GET", f"/sobjects/Contact/{made['contact_id']}").json()
    assert (contact["FirstName"], contact["LastName"], contact["Email"]) == (
        "Siri", "Dahl", "s@dahl.example",
    )  # fmt: skip
    assert contact["AccountId"] == account
    row = force.query(
        "SELECT IsConverted, ConvertedContactId, ConvertedAccountId, Status FROM Lead "
        f"WHERE Id = '{lead}'"
    )["records"][0]
    assert (row["IsConverted"], row["ConvertedContactId"], row["ConvertedAccountId"]) == (
        True, made["contact_id"], account,
    )  # fmt: skip
    again = requests.post(f"{force.url}/_sandbox/leads/convert", json={"lead_id": lead}, timeout=10)
    assert again.status_code == 400
    assert again.json()[0]["errorCode"] == "CANNOT_UPDATE_CONVERTED_LEAD"
    edit = force.call("PATCH", f"/sobjects/Lead/{lead}", {"Title": "CEO"})
    assert edit.status_code == 400  # a converted Lead is read-only
