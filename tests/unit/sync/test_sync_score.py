"""Rescoring over the store: flags, saved scores/bands/stages, outbox actions, adjustments."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa

from scorebridge.errors import NotFoundError
from scorebridge.scoring import CompiledRules, compile_rules, parse_rules
from scorebridge.store import Store, open_store
from scorebridge.store.tables import Contact, Event, Outbox, Score, TriggerState
from scorebridge.sync.adjust import adjust
from scorebridge.sync.leads import explain_contact, leads
from scorebridge.sync.score import rescore
from scorebridge.sync.score_load import ShapeCache, load_batch

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
RULES: dict[str, Any] = {
    "version": "t-1",
    "bands": {"warm": 25, "hot": 75},
    "groups": [{"key": "product_a"}],
    "rules": [
        {
            "id": "pricing",
            "event": "page.hit",
            "url": "*/pricing*",
            "points": 10,
            "group": "product_a",
        },
        {"id": "demo", "event": "form.submit", "form_id": [3], "points": 30, "max_total": 1},
        {"id": "open", "event": "email.open", "points": 1, "max_per_day": 1},
    ],
    "fit": [{"id": "boss", "field": "position", "matches": "(?i)ceo", "points": 15}],
    "stages": [{"key": "mql", "when": {"total": {"gte": 25}}}],
    "triggers": [
        {
            "id": "warm-notify",
            "when": {"total": {"gte": 50}},
            "rearm_below": 40,
            "actions": [
                {"do": "crm.task", "subject": "Warm {name}"},
                {"do": "mautic.segment.add", "segment": "Re-activation"},
            ],
        },
        {"id": "hot", "when": {"band": "hot"}, "actions": [{"do": "crm.deal"}]},
    ],
}


@pytest.fixture
def rules() -> CompiledRules:
    return compile_rules(parse_rules(RULES))


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    opened = open_store(f"sqlite:///{tmp_path}/store.db")
    yield opened
    opened.close()


def add_contact(
    store: Store,
    mautic_id: int,
    *,
    position: str = "",
    flagged: bool = True,
    created_at: datetime | None = None,
) -> int:
    table = Contact.__table__
    with store.write() as conn:
        return int(
            conn.execute(
                sa.insert(table)
                .values(
                    mautic_id=mautic_id,
                    email=f"lead{mautic_id}@example.com",
                    fields={"firstname": "Ada", "lastname": f"L{mautic_id}", "position": position},
                    crm_fields={},
                    rescore_needed=flagged,
                    created_at=created_at or NOW - timedelta(days=30),
                )
                .returning(table.c.id)
            ).scalar_one()
        )


def add_events(
    store: Store, contact_id: int, *events: tuple[str, timedelta, dict[str, Any]]
) -> None:
    table = Event.__table__
    with store.write() as conn:
        start = conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one()
        conn.execute(
            sa.insert(table),
            [
                {
                    "source": "mautic",
                    "stream": kind,
                    "external_id": str(start + i),
                    "contact_id": contact_id,
                    "kind": kind,
                    "occurred_at": NOW - ago,
                    "attributes": attrs,
                }
                for i, (kind, ago, attrs) in enumerate(events)
            ],
        )
        conn.execute(
            sa.update(Contact.__table__)
            .where(Contact.__table__.c.id == contact_id)
            .values(rescore_needed=True)
        )


def scores(store: Store, contact_id: int) -> dict[str, tuple[int, str | None, str]]:
    t = Score.__table__
    with store.read() as conn:
        rows = conn.execute(sa.select(t).where(t.c.contact_id == contact_id)).all()
    return {r.group_key: (r.value, r.band, r.rule_version) for r in rows}


def contact_row(store: Store, contact_id: int) -> Any:
    with store.read() as conn:
        t = Contact.__table__
        return conn.execute(sa.select(t).where(t.c.id == contact_id)).one()


def outbox_keys(store: Store) -> list[str]:
    with store.read() as conn:
        return sorted(conn.execute(sa.select(Outbox.__table__.c.idempotency_key)).scalars())


PRICING = ("page.hit", timedelta(days=1), {"url": "https://x.example/pricing"})
DEMO = ("form.submit", timedelta(hours=2), {"form_id": 3})


def test_rescore_saves_scores_bands_stage_and_clears_the_flag(
    store: Store, rules: CompiledRules
) -> None:
    hot = add_contact(store, 11, position="CEO")
    add_events(store, hot, PRICING, DEMO, ("form.submit", timedelta(hours=1), {"form_id": 3}))
    cold = add_contact(store, 12)

    report = rescore(store, rules, NOW)

    assert (report.contacts, report.mode) == (2, "new-rules")
    assert scores(store, hot) == {
        "product_a": (10, None, "t-1"),
        "stage_score": (55, None, "t-1"),  # MQL does not reset: the same as the score
        "total": (55, "warm", "t-1"),  # the demo's 45 points count straight into the total
    }
    assert scores(store, cold)["total"] == (0, "cold", "t-1")
    row = contact_row(store, hot)
    assert (row.stage, row.stage_entered_at, row.rescore_needed) == ("mql", NOW, False)
    assert contact_row(store, cold).rescore_needed is False
    assert rescore(store, rules, NOW).contacts == 0


def test_fired_trigger_actions_are_enqueued_once_with_episode_keys(
    store: Store, rules: CompiledRules
) -> None:
    cid = add_contact(store, 21, position="CEO")
    add_events(store, cid, PRICING, DEMO)

    first = rescore(store, rules, NOW, notify_existing=True)
    again = rescore(store, rules, NOW + timedelta(hours=1), all=True)

    assert (first.fired, first.enqueued) == (1, 2)
    assert (again.fired, again.enqueued) == (0, 0)
    assert outbox_keys(store) == [f"warm-notify:{cid}:1:0", f"warm-notify:{cid}:1:1"]
    with store.read() as conn:
        op = conn.execute(sa.select(Outbox.__table__).order_by(Outbox.__table__.c.id)).first()
        t = TriggerState.__table__
        state = conn.execute(sa.select(t).where(t.c.trigger_id == "warm-notify")).one()
    assert op is not None
    assert (op.system, op.op, op.contact_id) == ("crm", "crm.task", cid)
    assert op.payload["params"] == {"subject": "Warm {name}"}
    assert (state.trigger_id, state.episode, state.armed, state.fired_at) == (
        "warm-notify",
        1,
        False,
        NOW,
    )


def test_only_flagged_contacts_are_rescored_unless_all_or_new_rules(
    store: Store, rules: CompiledRules
) -> None:
    ids = [add_contact(store, 100 + i, flagged=False) for i in range(60)]
    first = rescore(store, rules, NOW, chunk_size=7)
    assert (first.mode, first.contacts, first.chunks) == ("new-rules", 60, 9)
    add_events(store, ids[3], PRICING)
    add_events(store, ids[50], DEMO)

    changed = rescore(store, rules, NOW)
    assert (changed.mode, changed.contacts) == ("changed", 2)
    assert scores(store, ids[3])["total"][0] == 10
    assert scores(store, ids[50])["total"][0] == 30
    assert scores(store, ids[4])["total"][0] == 0
    assert rescore(store, rules, NOW, all=True).contacts == 60
    newer = compile_rules(parse_rules({**RULES, "version": "t-2"}))
    assert rescore(store, newer, NOW).contacts == 60
    assert scores(store, ids[4])["total"] == (0, "cold", "t-2")


def test_decay_sweep_lowers_scores_without_new_events(store: Store) -> None:
    decaying = compile_rules(
        parse_rules(
            {
                "version": "d",
                "rules": [{"id": "p", "event": "page.hit", "points": 40, "half_life_days": 10}],
            }
        )
    )
    cid = add_contact(store, 31)
    add_events(store, cid, ("page.hit", timedelta(0), {"url": "https://x.example/"}))
    rescore(store, decaying, NOW)
    rescore(store, decaying, NOW + timedelta(days=10), all=True)
    assert scores(store, cid)["total"] == (20, "cold", "d")


def test_same_instant_ties_on_capped_rules_match_the_pure_engine(
    store: Store, rules: CompiledRules
) -> None:
    cid = add_contact(store, 41)
    same = timedelta(hours=3)
    add_events(
        store, cid, ("email.open", same, {"email_id": 1}), ("email.open", same, {"email_id": 2})
    )
    report = rescore(store, rules, NOW)
    # one of two opens of equal worth counts (max_per_day = 1): which one does not matter, so
    # bulk scoring keeps the contact (ties of unequal worth go to the pure engine)
    assert report.pure_engine == 0
    assert scores(store, cid)["total"][0] == 1
    _, pure, _ = explain_contact(store, rules, "41", NOW)
    assert pure.total_value == 1


def test_manual_adjustment_counts_and_shows_its_reason_in_explain(
    store: Store, rules: CompiledRules
) -> None:
    cid = add_contact(store, 51, flagged=False)
    assert adjust(store, "lead51@example.com", 12, "met at the fair", "product_a", now=NOW) == cid
    assert contact_row(store, cid).rescore_needed is True
    rescore(store, rules, NOW)
    assert scores(store, cid)["product_a"][0] == 12
    who, result, _ = explain_contact(store, rules, "51", NOW)
    assert who.name == "Ada L51"
    manual = [c for c in result.ledger if c.rule_id == "manual"]
    assert [(c.points, c.note, c.group) for c in manual] == [(12.0, "met at the fair", "product_a")]


def test_unknown_contacts_say_what_to_do(store: Store, rules: CompiledRules) -> None:
    with pytest.raises(NotFoundError, match="scorebridge pull"):
        adjust(store, "nobody@example.com", 5, "x", None, now=NOW)
    with pytest.raises(NotFoundError, match="neither a Mautic contact id nor an e-mail"):
        explain_contact(store, rules, "bob", NOW)


def test_leads_are_ranked_and_filtered(store: Store, rules: CompiledRules) -> None:
    a = add_contact(store, 61, position="CEO")
    add_events(store, a, PRICING, DEMO)
    b = add_contact(store, 62)
    add_events(store, b, PRICING)
    add_contact(store, 63)
    rescore(store, rules, NOW)

    assert [lead.mautic_id for lead in leads(store)] == [61, 62, 63]
    assert [lead.mautic_id for lead in leads(store, band="warm")] == [61]
    top = leads(store, group="product_a", limit=1)[0]
    assert (top.mautic_id, top.total, top.groups) == (61, 55, {"product_a": 10})


def test_events_with_equal_attributes_share_one_shape(store: Store) -> None:
    cid = add_contact(store, 71)
    add_events(
        store,
        cid,
        ("page.hit", timedelta(days=1), {"url": "a", "page_id": 1}),
        ("page.hit", timedelta(days=2), {"page_id": 1, "url": "a"}),
        ("page.hit", timedelta(days=3), {"url": "b"}),
        ("email.open", timedelta(days=4), {"url": "a", "page_id": 1}),
    )
    with store.write() as conn:
        cache = ShapeCache()
        batch, _ = load_batch(
            conn, np.array([cid]), compile_rules(parse_rules(RULES)), cache, verify=True
        )
    seen = [(batch.shapes[i].kind, batch.shapes[i].attributes) for i in batch.event_shape]
    assert seen == [
        ("page.hit", {"page_id": 1, "url": "a"}),
        ("page.hit", {"page_id": 1, "url": "a"}),
        ("page.hit", {"url": "b"}),
        ("email.open", {"page_id": 1, "url": "a"}),
    ]
    assert len(batch.shapes) == 3
