"""Mautic emulator: contact batch endpoints, the 200-item limit and per-index results."""

from __future__ import annotations

from mautic_support import running


def test_batch_new_is_201_with_per_index_status_codes() -> None:
    with running() as box:
        answer = box.post(
            "/api/contacts/batch/new",
            json=[{"email": "a@example.org"}, {"email": "kari.nordmann@example.com"}],
        )
        assert answer.status_code == 201
        body = answer.json()
        assert body["statusCodes"] == [201, 200]
        assert isinstance(body["contacts"], list)
        assert body["contacts"][1]["id"] == 1
        assert "errors" not in body


def test_batch_edit_reports_failed_items_by_index() -> None:
    with running() as box:
        answer = box.patch(
            "/api/contacts/batch/edit",
            json=[
                {"id": 1, "city": "Bergen"},
                {"city": "no id"},
                {"id": 999, "city": "x"},
                {"id": 2, "tags": ["hot"]},
            ],  # fmt: skip
        )
        assert answer.status_code == 200
        body = answer.json()
        assert body["statusCodes"] == [200, 400, 404, 200]
        assert set(body["contacts"]) == {"0", "3"}  # gaps turn the list into an object
        assert body["errors"]["1"] == {
            "message": "mautic.api.call.id_missing",
            "code": 400,
            "type": "api",
        }
        assert body["errors"]["2"]["code"] == 404
        assert box.get("/api/contacts/1").json()["contact"]["fields"]["all"]["city"] == "Bergen"


def test_batch_put_creates_missing_ids() -> None:
    with running() as box:
        body = box.put("/api/contacts/batch/edit", json=[{"id": 500, "email": "p@example.org"}])
        assert body.json()["statusCodes"] == [201]


def test_more_than_200_items_is_a_500() -> None:
    with running() as box:
        items = [{"email": f"n{i}@example.org"} for i in range(201)]
        answer = box.post("/api/contacts/batch/new", json=items)
        assert answer.status_code == 500
        assert answer.json() == {
            "errors": [
                {
                    "code": 500,
                    "message": "A max of 200 entities are supported at a time.",
                    "details": [],
                    "type": None,
                }
            ]
        }
        assert box.post("/api/contacts/batch/new", json=items[:200]).status_code == 201


def test_batch_delete_with_csv_ids() -> None:
    with running() as box:
        answer = box.delete("/api/contacts/batch/delete", params={"ids": "4,5,999"})
        body = answer.json()
        assert answer.status_code == 200
        assert [c["id"] for c in body["contacts"]] == [4, 5]
        assert body["errors"]["2"]["code"] == 404
        assert box.truth()["contacts"] == 3


def test_batch_item_failure_fault_fails_a_share_of_items() -> None:
    with running() as box:
        box.control("POST", "faults", json={"batch_item_failure_ratio": 0.5, "seed": 3})
        items = [{"id": i, "city": f"C{i}"} for i in range(1, 6)]
        body = box.patch("/api/contacts/batch/edit", json=items).json()
        failed = [i for i, code in enumerate(body["statusCodes"]) if code == 500]
        assert 0 < len(failed) < 5
        assert set(body["errors"]) == {str(i) for i in failed}
        for index in failed:
            contact = box.get(f"/api/contacts/{index + 1}").json()["contact"]
            assert contact["fields"]["all"]["city"] != f"C{index + 1}"
