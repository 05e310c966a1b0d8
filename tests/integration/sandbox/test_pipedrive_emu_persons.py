"""Pipedrive emulator persons over real sockets: the v2 list (shape, cursor paging, incremental
filters, sorting), writes with custom fields by 40-character field code, person fields with enum
options, and the eventually consistent person search."""

from __future__ import annotations

import re

from pipedrive_emu_support import REP_1, REP_2, Pipe, sample, shape

PERSONS = "/api/v2/persons"
FIELDS = "/api/v2/personFields"
SEARCH = "/api/v2/persons/search"


def _field(pipe: Pipe, body: dict[str, object]) -> dict[str, object]:
    return dict(pipe.data("POST", FIELDS, body))


def test_list_matches_the_sample_shape_and_pages_by_cursor(pipe: Pipe) -> None:
    _field(pipe, sample("person_field_create_v2_request.json"))
    first = pipe.call("GET", PERSONS, limit=3).json()
    expected = sample("persons_v2_list_response.json")
    assert shape(first) == shape(expected)
    person = first["data"][0]
    assert list(person) == list(expected["data"][0])
    assert re.fullmatch(r"\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ", person["update_time"])
    assert first["additional_data"]["next_cursor"]
    seen = [p["id"] for p in first["data"]]
    cursor = first["additional_data"]["next_cursor"]
    while cursor:
        page = pipe.call("GET", PERSONS, limit=3, cursor=cursor).json()
        seen += [p["id"] for p in page["data"]]
        cursor = page["additional_data"]["next_cursor"]
    assert seen == [101, 102, 103, 104]
    assert pipe.call("GET", PERSONS, limit=501).status_code == 400
    bad = pipe.call("GET", PERSONS, cursor="not-a-cursor")
    assert bad.status_code == 400
    assert bad.json().keys() == sample("error_400.json").keys()


def test_incremental_read_by_update_time_sees_later_changes_once(pipe: Pipe) -> None:
    since = "2026-11-16T00:00:00Z"
    ids = [p["id"] for p in pipe.data("GET", PERSONS, updated_since=since, sort_by="update_time")]
    assert ids == [102]  # Bo's lost deal closed on 2026-11-17
    until = [p["id"] for p in pipe.data("GET", PERSONS, updated_until="2026-11-15T10:00:00Z")]
    assert 101 not in until  # updated_until is exclusive
    pipe.advance(60)
    pipe.data("PATCH", f"{PERSONS}/103", {"name": "Dan Vogel-Berg"})
    ids = [p["id"] for p in pipe.data("GET", PERSONS, updated_since=since, sort_by="update_time")]
    assert ids == [102, 103]
    desc = pipe.data("GET", PERSONS, sort_by="update_time", sort_direction="desc")
    assert [p["id"] for p in desc][:2] == [103, 102]
    assert pipe.call("GET", PERSONS, updated_since="2026-11-16").status_code == 400
    assert pipe.call("GET", PERSONS, sort_by="name").status_code == 400
    by_owner = pipe.data("GET", PERSONS, owner_id=REP_2)
    assert [p["id"] for p in by_owner] == [102]
    counted = pipe.data("GET", PERSONS, ids="101,102", include_fields="won_deals_count")
    assert [(p["id"], p["won_deals_count"]) for p in counted] == [(101, 1), (102, 0)]


def test_create_and_patch_persons_with_custom_fields(pipe: Pipe) -> None:
    score = _field(pipe, sample("person_field_create_v2_request.json"))
    temperature = _field(pipe, sample("person_field_enum_create_v2_request.json"))
    assert list(score) == list(sample("person_field_create_v2_response.json")["data"])
    assert re.fullmatch(r"[0-9a-f]{40}", str(score["field_code"]))
    options = {o["label"]: o["id"] for o in temperature["options"]}  # type: ignore[attr-defined]
    assert set(options) == {"Hot", "Warm", "Cold"}
    missing_name = pipe.call("POST", PERSONS, {"emails": [{"value": "x@y.example"}]})
    assert missing_name.status_code == 400
    assert missing_name.json() == sample("error_400.json")
    created = pipe.data(
        "POST",
        PERSONS,
        {"name": "Ana Ruiz", "owner_id": REP_1, "emails": [{"value": "ana2@x.example"}]},
    )
    assert created["emails"] == [{"value": "ana2@x.example", "primary": True, "label": "work"}]
    assert created["custom_fields"] == {score["field_code"]: None, temperature["field_code"]: None}
    request = sample("person_update_v2_request.json")
    request["custom_fields"] = {score["field_code"]: 91, temperature["field_code"]: options["Hot"]}
    request["owner_id"] = REP_2
    patched = pipe.data("PATCH", f"{PERSONS}/{created['id']}", request)
    assert patched["custom_fields"][score["field_code"]] == 91
    assert patched["custom_fields"][temperature["field_code"]] == options["Hot"]
    assert patched["owner_id"] == REP_2
    cleared = pipe.data(
        "PATCH", f"{PERSONS}/{created['id']}", {"custom_fields": {score["field_code"]: None}}
    )
    assert cleared["custom_fields"][score["field_code"]] is None
    assert cleared["custom_fields"][temperature["field_code"]] == options["Hot"]
    refused = [
        {"custom_fields": {temperature["field_code"]: 999_999}},
        {"custom_fields": {score["field_code"]: "91"}},
        {"custom_fields": {"0" * 40: 1}},
        {score["field_code"]: 91},  # a v1-style top-level key
        {"owner_id": 1},
        {"job_title": "CEO"},  # Contact Sync is off
    ]
    for body in refused:
        answer = pipe.call("PATCH", f"{PERSONS}/{created['id']}", body)
        assert answer.status_code in (400, 403), body
        assert answer.json()["success"] is False
    assert pipe.call("GET", f"{PERSONS}/999").status_code == 404


def test_set_fields_refuse_an_empty_list_and_options_can_grow(pipe: Pipe) -> None:
    segments = _field(
        pipe,
        {"field_name": "Mautic segments", "field_type": "set", "options": [{"label": "A"}]},
    )
    code = segments["field_code"]
    added = pipe.data("POST", f"{FIELDS}/{code}/options", [{"label": "B"}])
    ids = [o["id"] for o in segments["options"]] + [added[0]["id"]]  # type: ignore[attr-defined]
    assert (
        pipe.data("PATCH", f"{PERSONS}/101", {"custom_fields": {code: ids}})["custom_fields"][code]
        == ids
    )
    empty = pipe.call("PATCH", f"{PERSONS}/101", {"custom_fields": {code: []}})
    assert empty.status_code == 400
    assert pipe.call("POST", FIELDS, {"field_name": "E", "field_type": "enum"}).status_code == 400
    listed = pipe.data("GET", FIELDS)
    assert [f["field_code"] for f in listed if f["is_custom_field"]] == [code]
    assert any(f["field_code"] == "name" and not f["is_custom_field"] for f in listed)


def test_search_by_email_is_eventually_consistent(pipe: Pipe) -> None:
    pipe.control("settings", {"search_lag_ms": 3000})
    found = pipe.call(
        "GET", SEARCH, term="ana@nordicfreight.example", fields="email", exact_match="true"
    ).json()
    expected = sample("person_search_v2_response.json")
    assert shape(found, 3) == shape(expected, 3)
    assert found["data"]["items"][0].keys() == expected["data"]["items"][0].keys()
    assert list(found["data"]["items"][0]["item"]) == list(expected["data"]["items"][0]["item"])
    assert [i["item"]["id"] for i in found["data"]["items"]] == [101]
    created = pipe.data(
        "POST", PERSONS, {"name": "Nia Lag", "emails": [{"value": "nia@x.example"}]}
    )

    def search() -> list[int]:
        body = pipe.call("GET", SEARCH, term="nia@x.example", fields="email", exact_match="true")
        return [i["item"]["id"] for i in body.json()["data"]["items"]]

    assert search() == []
    pipe.advance(2.9)
    assert search() == []
    pipe.advance(0.2)
    assert search() == [created["id"]]
    pipe.data("PATCH", f"{PERSONS}/{created['id']}", {"emails": [{"value": "nia@new.example"}]})
    assert search() == [created["id"]]  # the old e-mail is still indexed
    pipe.advance(3.1)
    assert search() == []
    partial = pipe.call("GET", SEARCH, term="nordicfreight", fields="email").json()
    assert {i["item"]["id"] for i in partial["data"]["items"]} == {101, 102, 103, 104}
    assert pipe.call("GET", SEARCH, term="a").status_code == 400
