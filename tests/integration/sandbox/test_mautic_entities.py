"""Mautic emulator: stages, segments, tags, notes, contact fields, users and owners."""

from __future__ import annotations

from mautic_support import NOT_FOUND, running


def test_stages_list_and_add_remove_contact() -> None:
    with running() as box:
        stages = box.get("/api/stages").json()
        assert stages["total"] == 4
        assert [(s["name"], s["weight"]) for s in stages["stages"]] == [
            ("Lead", 10), ("MQL", 25), ("SQL", 75), ("Customer", 100)
        ]  # fmt: skip
        added = box.post("/api/stages/4/contact/2/add")
        assert added.json() == {"success": 1}
        contact = box.get("/api/contacts/2").json()["contact"]
        assert contact["stage"]["name"] == "Customer"
        assert contact["dateModified"] == "2026-11-20T12:00:00+00:00"
        box.post("/api/stages/1/contact/2/remove")  # clears whatever stage is set
        assert box.get("/api/contacts/2").json()["contact"]["stage"] is None
        actions = [r["action_name"] for r in box.stats("lead_stages_change_log")["stats"][-2:]]
        assert actions == ["Manually Added", "Manually Removed"]
        assert box.post("/api/stages/9/contact/2/add").json() == NOT_FOUND
        missing = box.post("/api/stages/1/contact/999/add")
        assert missing.json()["errors"][0]["message"] == "Contact not found."


def test_a_new_stage_is_a_standard_entity() -> None:
    with running() as box:
        created = box.post("/api/stages/new", json={"name": "Nurture", "weight": 15})
        assert created.status_code == 201
        stage = created.json()["stage"]
        assert (stage["id"], stage["name"], stage["weight"], stage["isPublished"]) == (
            5, "Nurture", 15, True
        )  # fmt: skip
        assert box.get("/api/stages").json()["total"] == 5
        assert box.post("/api/stages/5/contact/3/add").json() == {"success": 1}
        assert box.get("/api/contacts/3").json()["contact"]["stage"]["name"] == "Nurture"
        nameless = box.post("/api/stages/new", json={"weight": 1})
        assert nameless.status_code == 400
        assert nameless.json()["errors"][0]["message"] == "name: A name is required."


def test_segments_list_new_add_remove_and_batch_add() -> None:
    with running() as box:
        listed = box.get("/api/segments").json()
        assert listed["total"] == 2
        assert set(listed["lists"]) == {"1", "2"}
        created = box.post("/api/segments/new", json={"name": "Warm leads"})
        assert created.status_code == 201
        segment = created.json()["list"]
        assert (segment["id"], segment["alias"]) == (3, "warm-leads")
        assert box.post("/api/segments/3/contact/1/add").json() == {"success": 1}
        memberships = box.get("/api/contacts/1/segments").json()
        assert memberships["total"] == 1
        assert "3" in memberships["lists"]
        box.post("/api/segments/3/contact/1/remove")
        assert box.get("/api/contacts/1/segments").json() == {"total": 0, "lists": []}
        row = box.stats("lead_lists_leads", **{"where[0][col]": "leadlist_id",
                                               "where[0][expr]": "eq",
                                               "where[0][val]": "3"})["stats"][0]  # fmt: skip
        assert (row["manually_removed"], row["manually_added"]) == ("1", "0")
        batch = box.post("/api/segments/3/contacts/add", json={"ids": [1, 2, 999]}).json()
        assert batch == {
            "success": 1,
            "details": {"1": {"success": True}, "2": {"success": True}, "999": {"success": False}},
        }
        assert box.post("/api/segments/3/contacts/add", json={}).status_code == 400
        assert box.truth(2)["segments"] == ["newsletter", "warm-leads"]


def test_segment_membership_does_not_bump_date_modified() -> None:
    with running() as box:
        box.post("/api/segments/1/contact/4/add")
        assert box.get("/api/contacts/4").json()["contact"]["dateModified"] is None


def test_tags_listing() -> None:
    with running() as box:
        assert box.get("/api/tags").json() == {"total": 0, "tags": []}
        box.patch("/api/contacts/1/edit", json={"tags": ["hot"]})
        tags = box.get("/api/tags").json()
        assert tags["tags"]["1"] == {"id": 1, "tag": "hot", "description": None}


def test_notes_new_and_per_contact_list() -> None:
    with running() as box:
        missing = box.post("/api/notes/new", json={"text": "x"})
        assert missing.status_code == 400
        assert missing.json()["errors"][0]["message"] == "lead ID is mandatory"
        created = box.post("/api/notes/new", json={"lead": 3, "type": "call", "text": "Called"})
        assert created.status_code == 201
        note = created.json()["note"]
        assert (note["type"], note["text"], note["lead"]["id"]) == ("call", "Called", 3)
        box.post("/api/notes/new", json={"lead": 3, "text": "<p>Second</p>"})
        listed = box.get("/api/contacts/3/notes").json()
        assert listed["total"] == 2
        assert [n["type"] for n in listed["notes"]] == ["general", "call"]  # newest first
        assert box.get("/api/notes").json()["total"] == 2
        bad_type = box.post("/api/notes/new", json={"lead": 3, "type": "sms", "text": "x"})
        assert bad_type.status_code == 400


def test_custom_fields_appear_on_contacts() -> None:
    with running() as box:
        fields = box.get("/api/fields/contact").json()
        assert fields["fields"]["6"]["alias"] == "email"
        created = box.post("/api/fields/contact/new", json={
            "label": "External Score", "alias": "ext_score", "type": "number", "group": "core",
            "properties": {"scale": 0, "roundmode": 4}})  # fmt: skip
        assert created.status_code == 201
        assert created.json()["field"]["alias"] == "ext_score"
        again = box.post("/api/fields/contact/new", json={"label": "External Score",
                                                          "type": "number"})  # fmt: skip
        assert again.json()["field"]["alias"] == "external_score"
        long = box.post("/api/fields/contact/new", json={
            "label": "Très long nom de champ pour le score", "type": "text"}).json()  # fmt: skip
        assert long["field"]["alias"] == "tres_long_nom_de_champ_po"
        select = box.post("/api/fields/contact/new", json={
            "label": "Band", "type": "select", "group": "professional",
            "properties": {"list": [{"label": "Hot", "value": "hot"},
                                    {"label": "Cold", "value": "cold"}]}})  # fmt: skip
        assert select.status_code == 201
        edited = box.patch("/api/contacts/1/edit", json={"ext_score": 57, "band": "hot"}).json()
        contact = edited["contact"]
        assert contact["fields"]["core"]["ext_score"]["value"] == 57
        assert contact["fields"]["professional"]["band"]["normalizedValue"] == "Hot"
        assert box.patch("/api/contacts/1/edit", json={"band": "tepid"}).status_code == 400
        listed = box.get("/api/contacts", params={"search": "ids:2"}).json()["contacts"]["2"]
        assert listed["fields"]["all"]["ext_score"] is None
        reserved = box.post("/api/fields/contact/new", json={"label": "x", "alias": "contact_id"})
        assert reserved.status_code == 400


def test_fields_created_in_background_answer_202() -> None:
    with running(fields_in_background=True) as box:
        answer = box.post("/api/fields/contact/new", json={"label": "Late", "type": "text"})
        assert answer.status_code == 202


def test_users_and_owners() -> None:
    with running() as box:
        users = box.get("/api/users").json()
        assert users["total"] == 3
        assert [u["username"] for u in users["users"]] == ["admin", "anna.berg", "bela.kovacs"]
        assert box.get("/api/users/2").json()["user"]["email"].startswith("anna.berg@")
        owners = box.get("/api/contacts/list/owners").json()
        assert {"id": 2, "firstName": "Anna", "lastName": "Berg"} in owners
        assert box.get("/api/users/self").json()["username"] == "admin"  # not wrapped
