"""Salesforce's value spellings and bodies (pure functions, crm-apis.md §3.3-§3.7)."""

from __future__ import annotations

from datetime import UTC, datetime

from scorebridge.crm.salesforce import mapping as m
from scorebridge.crm.salesforce.transport import soql_ids, soql_quote, soql_time


def test_salesforce_times_with_a_hhmm_offset_and_dates_parse_as_utc() -> None:
    assert m.parse_time("2026-11-20T09:30:12.000+0000") == datetime(
        2026, 11, 20, 9, 30, 12, tzinfo=UTC
    )
    assert m.parse_time("2026-11-20T10:30:12.000+0100") == datetime(
        2026, 11, 20, 9, 30, 12, tzinfo=UTC
    )
    assert m.parse_time("2026-11-19") == datetime(2026, 11, 19, tzinfo=UTC)


def test_soql_literals_are_escaped() -> None:
    assert soql_quote("o'brien\\x") == "'o\\'brien\\\\x'"
    assert soql_ids(["a", "b"]) == "('a', 'b')"
    assert soql_time(datetime(2026, 11, 20, 9, 30, 12, 999, tzinfo=UTC)) == "2026-11-20T09:30:12Z"


def test_ids_tell_leads_from_contacts() -> None:
    assert m.object_of("00QXX0000012345AAA") == m.LEAD
    assert m.object_of("003XX0000004444") == m.CONTACT
    assert m.object_of("006XX0000007777AAA") is None
    assert m.object_of("987654321") is None


def test_a_contact_has_no_company_nor_status_and_keeps_its_country_elsewhere() -> None:
    values = {
        "company": "Acme",
        "lead_status": "Open",
        "country": "Hungary",
        "scorebridge_score": 0,
        "Region__c": "EU",
    }
    assert m.record_body(values, m.CONTACT) == {
        "MailingCountry": "Hungary",
        "scorebridge_score__c": 0,
        "Region__c": "EU",
    }
    lead = m.lead_body("Ada@Example.com", {"first_name": "Ada"})
    assert lead == {
        "FirstName": "Ada",
        "Email": "ada@example.com",
        "LastName": "Ada",
        "Company": m.NO_COMPANY,
    }


def test_a_record_reads_back_with_logical_and_api_names() -> None:
    raw = {
        "attributes": {"type": "Lead"},
        "Id": "00QXX0000012345AAA",
        "Email": "Ana@Example.com",
        "FirstName": "Ana",
        "Status": "Working - Contacted",
        "Title": "CTO",
        "scorebridge_score__c": 87.0,
        "scorebridge_lifecycle__c": "marketingqualifiedlead",
        "OwnerId": "005XX0000000001AAA",
        "SystemModstamp": "2026-11-20T09:30:12.000+0000",
    }
    person = m.parse_person(raw, m.LEAD, raw["Id"])
    assert person.properties == {
        "first_name": "Ana",
        "lead_status": "Working - Contacted",
        "Title": "CTO",
        "scorebridge_score": "87",
    }
    assert (person.email, person.lifecycle) == ("ana@example.com", "marketingqualifiedlead")


def test_an_opportunitys_people_are_its_roles_and_its_contact() -> None:
    raw = {
        "ContactId": "003B",
        "OpportunityContactRoles": {"records": [{"ContactId": "003A"}, {"ContactId": "003B"}]},
    }
    assert m.opportunity_contacts(raw) == ["003A", "003B"]
    assert m.opportunity_contacts({"OpportunityContactRoles": None}) == []
