"""Stats, point groups and scores, stages, segments, notes, fields, users, owners."""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import responses

from scorebridge.errors import AuthError, TerminalError, TransientError
from scorebridge.mautic import MauticClient

BASE = "https://mautic.example.test/api"


def _query(index: int = 0) -> dict[str, str]:
    return dict(parse_qsl(urlsplit(responses.calls[index].request.url).query))


def _body(index: int = 0) -> Any:
    return json.loads(responses.calls[index].request.body)


@responses.activate
def test_stats_page_keyset_query_and_string_rows(make_mautic: Callable[..., MauticClient]) -> None:
    responses.get(
        f"{BASE}/stats/lead_points_change_log",
        json={
            "total": "2",
            "stats": [
                {
                    "id": "11",
                    "lead_id": "45",
                    "delta": "5",
                    "date_added": "2026-11-20 12:00:00",
                    "group_id": None,
                },
                {
                    "id": "12",
                    "lead_id": 46,
                    "delta": -3,
                    "date_added": "2026-11-20 12:00:01",
                    "group_id": "2",
                },
            ],
        },
    )
    page = make_mautic().stats(
        "lead_points_change_log",
        where=[{"col": "id", "expr": "gt", "val": 10}],
        order=[{"col": "id", "dir": "asc"}],
        limit=500,
    )
    assert page.total == 2
    assert page.rows[0]["group_id"] is None
    assert page.rows[1] == {
        "id": "12",
        "lead_id": "46",
        "delta": "-3",
        "date_added": "2026-11-20 12:00:01",
        "group_id": "2",
    }
    assert _query() == {
        "start": "0",
        "limit": "500",
        "where[0][col]": "id",
        "where[0][expr]": "gt",
        "where[0][val]": "10",
        "order[0][col]": "id",
        "order[0][dir]": "ASC",
    }


@responses.activate
def test_stats_permission_error_answered_with_200_is_an_auth_error(
    make_mautic: Callable[..., MauticClient],
) -> None:
    responses.get(
        f"{BASE}/stats/lead_points_change_log",
        status=200,
        json={
            "errors": [
                {
                    "message": "You do not have the view permission to load data from the "
                    "lead table",
                    "code": 403,
                }
            ]
        },
    )
    with pytest.raises(AuthError, match="view permission") as info:
        make_mautic().stats("lead_points_change_log")
    assert info.value.status == 403


@responses.activate
def test_point_groups_and_group_scores(
    make_mautic: Callable[..., MauticClient], sample: Callable[[str], Any]
) -> None:
    responses.get(
        f"{BASE}/points/groups",
        json={
            "total": 2,
            "pointGroups": [
                {"id": 1, "name": "product_a", "description": ""},
                {"id": 2, "name": "product_b"},
            ],
        },
    )
    responses.get(f"{BASE}/contacts/9/points/groups", json=sample("contact_point_groups_list.json"))
    client = make_mautic()
    assert [g.name for g in client.list_point_groups()] == ["product_a", "product_b"]
    [score] = client.get_contact_group_scores(9)
    assert (score.group.id, score.group.name, score.score) == (6, "A", 21)


@responses.activate
def test_empty_group_scores(make_mautic: Callable[..., MauticClient]) -> None:
    responses.get(f"{BASE}/contacts/9/points/groups", json={"total": 0, "groupScores": []})
    assert make_mautic().get_contact_group_scores(9) == []


@responses.activate
def test_set_group_score_path_body_and_retry(
    make_mautic: Callable[..., MauticClient], sample: Callable[[str], Any]
) -> None:
    url = f"{BASE}/contacts/9/points/groups/6/set/21"
    responses.post(url, status=503)
    responses.post(url, json=sample("contact_point_group_adjust_response.json"))
    client = make_mautic()
    result = client.set_group_score(9, 6, 21, event_name="scorebridge", action_name="rule set 7")
    assert result.score == 21
    assert _body(1) == {"eventName": "scorebridge", "actionName": "rule set 7"}
    assert len(responses.calls) == 2  # absolute set: safe to repeat
    assert client.http.counter.snapshot() == {
        "POST /api/contacts/{id}/points/groups/{gid}/set/{value}": 2
    }


@responses.activate
def test_create_point_group_is_not_resent(make_mautic: Callable[..., MauticClient]) -> None:
    responses.post(f"{BASE}/points/groups/new", status=502)
    with pytest.raises(TransientError):
        make_mautic().create_point_group("product_a")
    assert len(responses.calls) == 1


@responses.activate
def test_create_point_group(make_mautic: Callable[..., MauticClient]) -> None:
    responses.post(
        f"{BASE}/points/groups/new",
        status=201,
        json={"pointGroup": {"id": 3, "name": "product_a", "description": "x"}},
    )
    group = make_mautic().create_point_group("product_a", "x")
    assert (group.id, group.name) == (3, "product_a")
    assert _body() == {"name": "product_a", "description": "x"}


@responses.activate
def test_unknown_group_is_terminal(make_mautic: Callable[..., MauticClient]) -> None:
    responses.post(
        f"{BASE}/contacts/9/points/groups/99/set/5",
        status=404,
        json={
            "errors": [
                {
                    "code": 404,
                    "message": "The specified point group was not found.",
                    "details": [],
                    "type": None,
                }
            ]
        },
    )
    with pytest.raises(TerminalError, match="point group was not found"):
        make_mautic().set_group_score(9, 99, 5)


@responses.activate
def test_point_actions_and_triggers(make_mautic: Callable[..., MauticClient]) -> None:
    responses.get(
        f"{BASE}/points",
        json={
            "total": 1,
            "points": [
                {
                    "id": 1,
                    "name": "Pricing",
                    "type": "page.hit",
                    "delta": 10,
                    "repeatable": False,
                    "isPublished": True,
                }
            ],
        },
    )
    responses.get(
        f"{BASE}/points/triggers",
        json={
            "total": 1,
            "triggers": [
                {
                    "id": 2,
                    "name": "Hot",
                    "points": 75,
                    "color": "ff0000",
                    "events": [{"id": 1, "type": "lead.changetags"}],
                }
            ],
        },
    )
    client = make_mautic()
    [action] = client.list_point_actions()
    assert (action.type, action.delta) == ("page.hit", 10)
    [trigger] = client.list_point_triggers()
    assert (trigger.points, trigger.event_types) == (75, ("lead.changetags",))


@responses.activate
def test_small_lists_page_until_total(make_mautic: Callable[..., MauticClient]) -> None:
    first = {str(i): {"id": i, "name": f"s{i}", "alias": f"s{i}"} for i in range(1, 201)}
    responses.get(f"{BASE}/segments", json={"total": 201, "lists": first})
    responses.get(
        f"{BASE}/segments",
        json={"total": 201, "lists": {"201": {"id": 201, "name": "s201", "alias": "s201"}}},
    )
    segments = make_mautic().list_segments()
    assert len(segments) == 201
    assert _query(1)["start"] == "200"


@responses.activate
def test_empty_segments_list_is_a_json_list(make_mautic: Callable[..., MauticClient]) -> None:
    responses.get(f"{BASE}/segments", json={"total": 0, "lists": []})
    assert make_mautic().list_segments() == []


@responses.activate
def test_stage_and_segment_membership(make_mautic: Callable[..., MauticClient]) -> None:
    responses.post(f"{BASE}/stages/2/contact/9/add", json={"success": 1})
    responses.post(f"{BASE}/segments/4/contact/9/remove", json={"success": 1})
    responses.post(
        f"{BASE}/segments/4/contacts/add",
        json={"success": 1, "details": {"1": {"success": True}, "39": {"success": False}}},
    )
    client = make_mautic()
    client.add_contact_to_stage(2, 9)
    client.remove_contact_from_segment(4, 9)
    assert client.add_contacts_to_segment(4, [1, 39]) == {1: True, 39: False}
    assert _body(2) == {"ids": [1, 39]}


@responses.activate
def test_batch_segment_remove_reports_missing_contacts(
    make_mautic: Callable[..., MauticClient],
) -> None:
    responses.post(f"{BASE}/segments/4/contact/1/remove", json={"success": 1})
    responses.post(
        f"{BASE}/segments/4/contact/2/remove",
        status=404,
        json={
            "errors": [{"code": 404, "message": "Contact not found.", "details": [], "type": None}]
        },
    )
    assert make_mautic().remove_contacts_from_segment(4, [1, 2]) == {1: True, 2: False}


@responses.activate
def test_stages_list(make_mautic: Callable[..., MauticClient]) -> None:
    responses.get(
        f"{BASE}/stages",
        json={
            "total": 2,
            "stages": [
                {"id": 1, "name": "MQL", "weight": 10},
                {"id": 2, "name": "SQL", "weight": 20},
            ],
        },
    )
    assert [(s.name, s.weight) for s in make_mautic().list_stages()] == [("MQL", 10), ("SQL", 20)]


@responses.activate
def test_notes_create_and_list(make_mautic: Callable[..., MauticClient]) -> None:
    responses.post(
        f"{BASE}/notes/new",
        status=201,
        json={
            "note": {
                "id": 5,
                "text": "Warm lead",
                "type": "call",
                "dateTime": "2026-11-22T12:00:00+00:00",
                "lead": {"id": 9, "points": 0, "color": None, "fields": {}},
            }
        },
    )
    responses.get(
        f"{BASE}/contacts/9/notes",
        json={
            "total": 1,
            "notes": [
                {
                    "id": 5,
                    "text": "Warm lead",
                    "type": "call",
                    "dateTime": "2026-11-22T12:00:00+00:00",
                }
            ],
        },
    )
    client = make_mautic()
    note = client.create_note(9, "Warm lead", note_type="call")
    assert (note.id, note.contact_id, note.type) == (5, 9, "call")
    assert _body() == {"lead": 9, "text": "Warm lead", "type": "call"}
    [listed] = client.list_contact_notes(9)
    assert listed.contact_id == 9


@responses.activate
def test_fields_list_and_create_number_and_select(make_mautic: Callable[..., MauticClient]) -> None:
    responses.get(
        f"{BASE}/fields/contact",
        json={
            "total": 1,
            "fields": {
                "1": {
                    "id": 1,
                    "label": "Title",
                    "alias": "title",
                    "type": "lookup",
                    "group": "core",
                    "properties": [],
                }
            },
        },
    )
    responses.post(
        f"{BASE}/fields/contact/new",
        status=202,
        json={
            "field": {
                "id": 40,
                "label": "Bridge score",
                "alias": "bridge_score",
                "type": "number",
                "properties": {"scale": 0, "roundmode": 4},
            }
        },
    )
    responses.post(
        f"{BASE}/fields/contact/new",
        status=201,
        json={
            "field": {
                "id": 41,
                "label": "Band",
                "alias": "bridge_band",
                "type": "select",
                "properties": {},
            }
        },
    )
    client = make_mautic()
    [title] = client.list_contact_fields()
    assert (title.alias, title.properties) == ("title", {})
    score = client.create_contact_field("Bridge score", "bridge_score")
    assert score.id == 40
    assert _body(1)["properties"] == {"scale": 0, "roundmode": 4}
    band = client.create_contact_field(
        "Band", "bridge_band", "select", options=[("Hot", "hot"), ("Cold", "cold")]
    )
    assert band.type == "select"
    assert _body(2)["properties"]["list"] == [
        {"label": "Hot", "value": "hot"},
        {"label": "Cold", "value": "cold"},
    ]


@responses.activate
def test_owners_list(
    make_mautic: Callable[..., MauticClient], sample: Callable[[str], Any]
) -> None:
    responses.get(f"{BASE}/contacts/list/owners", json=sample("contact_owners_list.json"))
    owners = make_mautic().list_owners()
    assert [(o.id, o.first_name) for o in owners] == [(1, "Joe"), (2, "Jane")]
