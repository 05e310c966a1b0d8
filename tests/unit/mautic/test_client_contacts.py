"""Contacts: list parsing of documented samples, quirks, where syntax, batch edit results."""

from __future__ import annotations

import json
from collections.abc import Callable
from datetime import UTC, datetime
from typing import Any
from urllib.parse import parse_qsl, urlsplit

import pytest
import responses

from scorebridge.errors import ContractError, TerminalError
from scorebridge.mautic import MauticClient
from scorebridge.mautic.schemas import parse_contact, parse_tags

BASE = "https://mautic.example.test"
CONTACTS = f"{BASE}/api/contacts"


def _contact(cid: Any, **extra: Any) -> dict[str, Any]:
    body = {
        "id": cid,
        "points": 5,
        "dateAdded": "2026-11-01T08:00:00+00:00",
        "dateModified": None,
        "owner": None,
        "stage": None,
        "tags": [],
        "doNotContact": [],
        "fields": {"core": [], "all": {"id": str(cid), "email": f"c{cid}@x.test"}},
    }
    body.update(extra)
    return body


@responses.activate
def test_documented_list_sample_parses(
    make_mautic: Callable[..., MauticClient], sample: Callable[[str], Any]
) -> None:
    responses.get(CONTACTS, json=sample("contacts_list.json"))
    page = make_mautic().list_contacts(limit=30)
    assert page.total == 1
    [jim] = page.contacts
    assert jim.id == 47
    assert jim.points == 10
    assert jim.fields["firstname"] == "Jim"
    assert "id" not in jim.fields
    assert jim.tags == ("aTag", "bTag")
    assert jim.owner is not None
    assert jim.owner.id == 1
    assert jim.owner.username == "joesmith"
    # -05:00 in the docs sample becomes aware UTC
    assert jim.date_added == datetime(2015, 7, 21, 17, 27, 12, tzinfo=UTC)
    assert jim.date_modified == datetime(2015, 7, 21, 19, 12, 3, tzinfo=UTC)
    assert [(d.channel, d.reason) for d in jim.do_not_contact] == [("email", 2)]
    assert page.rejected == []


@responses.activate
def test_empty_list_sample(
    make_mautic: Callable[..., MauticClient], sample: Callable[[str], Any]
) -> None:
    responses.get(CONTACTS, json=sample("contacts_list_empty.json"))
    page = make_mautic().list_contacts()
    assert (page.total, page.contacts) == (0, [])


@responses.activate
def test_empty_contacts_as_a_json_list_is_accepted(
    make_mautic: Callable[..., MauticClient],
) -> None:
    responses.get(CONTACTS, json={"total": 0, "contacts": []})
    assert make_mautic().list_contacts().contacts == []


@responses.activate
def test_new_contact_with_null_date_modified_and_string_id(
    make_mautic: Callable[..., MauticClient],
) -> None:
    responses.get(
        CONTACTS,
        json={
            "total": "2",
            "contacts": {
                "7": _contact("7", dateAdded="2026-11-02 10:11:12"),
                "8": _contact(8, dateModified="2026-11-03T10:00:00Z", points="12"),
            },
        },
    )
    page = make_mautic().list_contacts()
    first, second = page.contacts
    assert first.id == 7
    assert first.date_modified is None
    assert first.date_added == datetime(2026, 11, 2, 10, 11, 12, tzinfo=UTC)
    assert first.changed_at == first.date_added
    assert second.points == 12
    assert second.changed_at == datetime(2026, 11, 3, 10, 0, tzinfo=UTC)
    assert second.email == "c8@x.test"


@responses.activate
def test_a_malformed_contact_is_rejected_and_the_page_goes_on(
    make_mautic: Callable[..., MauticClient],
) -> None:
    responses.get(
        CONTACTS,
        json={
            "total": "2",
            "contacts": {
                "1": _contact(1, dateAdded="not a date"),
                "2": _contact(2),
            },
        },
    )
    page = make_mautic().list_contacts()
    assert [c.id for c in page.contacts] == [2]
    [reject] = page.rejected
    assert reject.record_id == "1"
    assert reject.source == "mautic.contacts"


@responses.activate
def test_a_broken_page_is_a_contract_error(make_mautic: Callable[..., MauticClient]) -> None:
    responses.get(CONTACTS, json={"contacts": {}})
    with pytest.raises(ContractError, match="mautic"):
        make_mautic().list_contacts()


def test_tags_in_both_shapes() -> None:
    assert parse_tags([{"id": 1, "tag": "hot"}, {"tag": "b2b"}]) == ("b2b", "hot")
    assert parse_tags({"hot": {"id": 1, "tag": "hot", "description": None}, "b2b": {}}) == (
        "b2b",
        "hot",
    )
    assert parse_tags({}) == ()
    assert parse_tags([]) == ()


def test_owner_and_stage_objects() -> None:
    contact = parse_contact(
        _contact(
            3,
            owner={"id": 4, "username": "ann", "firstName": "Ann", "lastName": "Lee"},
            stage={"id": 2, "name": "MQL", "weight": 10, "category": None, "description": ""},
            lastActive="2026-11-20T09:00:00+00:00",
        )
    )
    assert contact.owner is not None
    assert (contact.owner.id, contact.owner.first_name) == (4, "Ann")
    assert contact.stage is not None
    assert (contact.stage.name, contact.stage.weight) == ("MQL", 10)
    assert contact.last_active == datetime(2026, 11, 20, 9, tzinfo=UTC)


@responses.activate
def test_incremental_where_uses_brackets_db_columns_and_utc_strings(
    make_mautic: Callable[..., MauticClient],
) -> None:
    responses.get(CONTACTS, json={"total": "0", "contacts": {}})
    since = datetime(2026, 11, 1, 13, 0, tzinfo=UTC)
    make_mautic().list_contacts(
        where=[
            {
                "expr": "orX",
                "val": [
                    {"col": "date_modified", "expr": "gte", "val": since},
                    {"col": "date_added", "expr": "gte", "val": since},
                ],
            },
            {"col": "id", "expr": "in", "val": [1, 2, 3]},
        ],
        order_by="id",
        start=200,
        limit=100,
    )
    query = dict(parse_qsl(urlsplit(responses.calls[0].request.url).query))
    assert query["where[0][expr]"] == "orX"
    assert query["where[0][val][0][col]"] == "date_modified"
    assert query["where[0][val][1][val]"] == "2026-11-01 13:00:00"
    assert query["where[1][val]"] == "1,2,3"
    assert (query["orderBy"], query["orderByDir"], query["start"], query["limit"]) == (
        "id",
        "ASC",
        "200",
        "100",
    )


def test_limit_zero_is_refused(make_mautic: Callable[..., MauticClient]) -> None:
    with pytest.raises(ValueError, match="limit"):
        make_mautic().list_contacts(limit=0)


@responses.activate
def test_get_contact_404_is_terminal(make_mautic: Callable[..., MauticClient]) -> None:
    responses.get(
        f"{CONTACTS}/99",
        status=404,
        json={
            "errors": [{"code": 404, "message": "Item was not found.", "details": [], "type": None}]
        },
    )
    with pytest.raises(TerminalError, match="Item was not found") as info:
        make_mautic().get_contact(99)
    assert info.value.status == 404
    assert info.value.system == "mautic"


@responses.activate
def test_batch_edit_per_item_results(make_mautic: Callable[..., MauticClient]) -> None:
    responses.patch(
        f"{CONTACTS}/batch/edit",
        json={
            "contacts": {"0": _contact(1), "2": _contact(3)},
            "statusCodes": {"0": 200, "1": 404, "2": 200},
            "errors": {"1": {"message": "Item was not found.", "code": 404, "type": "api"}},
        },
    )
    results = make_mautic().batch_edit_contacts(
        [{"id": 1, "score": 5}, {"id": 2, "score": 7}, {"id": 3, "score": 9}]
    )
    assert [(r.index, r.ok, r.status) for r in results] == [
        (0, True, 200),
        (1, False, 404),
        (2, True, 200),
    ]
    assert results[1].message == "api: Item was not found."
    assert results[1].retryable is False
    assert results[2].remote_id == "3"


@responses.activate
def test_batch_edit_splits_at_the_batch_limit_and_keeps_global_indexes(
    make_mautic: Callable[..., MauticClient],
) -> None:
    def echo(request: Any) -> tuple[int, dict[str, str], str]:
        items = json.loads(request.body)
        return (
            200,
            {},
            json.dumps(
                {
                    "contacts": [_contact(i["id"]) for i in items],
                    "statusCodes": [200] * len(items),
                }
            ),
        )

    responses.add_callback(responses.PATCH, f"{CONTACTS}/batch/edit", callback=echo)
    client = make_mautic(batch_limit=200)
    results = client.batch_edit_contacts([{"id": i, "score": 1} for i in range(1, 451)])
    assert len(responses.calls) == 3
    assert [r.index for r in results] == list(range(450))
    assert all(r.ok for r in results)
    assert results[449].remote_id == "450"
    assert client.http.counter.snapshot() == {"PATCH /api/contacts/batch/edit": 3}


@responses.activate
def test_batch_edit_is_retried_after_a_5xx_because_it_is_absolute(
    make_mautic: Callable[..., MauticClient],
) -> None:
    responses.patch(f"{CONTACTS}/batch/edit", status=502)
    responses.patch(
        f"{CONTACTS}/batch/edit", json={"contacts": [_contact(1)], "statusCodes": [200]}
    )
    [result] = make_mautic().batch_edit_contacts([{"id": 1, "score": 1}])
    assert result.ok
    assert len(responses.calls) == 2


@responses.activate
def test_tags_are_added_and_removed_through_a_patch(
    make_mautic: Callable[..., MauticClient],
) -> None:
    responses.patch(f"{CONTACTS}/5/edit", json={"contact": _contact(5, tags=[{"tag": "hot"}])})
    contact = make_mautic().set_tags(5, add=["hot"], remove=["cold"])
    assert contact.tags == ("hot",)
    assert json.loads(responses.calls[0].request.body) == {"tags": ["hot", "-cold"]}
