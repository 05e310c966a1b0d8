"""Mautic emulator: the /_sandbox control path, the tracking pixel and seeding."""

from __future__ import annotations

import requests
from mautic_support import running

from scorebridge.sandbox.world import PAGES


def test_every_event_kind_is_recorded_as_mautic_would() -> None:
    with running() as box:
        before = box.truth()["tables"]
        box.event(4, "page.hit", url=PAGES["product_b"], at="2026-11-20T11:00:00+00:00")
        box.event(4, "email.send", email_id=5)
        box.event(4, "email.open", email_id=5, user_agent="Mozilla/5.0")
        box.event(4, "email.click", email_id=5, url=PAGES["pricing"])
        box.event(4, "form.submit", form_id=4)
        box.event(4, "asset.download", asset_id=5)
        box.event(2, "unsubscribe")
        box.event(3, "bounce")
        after = box.truth()["tables"]
        grew = {name: after[name] - before[name] for name in after}
        assert grew["page_hits"] == 2
        assert grew["email_stats"] == 1
        assert grew["form_submissions"] == 1
        assert grew["asset_downloads"] == 1
        assert grew["lead_donotcontact"] == 2
        # product B page (+3 B), open (+1), pricing click (+5), quote (+40), datasheet B (+10 B)
        assert grew["lead_points_change_log"] == 5
        truth = box.truth(4)
        assert truth["points"] == 46
        assert truth["group_scores"] == {"Product B": 13}
        assert truth["stage"] == "MQL"  # the instance's campaign moves 40+ points to MQL
        assert truth["last_active"] == "2026-11-20 12:00:00"
        assert truth["date_modified"] == "2026-11-20 12:00:00"


def test_group_only_events_touch_last_active_but_not_date_modified() -> None:
    with running() as box:
        box.event(5, "page.hit", url=PAGES["product_a"], at="2026-11-19T09:00:00Z")
        truth = box.truth(5)
        assert truth["group_scores"] == {"Product A": 3}
        assert truth["date_modified"] is None
        assert truth["last_active"] == "2026-11-19 09:00:00"


def test_non_repeatable_actions_fire_once() -> None:
    with running() as box:
        box.event(4, "asset.download", asset_id=1)
        box.event(4, "asset.download", asset_id=1)
        assert box.truth(4)["points"] == 20
        assert box.stats("point_lead_action_log")["total"] == "2"


def test_bad_events_are_rejected() -> None:
    with running() as box:
        unknown = requests.post(
            box.url + "/_sandbox/events", json={"contact_id": 1, "kind": "sms.sent"}, timeout=5
        )
        assert unknown.status_code == 400
        nobody = requests.post(
            box.url + "/_sandbox/events", json={"contact_id": 99, "kind": "page.hit"}, timeout=5
        )
        assert nobody.status_code == 404


def test_tracking_pixel_records_page_hits() -> None:
    with running() as box:
        pixel = requests.get(
            box.url + "/mtracking.gif",
            params={"page_url": PAGES["pricing"], "page_title": "Pricing"},
            cookies={"mtc_id": "2"},
            timeout=5,
        )
        assert pixel.status_code == 200
        assert pixel.headers["Content-Type"] == "image/gif"
        hits = box.stats("page_hits", **{"where[0][col]": "lead_id", "where[0][expr]": "eq",
                                         "where[0][val]": "2"})["stats"]  # fmt: skip
        assert hits[-1]["url"] == PAGES["pricing"]
        assert hits[-1]["url_title"] == "Pricing"
        assert box.truth(2)["points"] == 5
        anonymous = requests.get(
            box.url + "/mtracking.gif", params={"page_url": PAGES["home"]}, timeout=5
        )
        assert anonymous.cookies["mtc_id"] == "6"
        assert box.truth()["contacts"] == 6
        anon = box.get("/api/contacts", params={"search": "is:anonymous"}).json()
        assert list(anon["contacts"]) == ["6"]


def test_seed_reset_and_settings() -> None:
    with running() as box:
        seeded = box.control("POST", "seed", json={"contacts": 30, "days": 5, "seed": 4})
        assert seeded["seed"] == 4
        assert 0 < seeded["contacts"] <= 30
        assert seeded["tables"]["page_hits"] > 0
        listed = box.get("/api/contacts", params={"limit": 0}).json()
        assert int(listed["total"]) == seeded["contacts"]
        box.control("POST", "reset")
        assert box.truth()["contacts"] == 0
        assert box.get("/api/points/groups").json()["total"] == 2  # configuration survives
        box.control("POST", "settings", json={"rate_limit": 1})
        assert box.get("/api/stages").status_code == 200
        assert box.get("/api/stages").status_code == 429
        counts = box.control("GET", "requests")
        assert counts["by_route"]["GET /api/stages"] == 2
