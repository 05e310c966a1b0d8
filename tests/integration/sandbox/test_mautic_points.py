"""Mautic emulator: main-points adjust, point groups and per-contact group scores, actions and
triggers."""

from __future__ import annotations

from typing import Any

from mautic_support import running


def _last_log(box: Any) -> dict[str, Any]:
    rows = box.stats("lead_points_change_log", **{"order[0][col]": "id", "order[0][dir]": "DESC",
                                                  "limit": 1})["stats"]  # fmt: skip
    return dict(rows[0])


def test_plus_minus_times_divide_and_their_log_rows() -> None:
    with running() as box:
        start = box.get("/api/contacts/4").json()["contact"]["points"]
        answer = box.post("/api/contacts/4/points/plus/10", json={"eventName": "Score sync"})
        assert answer.status_code == 200
        assert answer.json() == {"success": 1}
        row = _last_log(box)
        assert (row["type"], row["event_name"], row["action_name"], row["delta"]) == (
            "API", "Score sync", "API", "10"
        )  # fmt: skip
        box.post("/api/contacts/4/points/minus/4")
        row = _last_log(box)
        assert (row["delta"], row["event_name"]) == ("4", "subtract (-)")  # unsigned
        box.post("/api/contacts/4/points/times/3")
        box.post("/api/contacts/4/points/divide/2")
        box.post("/api/contacts/4/points/plus/-1")
        assert _last_log(box)["delta"] == "-1"
        contact = box.get("/api/contacts/4").json()["contact"]
        assert contact["points"] == int((start + 10 - 4) * 3 / 2) - 1
        assert contact["dateModified"] == "2026-11-20T12:00:00+00:00"


def test_points_operator_errors() -> None:
    with running() as box:
        bad = box.post("/api/contacts/4/points/set/5")
        assert bad.status_code == 400
        assert bad.json()["errors"][0]["message"] == "Invalid operator"
        missing = box.post("/api/contacts/999/points/plus/5")
        assert missing.status_code == 404
        assert missing.json()["errors"][0]["message"] == "Contact not found."
        text = box.post("/api/contacts/4/points/plus/abc")
        assert text.status_code == 200


def test_group_scores_operate_log_signed_and_do_not_bump_date_modified() -> None:
    with running() as box:
        assert box.get("/api/contacts/4/points/groups").json() == {"total": 0, "groupScores": []}
        assert box.get("/api/contacts/4/points/groups/1").json() == {"groupScore": None}
        deltas = []
        for operation in ("plus/10", "minus/2", "divide/2", "times/4", "set/21"):
            answer = box.post(f"/api/contacts/4/points/groups/1/{operation}")
            assert answer.status_code == 200
            deltas.append(_last_log(box)["delta"])
        assert deltas == ["10", "-2", "-4", "12", "5"]
        row = _last_log(box)
        assert (row["group_id"], row["event_name"], row["action_name"]) == (
            "1", "Manual change", "API"
        )  # fmt: skip
        single = box.get("/api/contacts/4/points/groups/1").json()
        assert single == {
            "groupScore": {
                "score": 21,
                "group": {"id": 1, "name": "Product A", "description": "Interest in Product A"},
            }
        }
        contact = box.get("/api/contacts/4").json()["contact"]
        assert contact["dateModified"] is None
        assert "groupScores" not in contact
        assert box.truth(4)["group_scores"] == {"Product A": 21}


def test_group_score_errors() -> None:
    with running() as box:
        missing_group = box.post("/api/contacts/4/points/groups/99/plus/1")
        assert missing_group.status_code == 404
        assert missing_group.json()["errors"][0]["message"] == (
            "The specified point group was not found."
        )
        missing_contact = box.post("/api/contacts/999/points/groups/1/plus/1")
        assert missing_contact.json()["errors"][0]["message"] == "Contact could not be found."
        bad = box.post("/api/contacts/4/points/groups/1/pow/2")
        assert bad.status_code == 400
        assert bad.json()["errors"][0]["message"] == "The requested operation is not permitted."
        box.post("/api/contacts/4/points/groups/1/set/5")
        assert box.post("/api/contacts/4/points/groups/1/divide/2").status_code == 500


def test_point_groups_crud_and_batch() -> None:
    with running() as box:
        listed = box.get("/api/points/groups").json()
        assert listed["total"] == 2
        assert [g["name"] for g in listed["pointGroups"]] == ["Product A", "Product B"]
        created = box.post("/api/points/groups/new", json={"name": "Product C"})
        assert created.status_code == 201
        group = created.json()["pointGroup"]
        assert group["id"] == 3
        assert group["dateModified"] is None
        assert box.post("/api/points/groups/new", json={}).status_code == 400
        edited = box.patch("/api/points/groups/3/edit", json={"description": "C buyers"}).json()
        assert edited["pointGroup"]["description"] == "C buyers"
        assert box.get("/api/points/groups/3").json()["pointGroup"]["name"] == "Product C"
        batch = box.post("/api/points/groups/batch/new", json=[{"name": "D"}, {"name": "E"}])
        assert batch.status_code == 201
        assert batch.json()["statusCodes"] == [201, 201]
        box.post("/api/contacts/4/points/groups/3/set/7")
        deleted = box.delete("/api/points/groups/3/delete")
        assert deleted.status_code == 200
        assert box.get("/api/points/groups/3").status_code == 404
        assert box.get("/api/contacts/4/points/groups").json()["total"] == 0


def test_configured_point_actions_and_triggers_are_listed() -> None:
    with running() as box:
        actions = box.get("/api/points").json()
        assert actions["total"] == len(actions["points"]) >= 10
        kinds = {a["type"] for a in actions["points"]}
        assert {"url.hit", "form.submit", "asset.download", "email.open"} <= kinds
        first = box.get("/api/points/1").json()["point"]
        assert "group" not in first
        assert first["delta"] == 5
        types = box.get("/api/points/actions/types").json()["pointActionTypes"]
        assert types["url.hit"] == "Visits specific URL"
        triggers = box.get("/api/points/triggers").json()
        assert triggers["triggers"][0]["events"]["1"]["type"] == "lead.changetags"
        assert (
            "lead.changetags" in box.get("/api/points/triggers/events/types").json()["eventTypes"]
        )


def test_point_actions_write_group_rows_from_the_world() -> None:
    with running() as box:
        rows = box.stats("lead_points_change_log", **{"where[0][col]": "lead_id",
                                                      "where[0][expr]": "eq",
                                                      "where[0][val]": "1"})["stats"]  # fmt: skip
        names = [(r["type"], r["action_name"], r["event_name"], r["group_id"]) for r in rows]
        assert names == [
            ("url", "hit", "1: Visits pricing page", None),
            ("url", "hit", "2: Visits Product A page", "1"),
            ("form", "submit", "5: Requests a demo", None),
        ]
        contact = box.get("/api/contacts/1").json()["contact"]
        assert contact["points"] == 35
        assert box.truth(1)["group_scores"] == {"Product A": 3}
