"""Mautic emulator: /api/stats tables and the activity timeline."""

from __future__ import annotations

from mautic_support import running


def test_table_listing_and_unknown_table() -> None:
    with running() as box:
        listing = box.get("/api/stats").json()
        for table in ("lead_points_change_log", "page_hits", "email_stats", "form_submissions",
                      "asset_downloads", "lead_donotcontact", "lead_stages_change_log",
                      "lead_lists_leads"):  # fmt: skip
            assert table in listing["availableTables"]
        assert "group_id" in listing["tableColumns"]["lead_points_change_log"]
        assert box.get("/api/stats/no_such_table").json() == listing


def test_rows_are_strings_and_total_is_a_string() -> None:
    with running() as box:
        body = box.stats("form_submissions")
        assert body["total"] == "2"
        row = body["stats"][0]
        assert row["form_id"] == "3"
        assert row["lead_id"] == "1"
        assert row["id"] == "1"
        assert row["date_submitted"] == "2026-11-12 15:00:00"
        assert all(v is None or isinstance(v, str) for r in body["stats"] for v in r.values())


def test_keyset_paging_where_order_start_limit() -> None:
    with running() as box:
        for _ in range(12):
            box.post("/api/contacts/3/points/plus/1")
        seen: list[int] = []
        last = 0
        while True:
            page = box.stats("lead_points_change_log", **{
                "where[0][col]": "id", "where[0][expr]": "gt", "where[0][val]": str(last),
                "order[0][col]": "id", "order[0][dir]": "ASC", "limit": 5})["stats"]  # fmt: skip
            if not page:
                break
            seen += [int(r["id"]) for r in page]
            last = seen[-1]
        assert seen == list(range(1, len(seen) + 1))
        assert len(seen) == int(box.stats("lead_points_change_log")["total"])
        assert box.stats("lead_points_change_log", limit=0)["stats"] == []
        assert len(box.stats("lead_points_change_log", start=2, limit=3)["stats"]) == 3
        bad = box.get("/api/stats/page_hits", params={"where[0][col]": "nope",
                                                      "where[0][expr]": "eq",
                                                      "where[0][val]": "1"})  # fmt: skip
        assert bad.status_code == 500


def test_email_open_updates_the_sent_row_and_clicks_are_page_hits() -> None:
    with running() as box:
        rows = box.stats("email_stats", **{"where[0][col]": "lead_id", "where[0][expr]": "eq",
                                           "where[0][val]": "3"})["stats"]  # fmt: skip
        assert len(rows) == 1
        row = rows[0]
        assert (row["is_read"], row["open_count"]) == ("1", "1")
        assert row["date_read"] == row["last_opened"] == "2026-11-12 18:00:00"
        box.event(3, "email.open", email_id=2, at="2026-11-20T11:00:00Z",
                  user_agent="Mozilla/5.0 (Macintosh) AppleWebKit (KHTML, like Gecko)")  # fmt: skip
        again = box.stats("email_stats", **{"where[0][col]": "id", "where[0][expr]": "eq",
                                            "where[0][val]": row["id"]})["stats"][0]  # fmt: skip
        assert (again["open_count"], again["date_read"], again["last_opened"]) == (
            "2", "2026-11-12 18:00:00", "2026-11-20 11:00:00"
        )  # fmt: skip
        assert box.stats("email_stats")["total"] == "3"
        clicks = box.stats("page_hits", **{"where[0][col]": "email_id",
                                           "where[0][expr]": "isNotNull"})["stats"]  # fmt: skip
        assert len(clicks) == 1
        assert (clicks[0]["lead_id"], clicks[0]["email_id"], clicks[0]["source"]) == (
            "3", "2", "email"
        )  # fmt: skip


def test_dnc_stage_and_segment_tables() -> None:
    with running() as box:
        dnc = box.stats("lead_donotcontact")["stats"]
        assert [(r["lead_id"], r["reason"], r["channel"]) for r in dnc] == [
            ("4", "1", "email"), ("5", "2", "email")
        ]  # fmt: skip
        box.event(4, "resubscribe")
        assert box.stats("lead_donotcontact")["total"] == "1"
        stages = box.stats("lead_stages_change_log")
        assert stages["total"] == "5"
        assert stages["stats"][0]["event_name"] == "1: Lead"
        members = box.stats("lead_lists_leads")["stats"]
        assert members == [{"leadlist_id": "1", "lead_id": "2", "date_added": "2026-11-13 00:00:00",
                            "manually_removed": "0", "manually_added": "0"}]  # fmt: skip


def test_contact_activity_types_paging_and_filters() -> None:
    with running() as box:
        body = box.get("/api/contacts/1/activity").json()
        assert set(body) == {"events", "filters", "order", "types", "total", "page", "limit",
                             "maxPages"}  # fmt: skip
        kinds = [e["event"] for e in body["events"]]
        assert kinds.count("point.gained") == 3
        assert kinds.count("page.hit") == 2
        assert body["order"] == ["timestamp", "DESC"]
        stamps = [e["timestamp"] for e in body["events"]]
        assert stamps == sorted(stamps, reverse=True)
        gained = next(e for e in body["events"] if e["event"] == "point.gained")
        assert gained["contactId"] == "1"
        assert gained["details"]["log"]["delta"] == "30"
        assert gained["eventLabel"] == "5: Requests a demo / 30"
        grouped = box.get("/api/contacts/1/activity", params={
            "filters[includeEvents][]": "point.gained", "limit": 1, "page": 2}).json()  # fmt: skip
        assert grouped["total"] == 3
        assert grouped["maxPages"] == 3
        assert grouped["events"][0]["eventLabel"] == "2: Visits Product A page / 3 (Product A)"
        dated = box.get("/api/contacts/1/activity", params={
            "filters[dateFrom]": "2026-11-12 14:30:00"}).json()  # fmt: skip
        assert {e["event"] for e in dated["events"]} == {"form.submitted", "point.gained"}
        assert box.get("/api/contacts/999/activity").status_code == 404


def test_all_contacts_activity_limits_per_type() -> None:
    with running() as box:
        body = box.get("/api/contacts/activity", params={"limit": 1}).json()
        per_type: dict[str, int] = {}
        for event in body["events"]:
            per_type[event["event"]] = per_type.get(event["event"], 0) + 1
        assert set(per_type.values()) == {1}
        assert body["total"] > len(body["events"])
        assert {"email.read", "email.sent", "lead.donotcontact", "asset.download"} <= set(per_type)
