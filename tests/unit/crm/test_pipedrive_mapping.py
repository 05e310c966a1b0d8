"""Pipedrive's value codecs and bodies (pure functions, crm-apis.md §2.3-§2.7)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from scorebridge.crm import CrmError, DealSpec, TaskSpec
from scorebridge.crm.pipedrive import mapping as m
from scorebridge.crm.pipedrive.fields import PersonField, PersonFields, slug

BAND = PersonField("scorebridge_band", "b" * 40, "enum", True, {7: "cold", 8: "Warm", 9: "hot"})
SCORE = PersonField("scorebridge_score", "s" * 40, "double", True, {})
COMPANY = PersonField("Company", "c" * 40, "varchar", True, {})
FIELDS = PersonFields([BAND, SCORE, COMPANY])


def test_slugs_are_lower_case_with_underscores() -> None:
    assert slug("Job title") == "job_title"
    assert slug(" Lifecycle  stage! ") == "lifecycle_stage"


def test_enum_values_are_option_ids_written_by_label_and_read_back_as_labels() -> None:
    assert BAND.encode("warm") == 8
    assert BAND.decode(8) == "Warm"
    with pytest.raises(CrmError, match="has no option 'lukewarm'"):
        BAND.encode("lukewarm")


def test_numbers_are_json_numbers_and_read_back_without_a_trailing_zero() -> None:
    assert SCORE.encode(0) == 0
    assert SCORE.encode("77") == 77
    assert SCORE.decode(77.0) == "77"
    assert SCORE.decode(None) is None
    assert SCORE.encode(None) is None  # clears


def test_a_person_body_puts_standard_and_custom_names_where_pipedrive_keeps_them() -> None:
    body = m.person_body(
        {
            "email": "Ada@Example.com",
            "first_name": "Ada",
            "company": "Acme",
            "scorebridge_band": "hot",
            "owner_id": "501",
        },
        FIELDS,
        current={"last_name": "Lovelace"},
    )
    assert body == {
        "emails": [{"value": "ada@example.com", "primary": True, "label": "work"}],
        "owner_id": 501,
        "custom_fields": {"c" * 40: "Acme", "b" * 40: 9},
        "name": "Ada Lovelace",
    }
    with pytest.raises(CrmError, match="no person field 'fax'"):
        m.person_body({"fax": "1"}, FIELDS)


def test_a_person_reads_back_with_custom_fields_by_slug() -> None:
    raw = {
        "id": 11,
        "first_name": "Ana",
        "owner_id": 501,
        "update_time": "2026-11-20T09:30:12Z",
        "emails": [
            {"value": "x@y.z", "primary": False},
            {"value": "Ana@Example.com", "primary": True},
        ],
        "custom_fields": {"s" * 40: 87, "b" * 40: 7, "unknown": 1},
    }
    person = m.parse_person(raw, FIELDS)
    assert (person.id, person.email, person.owner_id) == ("11", "ana@example.com", "501")
    assert person.properties == {
        "first_name": "Ana",
        "scorebridge_score": "87",
        "scorebridge_band": "cold",
    }
    assert person.updated_at == datetime(2026, 11, 20, 9, 30, 12, tzinfo=UTC)


def test_activities_and_deals_carry_the_key() -> None:
    task = TaskSpec(
        "k:1", "Call", "why", datetime(2026, 11, 21, 23, 30, tzinfo=UTC), "501", "high", "11", "700"
    )
    body = m.activity_body(task, "task")
    assert (body["due_date"], body["due_time"], body["deal_id"]) == ("2026-11-21", "23:30", 700)
    assert body["participants"] == [{"person_id": 11, "primary": True}]
    assert m.task_marker("k:1") in body["note"]
    deal = m.deal_body(DealSpec("k:2", "Hot", None, None, 10.0, None, "11"), 1, 2)
    assert m.deal_key({"origin_id": deal["origin_id"]}) == "k:2"
    assert m.deal_key({"origin_id": "another-integration"}) is None
