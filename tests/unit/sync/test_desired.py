"""Planning over the store: rescored contacts -> outbox ops, idle plans, superseding, triggers."""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from scorebridge.config import Settings
from scorebridge.crm.base import Owner
from scorebridge.mautic.streams import GROUP_SET
from scorebridge.scoring import CompiledRules, compile_rules, parse_rules
from scorebridge.store import Store, open_store
from scorebridge.store.tables import Contact, Event, Outbox
from scorebridge.sync.adjust import adjust
from scorebridge.sync.crm_pull import save_owners
from scorebridge.sync.desired import dry_run_writes, plan_changes
from scorebridge.sync.mautic_held import mautic_group_scores
from scorebridge.sync.push import Claimed, Outcome, push
from scorebridge.sync.score import rescore

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
OWNERS = [Owner(rep, f"{rep}@sales.example", rep, True) for rep in ("r1", "r2")]
RULES: dict[str, Any] = {
    "version": "t-1",
    "bands": {"warm": 25, "hot": 75},
    "groups": [{"key": "product_a", "mautic_group": "Product A"}],
    "rules": [
        {
            "id": "pricing",
            "label": "Visited pricing",
            "event": "page.hit",
            "url": "*/pricing*",
            "points": 10,
            "group": "product_a",
        },
        {"id": "demo", "label": "Requested a demo", "event": "form.submit", "points": 45},
    ],
    "stages": [
        {
            "key": "mql",
            "when": {"total": {"gte": 25}},
            "mautic_stage": "MQL",
            "crm_lifecycle": "marketingqualifiedlead",
        }
    ],
    "triggers": [
        {
            "id": "warm",
            "when": {"total": {"gte": 50}},
            "rearm_below": 40,
            "actions": [
                {"do": "crm.task", "subject": "Warm lead {name}: {total} points"},
                {"do": "mautic.segment.add", "segment": "Warm leads"},
            ],
        },
    ],
}


def settings(crm: bool = True) -> Settings:
    data: dict[str, Any] = {
        "mautic": {"url": "http://127.0.0.1:9", "username": "u", "password": "p"},
    }
    if crm:
        data["crm"] = {"kind": "hubspot", "token": "t", "reps": ["r1", "r2"]}
    return Settings.model_validate(data)


@pytest.fixture
def rules() -> CompiledRules:
    return compile_rules(parse_rules(RULES))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path}/store.db")
    with opened.write() as conn:  # what the CRM pull keeps: the owners tasks can go to
        save_owners(conn, "hubspot", OWNERS, NOW)
    yield opened
    opened.close()


def add_lead(store: Store, mautic_id: int, *events: dict[str, Any]) -> int:
    contacts, table = Contact.__table__, Event.__table__  # type: ignore[attr-defined]
    with store.write() as conn:
        cid = int(
            conn.execute(
                sa.insert(contacts)
                .values(
                    mautic_id=mautic_id,
                    email=f"l{mautic_id}@example.com",
                    fields={"firstname": "Ada", "lastname": "Lovelace"},
                    crm_fields={},
                    rescore_needed=True,
                    updated_at=NOW - timedelta(days=1),
                )
                .returning(contacts.c.id)
            ).scalar_one()
        )
        for n, attrs in enumerate(events):
            conn.execute(
                sa.insert(table).values(
                    source="mautic",
                    stream="x",
                    external_id=f"{mautic_id}-{n}",
                    contact_id=cid,
                    kind=attrs.pop("kind"),
                    occurred_at=NOW - timedelta(hours=n + 1),
                    attributes=attrs,
                )
            )
    return cid


def pending(store: Store) -> dict[str, Any]:
    table = Outbox.__table__  # type: ignore[attr-defined]
    with store.read() as conn:
        rows = conn.execute(sa.select(table).where(table.c.status == "pending")).all()
    return {r.idempotency_key: r for r in rows}


class AckAll:
    """A writer for which every op succeeds."""

    link_kind = "contact"
    batch_size = 100

    def __init__(self, system: str) -> None:
        self.system = system
        self.sent = 0

    def write(self, items: Sequence[Claimed]) -> list[Outcome]:
        self.sent += len(items)
        return [
            Outcome(i.op.id, "ok", link="c-1" if i.op.op == "crm.create" else None) for i in items
        ]


def test_a_plan_after_the_push_plans_nothing_until_a_score_changes(
    store: Store, rules: CompiledRules
) -> None:
    cid = add_lead(store, 11, {"kind": "page.hit", "url": "https://x/pricing"})
    rescore(store, rules, NOW)
    first = plan_changes(store, rules, settings(), NOW)
    assert dict(first.planned) == {"mautic.fields": 1, "mautic.groups": 1}
    writers = [AckAll("mautic"), AckAll("crm")]
    push(store, writers, NOW)
    for n in range(1, 4):  # idle cycles, even re-planning everyone
        later = NOW + timedelta(minutes=5 * n)
        rescore(store, rules, later, all=True)
        assert plan_changes(store, rules, settings(), later, everyone=n == 2).enqueued == 0
    assert writers[0].sent == 2
    adjust(store, str(11), 20, "met at the fair", None, now=NOW + timedelta(hours=1))
    rescore(store, rules, NOW + timedelta(hours=1))
    report = plan_changes(store, rules, settings(), NOW + timedelta(hours=1))
    assert dict(report.planned) == {
        "mautic.fields": 1,
        "mautic.stage": 1,
        "mautic.note": 1,
        "crm.create": 1,
    }
    assert cid in {r.contact_id for r in pending(store).values()}


def test_a_newer_value_supersedes_an_unsent_older_one(store: Store, rules: CompiledRules) -> None:
    add_lead(store, 11, {"kind": "page.hit", "url": "https://x/pricing"})
    rescore(store, rules, NOW)
    plan_changes(store, rules, settings(crm=False), NOW)
    adjust(store, "11", 5, "call", "product_a", now=NOW + timedelta(minutes=1))
    rescore(store, rules, NOW + timedelta(minutes=1))
    report = plan_changes(store, rules, settings(crm=False), NOW + timedelta(minutes=1))
    assert report.superseded == 2  # fields and group score
    # still all that is unwritten
    fields = [r.payload["fields"] for r in pending(store).values() if r.op == "mautic.fields"]
    assert fields == [{"sb_score": 15, "sb_stage_score": 15, "sb_band": "cold"}]


def test_a_fired_trigger_becomes_a_task_that_says_why_and_a_call_note(
    store: Store, rules: CompiledRules
) -> None:
    add_lead(
        store, 11, {"kind": "form.submit", "form_id": 3}, {"kind": "page.hit", "url": "/pricing"}
    )
    rescore(store, rules, NOW, notify_existing=True)
    report = plan_changes(store, rules, settings(), NOW)
    assert report.prepared == 2
    ops = pending(store)
    task = ops["warm:1:1:0"].payload["rendered"]["task"]
    assert task["subject"] == "Warm lead Ada Lovelace: 55 points"
    assert "Requested a demo" in task["body"]
    assert task["owner_id"] == "r2"
    note = ops["warm:1:1:0:note"]
    assert (note.system, note.op, note.payload["type"]) == ("mautic", "mautic.note", "call")
    assert note.payload["text"].startswith("Warm lead Ada Lovelace: 55 points\n\n")
    assert ops["warm:1:1:1"].payload["params"] == {"segment": "Warm leads"}
    again = plan_changes(store, rules, settings(), NOW)
    assert again.prepared == 0


def test_without_a_crm_trigger_tasks_are_skipped_but_the_mautic_note_stays(
    store: Store, rules: CompiledRules
) -> None:
    add_lead(
        store, 11, {"kind": "form.submit", "form_id": 3}, {"kind": "page.hit", "url": "/pricing"}
    )
    rescore(store, rules, NOW, notify_existing=True)
    report = plan_changes(store, rules, settings(crm=False), NOW)
    assert report.skipped == 1
    assert "warm:1:1:0" not in pending(store)
    assert "warm:1:1:0:note" in pending(store)


def test_dry_run_lists_the_plan_and_changes_nothing(store: Store, rules: CompiledRules) -> None:
    add_lead(store, 11, {"kind": "page.hit", "url": "https://x/pricing"})
    rescore(store, rules, NOW)
    report = plan_changes(store, rules, settings(), NOW, dry_run=True)
    assert sorted(op["op"] for op in report.as_dict()["ops"]) == ["mautic.fields", "mautic.groups"]
    assert pending(store) == {}
    assert plan_changes(store, rules, settings(), NOW).enqueued == 2


def test_a_value_that_changes_back_before_the_push_is_queued_once_and_last(
    store: Store, rules: CompiledRules
) -> None:
    add_lead(store, 11, {"kind": "page.hit", "url": "https://x/pricing"})
    moments = [NOW + timedelta(minutes=n) for n in range(3)]
    rescore(store, rules, moments[0])
    plan_changes(store, rules, settings(crm=False), moments[0])
    for moment, delta in zip(moments[1:], (5, -5), strict=True):
        adjust(store, "11", delta, "call", "product_a", now=moment)
        rescore(store, rules, moment)
        plan_changes(store, rules, settings(crm=False), moment)
    fields = [r.payload["fields"] for r in pending(store).values() if r.op == "mautic.fields"]
    assert fields == [{"sb_score": 10, "sb_stage_score": 10, "sb_band": "cold"}]


def test_a_dry_run_cycle_lists_queued_and_planned_writes_once(
    store: Store, rules: CompiledRules
) -> None:
    add_lead(
        store, 11, {"kind": "form.submit", "form_id": 3}, {"kind": "page.hit", "url": "/pricing"}
    )
    rescore(store, rules, NOW, notify_existing=True)  # queues the trigger's task and segment
    plan = plan_changes(store, rules, settings(), NOW, dry_run=True)
    due = push(store, [AckAll("mautic"), AckAll("crm")], NOW, dry_run=True).planned
    writes = dry_run_writes(plan, due)
    keys = [w["idempotency_key"] for w in writes]
    assert len(keys) == len(set(keys))
    assert {w["op"] for w in writes} >= {"crm.task", "mautic.note", "mautic.fields", "crm.create"}
    task = next(w for w in writes if w["op"] == "crm.task")
    assert "Requested a demo" in task["payload"]["rendered"]["task"]["body"]
    assert sorted(pending(store)) == ["warm:1:1:0", "warm:1:1:1"]  # nothing else stored


def test_tasks_and_deals_wait_unrendered_until_the_crm_owners_are_known(
    tmp_path: Path, rules: CompiledRules
) -> None:
    """Before the CRM pull succeeded once nobody can say who gets a task: it waits."""
    store = open_store(f"sqlite:///{tmp_path}/no-owners.db")
    try:
        add_lead(store, 11, {"kind": "form.submit", "form_id": 3},
                 {"kind": "page.hit", "url": "https://x/pricing"})  # fmt: skip
        rescore(store, rules, NOW, notify_existing=True)
        report = plan_changes(store, rules, settings(), NOW)
        assert report.prepared == 1  # the Mautic segment only
        with store.write() as conn:
            save_owners(conn, "hubspot", OWNERS, NOW)
        assert plan_changes(store, rules, settings(), NOW).prepared == 1  # now the task
    finally:
        store.close()


def test_what_mautic_holds_per_point_group_comes_from_the_pulled_point_log(
    store: Store,
) -> None:
    def point(ext: int, delta: int, group: str, **extra: Any) -> dict[str, Any]:
        return {"kind": extra.pop("kind", "mautic.points"), "ext": ext, "delta": delta,
                "group": group, **extra}  # fmt: skip

    def add(mautic_id: int, *rows: dict[str, Any]) -> int:
        cid = add_lead(store, mautic_id)
        table = Event.__table__  # type: ignore[attr-defined]
        with store.write() as conn:
            for row in rows:
                conn.execute(
                    sa.insert(table).values(
                        source="mautic",
                        stream="points",
                        external_id=str(row.pop("ext")),
                        contact_id=cid,
                        kind=row.pop("kind"),
                        occurred_at=NOW,
                        attributes=row,
                    )
                )
        return cid

    own = add(1, point(5, 3, "Product A"), point(9, 3, "product a"), point(7, 10, "Other"))
    ours = add(
        2,
        point(20, 3, "Product A"),  # before scorebridge's set: overwritten by it
        point(21, 12, "Product A", kind=GROUP_SET, value=15),
        point(22, 3, "Product A"),  # a point action after it
    )
    pending_echo = add(3, point(30, 4, "Product A", kind=GROUP_SET, value=4))
    never = add(4)
    written = {
        ours: {("mautic", "group:product_a"): "15"},
        pending_echo: {("mautic", "group:product_a"): "9"},  # its echo is not pulled yet
    }
    with store.read() as conn:
        held = mautic_group_scores(
            conn, [own, ours, pending_echo, never], {"product_a": "Product A"}, written
        )
    assert held == {
        own: {"product_a": 6},
        ours: {"product_a": 18},
        pending_echo: {},  # compared with what was written instead
        never: {"product_a": 0},
    }
