"""The first score of a contact (``notify_existing``) and stage resets, over the store."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa
from test_sync_score import (
    DEMO,
    NOW,
    PRICING,
    RULES,
    add_contact,
    add_events,
    contact_row,
    outbox_keys,
    scores,
)

from scorebridge.config import Settings
from scorebridge.crm.base import Owner
from scorebridge.scoring import CompiledRules, compile_rules, parse_rules
from scorebridge.store import Store, open_store
from scorebridge.store.tables import Outbox, StageEntry, TriggerState
from scorebridge.sync.crm_pull import save_owners
from scorebridge.sync.desired import plan_changes
from scorebridge.sync.score import mark_first_sync, rescore


@pytest.fixture
def rules() -> CompiledRules:
    return compile_rules(parse_rules(RULES))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path}/store.db")
    yield opened
    opened.close()


def states(store: Store, contact_id: int) -> dict[str, tuple[bool, int]]:
    t = TriggerState.__table__
    with store.read() as conn:
        rows = conn.execute(sa.select(t).where(t.c.contact_id == contact_id)).all()
    return {r.trigger_id: (r.armed, r.episode) for r in rows}


def silenced(store: Store, contact_id: int) -> dict[str, bool]:
    t = TriggerState.__table__
    with store.read() as conn:
        rows = conn.execute(sa.select(t).where(t.c.contact_id == contact_id)).all()
    return {r.trigger_id: r.silenced for r in rows}


def first_sync_done(store: Store, at: Any) -> None:
    with store.write() as conn:
        mark_first_sync(conn, at)


def test_a_first_score_records_holding_triggers_as_fired_without_actions(
    store: Store, rules: CompiledRules
) -> None:
    existing = add_contact(store, 31, position="CEO")
    add_events(store, existing, PRICING, DEMO)
    report = rescore(store, rules, NOW)
    assert (report.fired, report.silenced, report.enqueued) == (0, 1, 0)
    assert outbox_keys(store) == []
    assert states(store, existing) == {"warm-notify": (False, 1)}
    assert silenced(store, existing) == {"warm-notify": True}
    first_sync_done(store, NOW)
    # a later real crossing (after falling below rearm_below) notifies as usual, episode 2
    add_events(store, existing, ("manual", timedelta(hours=1), {"delta": -40, "reason": "x"}))
    rescore(store, rules, NOW)
    assert states(store, existing) == {"warm-notify": (True, 1)}
    add_events(store, existing, ("manual", timedelta(minutes=1), {"delta": 40, "reason": "y"}))
    again = rescore(store, rules, NOW)
    assert (again.fired, again.silenced) == (1, 0)
    assert outbox_keys(store) == [f"warm-notify:{existing}:2:0", f"warm-notify:{existing}:2:1"]


def test_a_lead_that_arrives_hot_after_the_first_sync_is_notified_on_its_first_score(
    store: Store, rules: CompiledRules
) -> None:
    before = add_contact(store, 35, position="CEO")
    add_events(store, before, PRICING, DEMO)
    rescore(store, rules, NOW)
    first_sync_done(store, NOW + timedelta(seconds=1))
    # created in the store after the first completed sync: a new lead (a form created it)
    newcomer = add_contact(store, 36, position="CEO", created_at=NOW + timedelta(minutes=5))
    add_events(store, newcomer, PRICING, DEMO)
    report = rescore(store, rules, NOW + timedelta(minutes=5))
    assert (report.fired, report.silenced) == (1, 0)
    assert f"warm-notify:{newcomer}:1:0" in outbox_keys(store)
    assert silenced(store, newcomer) == {"warm-notify": False}
    assert silenced(store, before) == {"warm-notify": True}


def test_nothing_is_news_before_the_first_complete_pull_was_scored(
    store: Store, rules: CompiledRules
) -> None:
    """A first cycle whose pull failed half-way scores part of the history; the crossings of
    the next cycle, which completes it, are no news either: they are silenced."""
    partial = add_contact(store, 33, position="CEO")
    add_events(store, partial, PRICING)
    assert rescore(store, rules, NOW).silenced == 0  # 25 points: no trigger yet
    add_events(store, partial, DEMO)
    report = rescore(store, rules, NOW)
    assert (report.fired, report.silenced) == (0, 1)
    assert outbox_keys(store) == []


def test_a_known_contact_crossing_notifies_and_notify_existing_keeps_the_old_way(
    store: Store, rules: CompiledRules
) -> None:
    known = add_contact(store, 41, position="CEO")
    assert rescore(store, rules, NOW).silenced == 0  # scored cold: nothing holds
    first_sync_done(store, NOW)
    add_events(store, known, PRICING, DEMO)
    assert rescore(store, rules, NOW).enqueued == 2
    loud = add_contact(store, 42, position="CEO")
    add_events(store, loud, PRICING, DEMO)
    report = rescore(store, rules, NOW, notify_existing=True)
    assert (report.fired, report.silenced, report.enqueued) == (1, 0, 2)
    assert f"warm-notify:{loud}:1:0" in outbox_keys(store)


RESET: dict[str, Any] = {
    **RULES,
    "stages": [
        {"key": "mql", "when": {"total": {"gte": 25}}},
        {"key": "sql", "when": {"total": {"gte": 75}}, "reset_score": True},
    ],
}


def test_entering_a_reset_stage_keeps_the_score_counts_the_stage_score_and_the_deal_agrees(
    store: Store,
) -> None:
    rules = compile_rules(parse_rules(RESET))
    cid = add_contact(store, 51, position="CEO")
    rescore(store, rules, NOW - timedelta(days=2))
    first_sync_done(store, NOW - timedelta(days=2))
    many = [("form.submit", timedelta(hours=3), {"form_id": 3}), PRICING, DEMO]
    add_events(store, cid, *many, ("manual", timedelta(hours=1), {"delta": 30, "reason": "call"}))
    report = rescore(store, rules, NOW)
    assert report.fired == 2
    row = contact_row(store, cid)
    assert (row.stage, row.stage_entered_at) == ("sql", NOW)
    # the lifetime score stays (hot, as the deal says); the stage score counts from the entry:
    # only fit (CEO 15) and the manual adjustment (30), which always count
    assert scores(store, cid)["total"] == (85, "hot", RESET["version"])
    assert scores(store, cid)["stage_score"][0] == 45
    with store.read() as conn:
        t = Outbox.__table__
        deal = conn.execute(sa.select(t).where(t.c.op == "crm.deal")).one()
        entries = conn.execute(sa.select(StageEntry.__table__)).all()
    assert (deal.payload["total"], deal.payload["band"]) == (85, "hot")
    assert [(e.stage, e.entered_at, e.score) for e in entries] == [("sql", NOW, 85)]
    settings = Settings.model_validate(
        {
            "mautic": {"url": "http://127.0.0.1:9", "username": "u", "password": "p"},
            "crm": {"kind": "hubspot", "token": "t", "reps": ["r1"]},
        }
    )
    with store.write() as conn:
        save_owners(conn, "hubspot", [Owner("r1", "r1@sales.example", "R1", True)], NOW)
    plan_changes(store, rules, settings, NOW)
    with store.read() as conn:
        t = Outbox.__table__
        rendered = {r.op: r.payload.get("rendered") for r in conn.execute(sa.select(t)).all()}
    body = rendered["crm.task"]["task"]["body"]
    assert rendered["crm.task"]["task"]["subject"] == "Warm Ada L51"
    assert "scores 85 (hot; 45 since entering sql)" in body
    assert "form 3" in body
    assert rendered["crm.deal"]["deal"]["name"].endswith("(scorebridge: hot)")
    # the next cycles without new behaviour change nothing
    for later in (NOW, NOW + timedelta(hours=1)):
        again = rescore(store, rules, later, all=True)
        assert (again.fired, again.stage_changes) == (0, 0)
        assert scores(store, cid)["total"] == (85, "hot", RESET["version"])
