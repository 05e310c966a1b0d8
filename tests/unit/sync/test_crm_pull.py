"""The CRM pull over a scripted adapter: cursors (overlap, never past the cycle start, never
backwards), fit fields and echo suppression, owners, and deal events updated in place."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from scorebridge.clock import FrozenClock
from scorebridge.crm.base import ClosedDeal, CrmContact, Owner, Page
from scorebridge.store import Store, cursors, open_store
from scorebridge.store.tables import Contact, Event
from scorebridge.sync.crm_pull import owner_ids_by_email, pull_crm

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
KIND = "fakecrm"
OVERLAP = timedelta(minutes=5)
_contact = Contact.__table__  # type: ignore[attr-defined]
_event = Event.__table__  # type: ignore[attr-defined]


@dataclass
class ScriptedCrm:
    """Answers with whatever the test put in; remembers the ``since`` it was asked for."""

    contacts: list[CrmContact] = field(default_factory=list)
    deals: list[ClosedDeal] = field(default_factory=list)
    owner_list: list[Owner] = field(default_factory=list)
    asked: list[tuple[str, datetime | None]] = field(default_factory=list)
    name: str = KIND

    def owners(self) -> list[Owner]:
        return list(self.owner_list)

    def contacts_changed_since(self, since: datetime | None) -> Iterator[Page[CrmContact]]:
        self.asked.append(("contacts", since))
        for item in self.contacts:
            yield Page((item,), item.updated_at)

    def closed_deals_since(self, since: datetime | None) -> Iterator[Page[ClosedDeal]]:
        self.asked.append(("deals", since))
        if self.deals:
            yield Page(tuple(self.deals), max(d.updated_at for d in self.deals))


def contact(crm_id: str, at: datetime, **props: str) -> CrmContact:
    return CrmContact(crm_id, f"p{crm_id}@example.com", props, "7", "lead", at)


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(f"sqlite:///{tmp_path / 'sb.db'}") as opened:
        yield opened


def run(store: Store, crm: ScriptedCrm, at: datetime = NOW, **kw: Any) -> Any:
    return pull_crm(store, crm, FrozenClock(at), kind=KIND, overlap=OVERLAP, **kw)  # type: ignore[arg-type]


def row(store: Store, crm_id: str) -> Any:
    with store.read() as conn:
        return conn.execute(sa.select(_contact).where(_contact.c.crm_id == crm_id)).one()


def clear_flags(store: Store) -> None:
    with store.write() as conn:
        conn.execute(sa.update(_contact).values(rescore_needed=False))


def test_cursor_overlaps_and_never_passes_the_cycle_start(store: Store) -> None:
    crm = ScriptedCrm(
        [contact("1", NOW - timedelta(hours=1)), contact("2", NOW + timedelta(hours=2))]
    )
    run(store, crm)
    with store.read() as conn:
        assert cursors.get(conn, KIND, "contacts") == f'{{"since": "{NOW.isoformat()}"}}'

    crm.contacts = [contact("1", NOW - timedelta(hours=1))]
    run(store, crm, NOW + timedelta(hours=1))
    assert crm.asked[-2] == ("contacts", NOW - OVERLAP)
    with store.read() as conn:
        assert NOW.isoformat() in cursors.get(conn, KIND, "contacts"), "never moves backwards"


def test_only_what_scoring_reads_marks_a_contact_for_rescoring(store: Store) -> None:
    crm = ScriptedCrm([contact("1", NOW, jobtitle="CEO", scorebridge_score="10")])
    report = run(store, crm, ignore_properties={"scorebridge_score"})
    assert report.streams["contacts"].created == 1
    first = row(store, "1")
    assert first.crm_fields == {"jobtitle": "CEO", "lifecycle": "lead", "owner_id": "7"}
    assert first.crm_owner_id == "7"
    clear_flags(store)

    crm.contacts = [contact("1", NOW, jobtitle="CEO", scorebridge_score="55")]
    report = run(store, crm, ignore_properties={"scorebridge_score"})
    assert report.streams["contacts"].changed == 0
    assert not row(store, "1").rescore_needed, "our own score write is not a change"

    crm.contacts = [replace(contact("1", NOW, jobtitle="CTO"), owner_id="8")]
    report = run(store, crm, ignore_properties={"scorebridge_score"})
    assert report.streams["contacts"].changed == 1
    changed = row(store, "1")
    assert (changed.rescore_needed, changed.crm_owner_id) == (True, "8")
    assert changed.crm_fields["jobtitle"] == "CTO"


def test_owners_are_stored_for_the_push(store: Store) -> None:
    crm = ScriptedCrm(
        owner_list=[
            Owner("8", "Rep@Example.com", "Rep", True),
            Owner("9", "gone@example.com", "Gone", False),
        ]
    )
    assert run(store, crm).owners == 2
    with store.read() as conn:
        assert owner_ids_by_email(conn, KIND) == {"rep@example.com": "8"}


def test_deal_outcomes_become_events_updated_in_place(store: Store) -> None:
    deal = ClosedDeal("d1", True, 1200.0, NOW - timedelta(days=1), ("1", "2"), NOW)
    crm = ScriptedCrm([contact("1", NOW)], [deal])
    report = run(store, crm)
    assert report.streams["deals"].changed == 2
    with store.read() as conn:
        events = conn.execute(sa.select(_event).order_by(_event.c.external_id)).all()
    assert [(e.external_id, e.kind, e.source) for e in events] == [
        ("d1:1", "crm.deal.won", KIND),
        ("d1:2", "crm.deal.won", KIND),
    ]
    assert events[0].attributes == {"deal_id": "d1", "amount": 1200.0, "crm_contact_id": "1"}
    assert row(store, "2").placeholder, "a contact known only from a deal waits for its record"
    clear_flags(store)

    assert run(store, crm).streams["deals"].changed == 0
    crm.deals = [replace(deal, won=False, updated_at=NOW + timedelta(minutes=1))]
    assert run(store, crm, NOW + timedelta(minutes=2)).streams["deals"].changed == 2
    with store.read() as conn:
        kinds = conn.execute(sa.select(_event.c.kind)).scalars().all()
    assert kinds == ["crm.deal.lost", "crm.deal.lost"]
    assert row(store, "1").rescore_needed


def test_should_stop_ends_after_a_committed_page(store: Store) -> None:
    crm = ScriptedCrm(
        [contact("1", NOW - timedelta(hours=2)), contact("2", NOW - timedelta(hours=1))]
    )
    report = run(store, crm, should_stop=lambda: True)
    assert report.streams["contacts"].pages == 1
    assert "deals" not in report.streams
    with store.read() as conn:
        assert (NOW - timedelta(hours=2)).isoformat() in cursors.get(conn, KIND, "contacts")


def test_a_cursor_in_the_future_is_clamped_so_changes_are_read_again(store: Store) -> None:
    crm = ScriptedCrm([contact("1", NOW - timedelta(hours=1))])
    run(store, crm)
    restored = NOW + timedelta(days=365)  # a store restored from a machine a year ahead
    with store.write() as conn:
        cursors.set(conn, KIND, "contacts", f'{{"since": "{restored.isoformat()}"}}', NOW)
    crm.contacts = [contact("2", NOW + timedelta(minutes=30))]
    report = run(store, crm, NOW + timedelta(hours=1))
    assert crm.asked[-2] == ("contacts", NOW - OVERLAP), "read from when the cursor was written"
    assert report.streams["contacts"].created == 1
    with store.read() as conn:
        assert cursors.get(conn, KIND, "contacts") == (
            f'{{"since": "{(NOW + timedelta(minutes=30)).isoformat()}"}}'
        )


def test_with_a_lag_the_next_read_starts_where_this_one_ended_but_not_too_recently(
    store: Store,
) -> None:
    lag = timedelta(seconds=30)
    crm = ScriptedCrm([contact("1", NOW - timedelta(hours=1)), contact("2", NOW - lag / 3)])
    run(store, crm, lag=lag)
    run(store, crm, at=NOW + timedelta(minutes=5), lag=lag)
    # no overlap window: the second read starts at the cursor, which stopped `lag` before the
    # first pull (contact 2 changed after that and may not have been searchable yet)
    assert crm.asked[2] == ("contacts", NOW - lag)
    crm.contacts = [contact("2", NOW - lag / 3)]
    run(store, crm, at=NOW + timedelta(minutes=10), lag=lag)
    assert crm.asked[4] == ("contacts", NOW - lag / 3)
