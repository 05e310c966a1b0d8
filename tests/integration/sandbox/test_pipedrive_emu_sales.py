"""Pipedrive emulator activities, deals, pipelines and users over real sockets: the sample
request gives the sample response, person links through participants, filtered lists, deal
status stamps and the won/lost incremental read."""

from __future__ import annotations

from pipedrive_emu_support import REP_1, REP_2, Pipe, sample, shape

ACTIVITIES = "/api/v2/activities"
DEALS = "/api/v2/deals"


def test_the_sample_activity_request_gives_the_sample_response(pipe: Pipe) -> None:
    request = sample("activity_create_v2_request.json")
    request.update(
        owner_id=REP_1, person_id=101, participants=[{"person_id": 101, "primary": True}]
    )
    created = pipe.call("POST", ACTIVITIES, request).json()
    expected = sample("activity_create_v2_response.json")
    assert shape(created, 3) == shape(expected, 3)
    assert list(created["data"]) == list(expected["data"])
    data = created["data"]
    assert (data["person_id"], data["owner_id"], data["creator_user_id"]) == (101, REP_1, 23450000)
    for key in ("subject", "type", "due_date", "due_time", "duration", "done", "priority", "note"):
        assert data[key] == expected["data"][key], key
    assert data["add_time"] == "2026-11-20T10:00:00Z"


def test_person_links_by_participants_and_filtered_lists(pipe: Pipe) -> None:
    by_participant = pipe.data(
        "POST",
        ACTIVITIES,
        {"subject": "Call Bo", "type": "call", "participants": [{"person_id": 102}]},
    )
    assert by_participant["person_id"] == 102
    assert by_participant["participants"] == [{"person_id": 102, "primary": True}]
    task = pipe.data(
        "POST",
        ACTIVITIES,
        {"type": "task", "person_id": 101, "due_date": "2026-11-22", "owner_id": REP_2},
    )
    assert task["subject"] == "Task"  # the type's name when no subject is given
    assert task["participants"] == [{"person_id": 101, "primary": True}]
    pipe.advance(30)
    done = pipe.data("PATCH", f"{ACTIVITIES}/{task['id']}", {"done": True})
    assert done["marked_as_done_time"] == "2026-11-20T10:00:30Z"
    assert done["update_time"] == "2026-11-20T10:00:30Z"
    open_for_101 = pipe.data("GET", ACTIVITIES, person_id=101, done="false")
    assert open_for_101 == []
    assert [a["id"] for a in pipe.data("GET", ACTIVITIES, person_id=101)] == [task["id"]]
    assert [a["id"] for a in pipe.data("GET", ACTIVITIES, owner_id=REP_2)] == [task["id"]]
    assert pipe.call("GET", ACTIVITIES, done="1").status_code == 400
    for bad in (
        {"type": "fax"},
        {"due_date": "22.11.2026"},
        {"due_time": "9am"},
        {"person_id": 9},
        {"done": "true"},
        {"location": "Berlin"},
    ):
        assert pipe.call("POST", ACTIVITIES, bad).status_code == 400, bad
    pipe.data("DELETE", f"{ACTIVITIES}/{task['id']}")
    assert pipe.call("GET", f"{ACTIVITIES}/{task['id']}").status_code == 404


def test_closed_deals_incremental_read_matches_the_sample(pipe: Pipe) -> None:
    closed = pipe.call("GET", DEALS, status="won,lost", sort_by="update_time").json()
    expected = sample("deals_v2_won_lost_response.json")
    assert shape(closed) == shape(expected)
    assert [(d["person_id"], d["status"], d["value"]) for d in closed["data"]] == [
        (101, "won", 12500),
        (102, "lost", 4200.5),
    ]
    won = closed["data"][0]
    assert won["won_time"] == won["close_time"] == "2026-11-15T10:00:00Z"
    assert closed["data"][1]["lost_reason"]
    later = pipe.data("GET", DEALS, status="won,lost", updated_since="2026-11-16T00:00:00Z")
    assert [d["id"] for d in later] == [closed["data"][1]["id"]]
    assert pipe.data("GET", DEALS, status="open") == []
    assert pipe.call("GET", DEALS, status="closed").status_code == 400


def test_deal_writes_stamp_status_times_and_check_the_pipeline(pipe: Pipe) -> None:
    deal = pipe.data("POST", DEALS, {"title": "Hot lead: Eva Lind", "person_id": 104})
    assert (deal["pipeline_id"], deal["stage_id"], deal["status"]) == (1, 1, "open")
    assert deal["origin"] == "API"
    assert deal["currency"] == "EUR"
    pipe.advance(3600)
    won = pipe.data("PATCH", f"{DEALS}/{deal['id']}", {"status": "won", "stage_id": 5})
    assert won["won_time"] == won["close_time"] == won["update_time"] == "2026-11-20T11:00:00Z"
    assert won["stage_change_time"] == "2026-11-20T11:00:00Z"
    reopened = pipe.data("PATCH", f"{DEALS}/{deal['id']}", {"status": "open"})
    assert reopened["won_time"] is None
    assert reopened["close_time"] is None
    assert [d["id"] for d in pipe.data("GET", DEALS, person_id=104)] == [deal["id"]]
    for bad in (
        {"lost_reason": "No budget"},
        {"stage_id": 99},
        {"stage_id": 2, "pipeline_id": 7},
        {"status": "closed"},
        {"value": "100"},
    ):
        assert pipe.call("PATCH", f"{DEALS}/{deal['id']}", bad).status_code == 400, bad
    assert pipe.call("POST", DEALS, {"value": 5}).status_code == 400  # no title
    pipe.data("DELETE", f"{DEALS}/{deal['id']}")
    assert [d["id"] for d in pipe.data("GET", DEALS, status="deleted")] == [deal["id"]]


def test_pipelines_stages_users_and_activity_types(pipe: Pipe) -> None:
    pipelines = pipe.data("GET", "/api/v2/pipelines")
    assert [p["id"] for p in pipelines] == [1]
    stages = pipe.data("GET", "/api/v2/stages", pipeline_id=1, sort_by="order_nr")
    assert [s["order_nr"] for s in stages] == [1, 2, 3, 4, 5]
    assert {"deal_probability", "pipeline_id", "is_deleted"} <= stages[0].keys()
    users = pipe.call("GET", "/api/v1/users").json()
    assert list(users["data"][1]) == list(sample("users_v1_response.json")["data"][0])
    me = pipe.data("GET", "/api/v1/users/me")
    assert me["is_you"] is True
    assert me["company_domain"] == pipe.creds["company_domain"]
    keys = [t["key_string"] for t in pipe.data("GET", "/api/v1/activityTypes")]
    assert {"call", "task", "meeting", "email"} <= set(keys)
    org = pipe.data("GET", "/api/v2/organizations/1001")
    assert org["name"] == "Nordic Freight"
