"""A whole-store rescore saves chunk N while the next chunk is read and scored on another
thread: the same result as one chunk at a time, and a write by anyone else in between is seen."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from test_sync_score import DEMO, NOW, PRICING, RULES, add_contact, add_events

from scorebridge.scoring import CompiledRules, compile_rules, parse_rules
from scorebridge.store import Store, open_store
from scorebridge.store.tables import Contact, Outbox, Score, TriggerState
from scorebridge.sync import score as score_mod
from scorebridge.sync.adjust import adjust
from scorebridge.sync.score import rescore

CONTACTS = 23


@pytest.fixture
def rules() -> CompiledRules:
    return compile_rules(parse_rules(RULES))


def populated(path: Path) -> tuple[Store, list[int]]:
    """A store of leads of every temperature, their digests built by a first rescore."""
    store = open_store(f"sqlite:///{path}")
    ids = []
    for n in range(CONTACTS):
        cid = add_contact(store, 100 + n, position="CEO" if n % 3 == 0 else "")
        ids.append(cid)
        events = [PRICING] * (n % 4) + ([DEMO] if n % 5 == 0 else [])
        events += [("email.open", timedelta(days=d), {"email_id": d}) for d in range(n % 3)]
        if events:
            add_events(store, cid, *events)
    return store, ids


def state(store: Store) -> list[tuple]:
    with store.read() as conn:
        rows = [
            sorted(tuple(r) for r in conn.execute(sa.select(*cols)))
            for cols in (
                (
                    Score.__table__.c.contact_id,
                    Score.__table__.c.group_key,
                    Score.__table__.c.exact,
                ),
                (
                    Contact.__table__.c.id,
                    Contact.__table__.c.stage,
                    Contact.__table__.c.rescore_needed,
                ),
                (
                    TriggerState.__table__.c.contact_id,
                    TriggerState.__table__.c.trigger_id,
                    TriggerState.__table__.c.episode,
                ),
                (Outbox.__table__.c.idempotency_key,),
            )
        ]
    return rows


def test_chunks_read_ahead_give_the_result_of_one_chunk(
    tmp_path: Path, rules: CompiledRules
) -> None:
    piped, _ = populated(tmp_path / "piped.db")
    whole, _ = populated(tmp_path / "whole.db")
    later = NOW + timedelta(days=3)
    chunks = []
    for store, size in ((piped, 4), (whole, 10_000)):
        rescore(store, rules, NOW, notify_existing=True)  # builds the digests
        report = rescore(store, rules, later, all=True, chunk_size=size, notify_existing=True)
        assert report.contacts == CONTACTS
        assert report.reread == 0
        chunks.append(report.chunks)
    assert chunks == [6, 1]
    assert state(piped) == state(whole)
    piped.close()
    whole.close()


@pytest.mark.sqlite_only  # the read-ahead is SQLite's
def test_a_write_between_two_chunks_is_not_lost(
    tmp_path: Path, rules: CompiledRules, monkeypatch: pytest.MonkeyPatch
) -> None:
    store, ids = populated(tmp_path / "store.db")
    rescore(store, rules, NOW)
    target = ids[9]  # in the third chunk of four
    calls = []

    def someone_adjusts() -> None:
        calls.append(1)
        if len(calls) == 3:  # after chunk 2 committed, with chunk 3 read ahead
            adjust(store, str(100 + 9), 60, "called us", None, now=NOW)

    monkeypatch.setattr(score_mod, "_between_chunks", someone_adjusts)
    report = rescore(store, rules, NOW + timedelta(hours=1), all=True, chunk_size=4)
    assert report.reread == 1
    with store.read() as conn:
        t = Score.__table__
        total = conn.execute(
            sa.select(t.c.exact).where(t.c.contact_id == target, t.c.group_key == "total")
        ).scalar_one()
        flagged = conn.execute(
            sa.select(Contact.__table__.c.rescore_needed).where(Contact.__table__.c.id == target)
        ).scalar_one()
    assert total >= 60  # the adjustment counted in this very rescore
    assert flagged is False
    store.close()
