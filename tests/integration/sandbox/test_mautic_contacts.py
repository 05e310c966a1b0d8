"""Mautic emulator: the contacts list grammar, per-contact JSON, single CRUD and the edit quirks."""

from __future__ import annotations

from typing import Any

from mautic_support import EMPTY_LIST, NOT_FOUND, running


def _ids(body: dict[str, Any]) -> list[int]:
    return [int(k) for k in body["contacts"]]


def test_list_shape_total_string_and_id_keyed_object() -> None:
    with running() as box:
        body = box.get("/api/contacts", params={"orderBy": "id", "limit": 2}).json()
        assert body["total"] == "5"
        assert _ids(body) == [1, 2]
        contact = body["contacts"]["1"]
        assert contact["id"] == 1
        assert isinstance(contact["points"], int)
        assert contact["dateModified"] is not None  # point actions changed it
        assert body["contacts"]["2"]["dateModified"] is None  # only group points: untouched
        for key in (
            "isPublished",
            "dateAdded",
            "createdBy",
            "owner",
            "lastActive",
            "tags",
            "stage",
            "doNotContact",
            "ipAddresses",
            "dateIdentified",
            "color",
            "utmtags",
        ):
            assert key in contact
        assert "groupScores" not in contact
        fields = contact["fields"]
        assert set(fields) == {"core", "social", "personal", "professional", "all"}
        assert fields["personal"] == []
        assert fields["core"]["email"]["value"] == "kari.nordmann@example.com"
        assert fields["core"]["firstname"]["id"] == "2"
        assert fields["all"]["id"] == "1"
        assert fields["all"]["points"] == contact["points"]
        assert fields["professional"]["company_size"]["value"] == 250
        assert contact["owner"] == {
            "id": 2,
            "username": "anna.berg",
            "firstName": "Anna",
            "lastName": "Berg",
        }
        assert contact["stage"]["name"] == "Lead"


def test_empty_result_is_the_exact_documented_body() -> None:
    with running() as box:
        params = {"where[0][col]": "id", "where[0][expr]": "gt", "where[0][val]": "999"}
        assert box.get("/api/contacts", params=params).json() == EMPTY_LIST


def test_default_limit_is_30_and_limit_zero_means_all() -> None:
    with running() as box:
        for n in range(40):
            box.post("/api/contacts/new", json={"email": f"bulk{n}@example.org"})
        assert len(box.get("/api/contacts").json()["contacts"]) == 30
        everything = box.get("/api/contacts", params={"limit": 0}).json()
        assert len(everything["contacts"]) == 45
        assert everything["total"] == "45"
        page = box.get("/api/contacts", params={"orderBy": "id", "start": 40, "limit": 10}).json()
        assert _ids(page) == [41, 42, 43, 44, 45]


def test_incremental_orx_recipe_pages_new_and_changed_contacts() -> None:
    with running() as box:
        since = "2026-11-20 12:00:00"  # the emulator clock's now
        box.post("/api/contacts/new", json={"email": "fresh@example.org"})
        box.patch("/api/contacts/4/edit", json={"city": "Debrecen"})
        where = {
            "where[0][expr]": "orX",
            "where[0][val][0][col]": "date_modified",
            "where[0][val][0][expr]": "gte",
            "where[0][val][0][val]": since,
            "where[0][val][1][col]": "date_added",
            "where[0][val][1][expr]": "gte",
            "where[0][val][1][val]": since,
            "orderBy": "id",
            "orderByDir": "ASC",
        }
        assert _ids(box.get("/api/contacts", params=where).json()) == [4, 6]


def test_where_grammar_expressions() -> None:
    with running() as box:

        def ids(**params: str) -> list[int]:
            answer = box.get("/api/contacts", params={"orderBy": "id", **params})
            assert answer.status_code == 200, answer.text
            return _ids(answer.json())

        clause = "where[0]"
        assert ids(**{f"{clause}[col]": "email", f"{clause}[expr]": "eq",
                      f"{clause}[val]": "EVA.SZABO@example.com"}) == [3]  # fmt: skip
        assert ids(**{f"{clause}[col]": "id", f"{clause}[expr]": "in",
                      f"{clause}[val]": "2,4"}) == [2, 4]  # fmt: skip
        assert ids(**{f"{clause}[col]": "lastname", f"{clause}[expr]": "like",
                      f"{clause}[val]": "%a%"}) == [1, 2, 3, 4, 5]  # fmt: skip
        assert ids(**{f"{clause}[col]": "points", f"{clause}[expr]": "gte",
                      f"{clause}[val]": "30"}) == [1]  # fmt: skip
        assert ids(**{f"{clause}[col]": "dateModified", f"{clause}[expr]": "isNull"}) == [2, 4, 5]
        assert ids(**{f"{clause}[col]": "id", f"{clause}[expr]": "between",
                      f"{clause}[val][0]": "2", f"{clause}[val][1]": "3"}) == [2, 3]  # fmt: skip
        assert ids(**{f"{clause}[expr]": "andX",
                      f"{clause}[val][0][col]": "country", f"{clause}[val][0][expr]": "eq",
                      f"{clause}[val][0][val]": "Norway",
                      f"{clause}[val][1][col]": "id", f"{clause}[val][1][expr]": "neq",
                      f"{clause}[val][1][val]": "1"}) == [2, 5]  # fmt: skip


def test_bad_columns_and_clauses_are_500s() -> None:
    with running() as box:
        camel_inside = {
            "where[0][expr]": "orX",
            "where[0][val][0][col]": "dateModified",
            "where[0][val][0][expr]": "isNull",
        }
        assert box.get("/api/contacts", params=camel_inside).status_code == 500
        assert box.get("/api/contacts", params={"orderBy": "dateAdded"}).status_code == 500
        no_expr = {"where[0][col]": "id", "where[0][val]": "1"}
        answer = box.get("/api/contacts", params=no_expr)
        assert answer.status_code == 500
        assert answer.json()["errors"][0]["message"].startswith("Looks like I encountered")


def test_order_and_search_commands() -> None:
    with running() as box:

        def ids(**params: str) -> list[int]:
            return _ids(box.get("/api/contacts", params=params).json())

        ordered = ids(**{"order[0][col]": "points", "order[0][dir]": "DESC",
                         "order[1][col]": "id", "order[1][dir]": "ASC"})  # fmt: skip
        assert ordered[0] == 1
        assert ids(orderBy="email", orderByDir="DESC") == [4, 2, 5, 1, 3]
        assert sorted(ids(search="ids:2,3")) == [2, 3]
        assert ids(search="email:eva.szabo@example.com") == [3]
        assert sorted(ids(search="segment:newsletter")) == [2]
        assert sorted(ids(search="stage:lead")) == [1, 2, 3, 4, 5]
        assert ids(search="stage:mql") == []
        assert sorted(ids(search="!ids:1,2,3")) == [4, 5]
        assert ids(search="Nagy") == [4]
        box.patch("/api/contacts/5/edit", json={"tags": ["hot lead"]})
        assert ids(search='tag:"hot lead"') == [5]


def test_minimal_and_select() -> None:
    with running() as box:
        minimal = box.get("/api/contacts", params={"minimal": 1, "search": "ids:1"}).json()
        contact = minimal["contacts"]["1"]
        assert {"id", "points", "color", "fields"} <= set(contact)
        assert "tags" not in contact
        assert "owner" not in contact
        assert "lastActive" not in contact
        chosen = box.get(
            "/api/contacts", params={"select[]": ["email", "mobile"], "search": "ids:1"}
        ).json()["contacts"]["1"]
        assert chosen["fields"]["all"] == {"id": "1", "email": "kari.nordmann@example.com"}
        assert "color" not in chosen  # nulls are omitted with select


def test_single_get_and_not_found() -> None:
    with running() as box:
        assert box.get("/api/contacts/3").json()["contact"]["fields"]["all"]["firstname"] == "Eva"
        missing = box.get("/api/contacts/999")
        assert missing.status_code == 404
        assert missing.json() == NOT_FOUND


def test_new_creates_201_and_dedupes_on_email_with_200() -> None:
    with running() as box:
        created = box.post("/api/contacts/new", json={"email": "x@example.org", "firstname": "X"})
        assert created.status_code == 201
        assert created.headers["Location"].endswith("/api/contacts/6")
        contact = created.json()["contact"]
        assert contact["dateModified"] is None
        again = box.post("/api/contacts/new", json={"email": "X@example.org", "lastname": "Y"})
        assert again.status_code == 200
        merged = again.json()["contact"]
        assert merged["id"] == 6
        assert merged["fields"]["all"]["firstname"] == "X"
        assert merged["fields"]["all"]["lastname"] == "Y"
        form = box.post("/api/contacts/new", data={"email": "form@example.org"})
        assert form.status_code == 201


def test_patch_drops_zero_numbers_and_put_clears_unsent_fields() -> None:
    with running() as box:
        box.post("/api/fields/contact/new", json={"label": "External Score", "alias": "ext_score",
                                                  "type": "number"})  # fmt: skip
        box.patch("/api/contacts/1/edit", json={"ext_score": 42})
        for zero in (0, "0", 0.5, -0.4):
            body = box.patch("/api/contacts/1/edit", json={"ext_score": zero}).json()
            assert body["contact"]["fields"]["all"]["ext_score"] == 42
        points_zero = box.patch("/api/contacts/1/edit", json={"points": 0}).json()["contact"]
        assert points_zero["points"] != 0
        put = box.put("/api/contacts/1/edit", json={"email": "kari.nordmann@example.com",
                                                    "ext_score": 0})  # fmt: skip
        assert put.status_code == 200
        fields = put.json()["contact"]["fields"]["all"]
        assert fields["ext_score"] == 0
        assert fields["firstname"] is None
        assert fields["city"] is None
        created = box.put("/api/contacts/777/edit", json={"email": "put@example.org"})
        assert created.status_code == 201
        assert box.patch("/api/contacts/778/edit", json={"city": "x"}).status_code == 404


def test_points_edit_sets_absolute_value_without_log_row() -> None:
    with running() as box:
        before = box.stats("lead_points_change_log")["total"]
        body = box.patch("/api/contacts/2/edit", json={"points": 17}).json()["contact"]
        assert body["points"] == 17
        assert box.stats("lead_points_change_log")["total"] == before


def test_tags_owner_stage_and_date_modified_bumps() -> None:
    with running() as box:
        box.control("POST", "faults", json={"clock_offset_seconds": 60})
        tagged = box.patch("/api/contacts/2/edit", json={"tags": ["hot", "b2b"]}).json()["contact"]
        assert [t["tag"] for t in tagged["tags"]] == ["hot", "b2b"]
        assert tagged["dateModified"] == "2026-11-20T12:01:00+00:00"
        untagged = box.patch("/api/contacts/2/edit", json={"tags": "-hot,warm"}).json()["contact"]
        assert [t["tag"] for t in untagged["tags"]] == ["b2b", "warm"]
        owned = box.patch("/api/contacts/3/edit", json={"owner": 3}).json()["contact"]
        assert owned["owner"]["id"] == 3
        cleared = box.patch("/api/contacts/3/edit", json={"owner": None}).json()["contact"]
        assert cleared["owner"] is None
        staged = box.patch("/api/contacts/4/edit", json={"stage": 3}).json()["contact"]
        assert staged["stage"]["name"] == "SQL"
        assert staged["dateModified"] == "2026-11-20T12:01:00+00:00"
        log = box.stats("lead_stages_change_log", **{"order[0][col]": "id",
                                                     "order[0][dir]": "DESC"})  # fmt: skip
        assert log["stats"][0]["action_name"] == "Stage changed"
        active = box.patch("/api/contacts/5/edit", json={"lastActive": "2026-11-20 12:00:30"})
        assert active.json()["contact"]["dateModified"] is None  # last_active alone: no bump
        unchanged = box.patch("/api/contacts/5/edit", json={"city": "Oslo"}).json()["contact"]
        assert unchanged["dateModified"] is None  # same value: no change, no bump


def test_unique_email_conflict_and_validation() -> None:
    """The invalid-e-mail text is ``mautic.email.address.invalid_format`` ("%email% is invalid.",
    ``EmailBundle/Translations/en_US/messages.ini``) raised by ``EmailBundle/Helper/
    EmailValidator.php`` through ``LeadBundle/Form/Validator/Constraints/EmailAddress``."""
    with running() as box:
        clash = box.patch("/api/contacts/2/edit", json={"email": "kari.nordmann@example.com"})
        assert clash.status_code == 422
        bad = box.patch("/api/contacts/2/edit", json={"email": "not-an-email"})
        assert bad.status_code == 400
        assert bad.json()["errors"][0]["details"] == {"email": ["not-an-email is invalid."]}


def test_delete_serializes_after_removal() -> None:
    with running() as box:
        gone = box.delete("/api/contacts/5/delete")
        assert gone.status_code == 200
        assert gone.json()["contact"]["id"] is None
        assert box.get("/api/contacts/5").status_code == 404
        assert box.stats("email_stats", **{"where[0][col]": "lead_id", "where[0][expr]": "eq",
                                           "where[0][val]": "5"})["total"] == "0"  # fmt: skip


def test_dnc_endpoints_and_contact_json() -> None:
    with running() as box:
        added = box.post("/api/contacts/2/dnc/email/add", json={"reason": 3, "comments": "asked"})
        assert added.status_code == 200
        dnc = added.json()["contact"]["doNotContact"]
        assert [(d["reason"], d["channel"], d["comments"]) for d in dnc] == [(3, "email", "asked")]
        assert box.post("/api/contacts/2/dnc/email/add", json={"reason": 0}).status_code == 400
        removed = box.post("/api/contacts/2/dnc/email/remove").json()
        assert removed["recordFound"] is True
        assert removed["contact"]["doNotContact"] == []
        assert removed["contact"]["dateModified"] is None  # DNC changes do not bump
        bounced = box.get("/api/contacts/5").json()["contact"]["doNotContact"][0]
        assert (bounced["reason"], bounced["channel"]) == (2, "email")
