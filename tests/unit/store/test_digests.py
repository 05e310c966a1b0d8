"""Event digests: kept in step by every writer of events, equal to a rebuild from the event rows,
and rescoring from them gives what the pure engine gives over the event rows."""

from __future__ import annotations

import tempfile
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np
import pytest
import sqlalchemy as sa
from hypothesis import given, settings
from hypothesis import strategies as st

from scorebridge.clock import FrozenClock
from scorebridge.crm.base import ClosedDeal, Owner, Page
from scorebridge.mautic.streams import PulledEvent
from scorebridge.scoring import compile_rules, load_rules
from scorebridge.scoring.engine import score
from scorebridge.store import Store, digests, open_store
from scorebridge.store.tables import Contact, Digest, Event, Score, Shape
from scorebridge.sync.adjust import adjust
from scorebridge.sync.crm_pull import pull_crm
from scorebridge.sync.identity import fold
from scorebridge.sync.pull import store_events
from scorebridge.sync.score import rescore
from scorebridge.sync.score_load import load_engine_inputs

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
RULES_FILE = Path(__file__).resolve().parents[3] / "config" / "scoring.example.toml"
_contact = Contact.__table__  # type: ignore[attr-defined]
_event = Event.__table__  # type: ignore[attr-defined]
_digest = Digest.__table__  # type: ignore[attr-defined]
_shape = Shape.__table__  # type: ignore[attr-defined]
_score = Score.__table__  # type: ignore[attr-defined]

Snapshot = dict[int, list[tuple[int, str, str]]]


def snapshot(store: Store) -> Snapshot:
    """Every digest as (microseconds, kind, attributes text) per event, shape ids resolved."""
    with store.read() as conn:
        shapes = {r.id: (r.kind, r.attributes) for r in conn.execute(sa.select(_shape))}
        out: Snapshot = {}
        for row in conn.execute(sa.select(_digest)):
            times = np.frombuffer(row.occurred_us, "<i8").tolist()
            ids = np.frombuffer(row.shape_ids, "<i4").tolist()
            assert row.event_count == len(times) == len(ids)
            out[row.contact_id] = [(t, *shapes[i]) for t, i in zip(times, ids, strict=True)]
    return out


def rebuilt(store: Store) -> Snapshot:
    """The digests as a rebuild of every contact from its event rows makes them."""
    with store.write() as conn:
        everyone = conn.execute(sa.select(_contact.c.id)).scalars().all()
        conn.execute(sa.delete(_digest))
        digests.rebuild(conn, everyone)
    return snapshot(store)


def pulled(mautic_id: int, n: int, kind: str = "page.hit", **attrs: Any) -> PulledEvent:
    return PulledEvent(
        "page_hits", f"{mautic_id}-{n}", mautic_id, kind, NOW - timedelta(hours=n), attrs
    )


def pull(store: Store, *events: PulledEvent) -> int:
    with store.write() as conn:
        return store_events(conn, events, NOW)


def local_id(store: Store, mautic_id: int) -> int:
    with store.read() as conn:
        found = conn.execute(sa.select(_contact.c.id).where(_contact.c.mautic_id == mautic_id))
        return int(found.scalar_one())


def test_pulled_events_are_appended_once_and_equal_a_rebuild(store: Store) -> None:
    pricing = {"url": "https://example.com/pricing", "page_id": 3}
    assert pull(store, pulled(1, 1, **pricing), pulled(1, 2, url="https://example.com/")) == 2
    assert pull(store, pulled(1, 2, url="https://example.com/"), pulled(2, 3, **pricing)) == 1

    first, second = local_id(store, 1), local_id(store, 2)
    current = snapshot(store)
    assert [(kind, text) for _, kind, text in current[first]] == [
        ("page.hit", '{"page_id":3,"url":"https://example.com/pricing"}'),
        ("page.hit", '{"url":"https://example.com/"}'),
    ]
    assert current[second][0][0] == current[first][0][0] - 2 * 3_600_000_000
    assert current[second][0][1:] == current[first][0][1:], "equal attributes share a shape"
    assert rebuilt(store) == current


def test_a_manual_adjustment_is_appended(store: Store) -> None:
    pull(store, pulled(5, 1, url="https://example.com/"))
    adjust(store, "5", 7, "met at the fair", None, now=NOW)
    assert [kind for _, kind, _ in snapshot(store)[local_id(store, 5)]] == ["page.hit", "manual"]
    assert rebuilt(store) == snapshot(store)


@dataclass
class DealsOnly:
    """A CRM adapter that answers with the deals the test put in, and nothing else."""

    deals: list[ClosedDeal] = field(default_factory=list)
    name: str = "fakecrm"

    def owners(self) -> list[Owner]:
        return []

    def contacts_changed_since(self, since: datetime | None) -> Iterator[Page[Any]]:
        return iter(())

    def closed_deals_since(self, since: datetime | None) -> Iterator[Page[ClosedDeal]]:
        if self.deals:
            yield Page(tuple(self.deals), max(d.updated_at for d in self.deals))


def test_deal_events_are_appended_and_rebuilt_when_updated_in_place(store: Store) -> None:
    def run(won: bool, at: datetime) -> None:
        deal = ClosedDeal("d1", won, 500.0, at, ("c9",), at)
        crm = DealsOnly([deal])
        pull_crm(store, crm, FrozenClock(at), kind="fakecrm", overlap=timedelta(minutes=5))  # type: ignore[arg-type]

    run(False, NOW - timedelta(days=2))
    (only,) = snapshot(store).values()
    assert [kind for _, kind, _ in only] == ["crm.deal.lost"]

    run(True, NOW - timedelta(days=1))
    (only,) = snapshot(store).values()
    assert [kind for _, kind, _ in only] == ["crm.deal.won"]
    assert rebuilt(store) == snapshot(store)


def test_fold_moves_the_crm_only_rows_digest_to_the_survivor(store: Store) -> None:
    pull(store, pulled(7, 1, url="https://example.com/pricing"))
    survivor = local_id(store, 7)
    with store.write() as conn:
        crm_only = int(
            conn.execute(
                sa.insert(_contact)
                .values(crm_kind="fakecrm", crm_id="501", fields={}, crm_fields={})
                .returning(_contact.c.id)
            ).scalar_one()
        )
        conn.execute(
            sa.insert(_event).values(
                source="fakecrm",
                stream="deals",
                external_id="9:501",
                contact_id=crm_only,
                kind="crm.deal.won",
                occurred_at=NOW - timedelta(days=3),
                attributes={"deal_id": "9"},
            )
        )
        digests.rebuild(conn, [crm_only])
    with store.write() as conn:
        fold(conn, survivor=survivor, crm_only=crm_only, now=NOW)

    current = snapshot(store)
    assert list(current) == [survivor]
    assert sorted(kind for _, kind, _ in current[survivor]) == ["crm.deal.won", "page.hit"]
    assert rebuilt(store) == current


@settings(max_examples=15, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.integers(1, 3),
            st.integers(0, 400),
            st.sampled_from(["page.hit", "email.open"]),
            st.sampled_from([{}, {"url": "a"}, {"url": "a", "n": 1}, {"n": 1, "url": "a"}]),
        ),
        max_size=30,
    ),
    st.integers(1, 10),
)
def test_appending_in_any_batches_equals_a_rebuild(
    events: list[tuple[int, int, str, dict[str, Any]]], batch: int
) -> None:
    with tempfile.TemporaryDirectory() as tmp, open_store(f"sqlite:///{tmp}/s.db") as store:
        rows = [
            PulledEvent("s", str(n), who, kind, NOW - timedelta(minutes=ago), attrs)
            for n, (who, ago, kind, attrs) in enumerate(events)
        ]
        for start in range(0, len(rows), batch):
            pull(store, *rows[start : start + batch])
        current = snapshot(store)
        assert sum(map(len, current.values())) == len(events)
        assert rebuilt(store) == current


@pytest.fixture
def rules() -> Any:
    return compile_rules(load_rules(RULES_FILE))


def varied_contacts(store: Store) -> list[int]:
    """A few contacts with events that touch caps, decay, opens, forms and Mautic points."""
    pricing, blog = "https://example.com/pricing", "https://example.com/blog/x"
    events = []
    for who in range(1, 6):
        for n in range(who * 4):
            url = pricing if n % 3 == 0 else blog
            events.append(pulled(who, n * 7 + who, url=url))
        events.append(pulled(who, 500 + who, "form.submit", form_id=who))
        events.append(pulled(who, 600 + who, "email.open", email_id=1))
        events.append(pulled(who, 700 + who, "mautic.points", delta=5 * who, group=None))
    pull(store, *events)
    return [local_id(store, who) for who in range(1, 6)]


def stored_scores(store: Store) -> dict[tuple[int, str], tuple[int, str | None]]:
    with store.read() as conn:
        return {
            (r.contact_id, r.group_key): (r.value, r.band) for r in conn.execute(sa.select(_score))
        }


def test_a_rescore_from_digests_equals_the_pure_engine_over_event_rows(
    store: Store, rules: Any
) -> None:
    ids = varied_contacts(store)
    adjust(store, "2", -4, "bounced twice", None, now=NOW - timedelta(days=1))
    rescore(store, rules, NOW, all=True)
    assert_engine_agrees(store, rules, ids)


def assert_engine_agrees(store: Store, rules: Any, ids: list[int]) -> None:
    """The saved scores are the pure engine's over the event rows (from the saved state)."""
    with store.read() as conn:
        inputs = load_engine_inputs(conn, ids)
    saved = stored_scores(store)
    for cid in ids:
        one = inputs[cid]
        result = score(one.events, one.facts, rules, NOW, one.prior, with_ledger=False)
        assert saved[(cid, "total")] == (result.total_value, result.band)
        for group, value in result.group_values.items():
            assert saved[(cid, group)][0] == value


def test_events_written_around_the_digests_are_picked_up_and_an_old_store_migrates(
    store: Store, rules: Any
) -> None:
    ids = varied_contacts(store)
    rescore(store, rules, NOW, all=True)
    before = stored_scores(store)
    with store.write() as conn:
        conn.execute(
            sa.insert(_event).values(
                source="mautic",
                stream="form_submissions",
                external_id="bypass",
                contact_id=ids[0],
                kind="form.submit",
                occurred_at=NOW - timedelta(hours=1),
                attributes={"form_id": 3},
            )
        )
        conn.execute(sa.update(_contact).where(_contact.c.id == ids[0]).values(rescore_needed=True))
    assert rescore(store, rules, NOW).contacts == 1
    assert stored_scores(store)[(ids[0], "total")] != before[(ids[0], "total")]
    assert_engine_agrees(store, rules, ids)
    assert rebuilt(store) == snapshot(store)

    after = stored_scores(store)
    with store.write() as conn:
        conn.execute(sa.delete(_digest))
    rescore(store, rules, NOW, all=True)
    assert stored_scores(store) == after
    assert rebuilt(store) == snapshot(store)
