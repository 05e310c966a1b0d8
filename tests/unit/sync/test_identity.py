"""Identity rules (DESIGN §4): stored ids link, e-mail makes the first link only, CRM-only rows
fold into Mautic contacts instead of duplicating them, conflicts are dead-lettered."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from scorebridge.mautic.schemas import MauticContact
from scorebridge.store import Store, deadletter, open_store
from scorebridge.store.tables import Contact, Event, Score, TriggerState, Written
from scorebridge.sync.identity import (
    CrmRecordRef,
    link_crm_id,
    local_ids_for,
    reconcile,
    resolve_crm_records,
)
from scorebridge.sync.pull import upsert_contacts

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
KIND = "hubspot"
_contact = Contact.__table__  # type: ignore[attr-defined]


@pytest.fixture
def store(tmp_path: Path) -> Iterator[Store]:
    with open_store(f"sqlite:///{tmp_path / 'sb.db'}") as opened:
        yield opened


def mautic(store: Store, mautic_id: int, email: str) -> int:
    """Store a Mautic contact the way the Mautic pull does; returns its local id."""
    with store.write() as conn:
        contact = MauticContact(id=mautic_id, points=0, fields={"email": email})
        upsert_contacts(conn, [contact], NOW, frozenset())
        return int(
            conn.execute(
                sa.select(_contact.c.id).where(_contact.c.mautic_id == mautic_id)
            ).scalar_one()
        )


def crm(store: Store, *records: tuple[str, str | None]) -> dict[str, int]:
    with store.write() as conn:
        refs = [CrmRecordRef(crm_id, email) for crm_id, email in records]
        return resolve_crm_records(conn, KIND, refs, NOW).local_ids


def rows(store: Store) -> list[Any]:
    with store.read() as conn:
        return list(
            conn.execute(
                sa.select(
                    _contact.c.id, _contact.c.mautic_id, _contact.c.crm_id, _contact.c.email
                ).order_by(_contact.c.id)
            )
        )


def dead(store: Store) -> list[deadletter.DeadLetterEntry]:
    with store.read() as conn:
        return deadletter.list_entries(conn, kind="record", source=f"{KIND}.contacts")


def test_first_link_is_made_by_normalized_email(store: Store) -> None:
    local = mautic(store, 7, "Ann@Example.com ")
    assert crm(store, ("501", "ann@example.com")) == {"501": local}
    assert [(r.mautic_id, r.crm_id) for r in rows(store)] == [(7, "501")]


def test_crm_email_change_keeps_the_one_link(store: Store) -> None:
    local = mautic(store, 7, "ann@example.com")
    crm(store, ("501", "ann@example.com"))
    mautic(store, 8, "ann.new@example.com")  # someone else already has the new address

    assert crm(store, ("501", "ann.new@example.com")) == {"501": local}
    assert [(r.mautic_id, r.crm_id) for r in rows(store)] == [(7, "501"), (8, None)]
    assert rows(store)[0].email == "ann@example.com", "Mautic owns a Mautic contact's email"


def test_mautic_email_change_keeps_the_one_link(store: Store) -> None:
    local = mautic(store, 7, "ann@example.com")
    crm(store, ("501", "ann@example.com"))
    mautic(store, 7, "ann@elsewhere.example")

    assert crm(store, ("501", "ann@example.com")) == {"501": local}
    assert [(r.mautic_id, r.crm_id) for r in rows(store)] == [(7, "501")]


def test_crm_only_record_is_linked_when_it_appears_in_mautic(store: Store) -> None:
    crm_only = crm(store, ("501", "bob@example.com"))["501"]
    with store.write() as conn:
        conn.execute(
            sa.insert(Event.__table__).values(  # type: ignore[attr-defined]
                source=KIND,
                stream="deals",
                external_id="9:501",
                contact_id=crm_only,
                kind="crm.deal.won",
                occurred_at=NOW,
                attributes={},
            )
        )
        conn.execute(
            sa.update(_contact)
            .where(_contact.c.id == crm_only)
            .values(crm_fields={"jobtitle": "CEO"}, crm_owner_id="61000001")
        )
    local = mautic(store, 7, "Bob@example.com")
    assert len(rows(store)) == 2, "the Mautic pull alone does not know about the CRM"

    with store.write() as conn:
        assert reconcile(conn, KIND, NOW) == {crm_only: local}
    with store.read() as conn:
        row = conn.execute(sa.select(_contact).where(_contact.c.id == local)).one()
        events = conn.execute(sa.select(Event.__table__.c.contact_id)).scalars().all()  # type: ignore[attr-defined]
    assert (row.mautic_id, row.crm_id, row.crm_fields, row.crm_owner_id) == (
        7,
        "501",
        {"jobtitle": "CEO"},
        "61000001",
    )
    assert row.rescore_needed
    assert events == [local], "the CRM-only row's events move to the Mautic contact"
    assert len(rows(store)) == 1
    assert crm(store, ("501", "bob@example.com")) == {"501": local}


def test_crm_email_corrected_to_match_mautic_links_the_crm_only_row(store: Store) -> None:
    local = mautic(store, 7, "carol@example.com")
    crm(store, ("501", "carol@old-company.example"))
    assert len(rows(store)) == 2

    assert crm(store, ("501", "carol@example.com")) == {"501": local}
    assert [(r.mautic_id, r.crm_id) for r in rows(store)] == [(7, "501")]


def test_crm_only_row_follows_the_crm_email(store: Store) -> None:
    crm(store, ("501", "dan@example.com"))
    crm(store, ("501", "dan@new.example"))
    local = mautic(store, 7, "dan@new.example")
    with store.write() as conn:
        reconcile(conn, KIND, NOW)
    assert [(r.id, r.mautic_id, r.crm_id) for r in rows(store)] == [(local, 7, "501")]


def test_email_shared_by_two_mautic_contacts_links_the_lowest_and_reports(store: Store) -> None:
    mautic(store, 20, "team@example.com")
    low = mautic(store, 10, "team@example.com")
    assert crm(store, ("501", "team@example.com")) == {"501": low}
    assert {r.mautic_id: r.crm_id for r in rows(store)} == {20: None, 10: "501"}
    [entry] = dead(store)
    assert entry.record_id == "501"
    assert "mautic ids 10, 20" in entry.reason


def test_two_crm_records_with_one_email_link_once_and_report(store: Store) -> None:
    local = mautic(store, 7, "eve@example.com")
    ids = crm(store, ("501", "eve@example.com"), ("502", "eve@example.com"))
    assert ids["501"] == local
    assert ids["502"] != local, "the second record is kept apart, not merged"
    assert [e.record_id for e in dead(store)] == ["502"]


def test_link_crm_id_records_a_new_crm_contact(store: Store) -> None:
    local = mautic(store, 7, "fay@example.com")
    with store.write() as conn:
        assert link_crm_id(conn, local, KIND, "900", now=NOW) == "linked"
        assert link_crm_id(conn, local, KIND, "900", now=NOW) == "unchanged"
    assert crm(store, ("900", "fay@other.example")) == {"900": local}
    assert len(rows(store)) == 1


def test_link_crm_id_folds_the_crm_only_row_seen_first(store: Store) -> None:
    crm_only = crm(store, ("900", "gus@crm.example"))["900"]
    local = mautic(store, 7, "gus@example.com")
    with store.write() as conn:
        conn.execute(
            sa.insert(Written.__table__).values(  # type: ignore[attr-defined]
                system=KIND, contact_id=crm_only, target="score", value="40", written_at=NOW
            )
        )
        conn.execute(
            sa.insert(TriggerState.__table__).values(  # type: ignore[attr-defined]
                contact_id=crm_only, trigger_id="warm", armed=False, episode=1, fired_at=NOW
            )
        )
        conn.execute(
            sa.insert(Score.__table__).values(  # type: ignore[attr-defined]
                contact_id=crm_only, group_key="total", value=40
            )
        )
        assert link_crm_id(conn, local, KIND, "900", now=NOW) == "merged"
    with store.read() as conn:
        written = conn.execute(sa.select(Written.__table__)).all()  # type: ignore[attr-defined]
        trigger = conn.execute(sa.select(TriggerState.__table__)).one()  # type: ignore[attr-defined]
    assert [(w.contact_id, w.target) for w in written] == [(local, "score")]
    assert (trigger.contact_id, trigger.episode, trigger.armed) == (local, 1, False)
    assert [(r.id, r.crm_id) for r in rows(store)] == [(local, "900")]


def test_link_crm_id_conflicts_are_reported_not_merged(store: Store) -> None:
    first = mautic(store, 7, "hal@example.com")
    second = mautic(store, 8, "ida@example.com")
    with store.write() as conn:
        link_crm_id(conn, first, KIND, "900", now=NOW)
        assert link_crm_id(conn, second, KIND, "900", now=NOW) == "conflict"
        assert link_crm_id(conn, first, KIND, "901", now=NOW) == "conflict"
    assert {r.mautic_id: r.crm_id for r in rows(store)} == {7: "900", 8: None}
    assert sorted(e.record_id for e in dead(store)) == ["900", "901"]


def test_deal_contacts_not_seen_yet_get_a_placeholder_filled_later(store: Store) -> None:
    local = mautic(store, 7, "jo@example.com")
    with store.write() as conn:
        placeholder = local_ids_for(conn, KIND, ["501"], NOW)["501"]
    assert placeholder != local
    assert crm(store, ("501", "jo@example.com")) == {"501": local}
    assert [(r.id, r.mautic_id, r.crm_id) for r in rows(store)] == [(local, 7, "501")]
