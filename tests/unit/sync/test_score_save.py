"""Saving scores: rows are rewritten only when what they report changes, and then the total
row's ``computed_at`` moves too (the planner looks at it)."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from scorebridge.mautic.streams import PulledEvent
from scorebridge.scoring import compile_rules, parse_rules
from scorebridge.store import Store, open_store
from scorebridge.store.tables import Score
from scorebridge.sync.pull import store_events
from scorebridge.sync.score import rescore

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
RULES = compile_rules(
    parse_rules(
        {
            "version": "s-1",
            "groups": [{"key": "product_a"}],
            "rules": [{"id": "p", "event": "page.hit", "points": 40, "half_life_days": 10}],
        }
    )
)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(f"sqlite:///{tmp_path}/s.db") as opened:
        yield opened


def rows(store: Store) -> dict[str, tuple[int, datetime]]:
    t = Score.__table__  # type: ignore[attr-defined]
    with store.read() as conn:
        return {r.group_key: (r.value, r.computed_at) for r in conn.execute(sa.select(t))}


def test_unchanged_scores_keep_their_rows_and_a_change_moves_the_total_row(
    store: Store,
) -> None:
    with store.write() as conn:
        store_events(conn, [PulledEvent("page_hits", "1", 1, "page.hit", NOW, {"url": "/"})], NOW)
    rescore(store, RULES, NOW)
    first = rows(store)
    assert first["total"] == (40, NOW)

    rescore(store, RULES, NOW + timedelta(minutes=5), all=True)
    assert rows(store) == first, "same values: nothing rewritten"

    later = NOW + timedelta(days=10)
    rescore(store, RULES, later, all=True)
    assert rows(store) == {
        "product_a": (0, NOW),
        "stage_score": (20, later),
        "total": (20, later),
    }
