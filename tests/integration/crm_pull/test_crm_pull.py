"""The CRM pull against the sandbox over real sockets: links match the seeded world, deals become
events, a re-pull changes nothing, and e-mail changes never duplicate anyone (DESIGN §4)."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import sqlalchemy as sa

from scorebridge.store import cursors, deadletter
from scorebridge.store.tables import Contact, Event
from scorebridge.sync.crm_pull import CrmPullReport, stored_owners

from .conftest import KIND, CrmWorld, start_crm_world

pytestmark = pytest.mark.slow


@pytest.fixture(scope="module")
def pulled(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[CrmWorld, CrmPullReport]]:
    """One world, pulled once from Mautic and once from the CRM."""
    world = start_crm_world(
        tmp_path_factory.mktemp("crm-pull"), contacts=300, days=20, seed_number=3
    )
    world.pull_mautic()
    report = world.pull_crm()
    yield world, report
    world.world.sandbox.stop()


def test_links_match_the_world(pulled: tuple[CrmWorld, CrmPullReport]) -> None:
    world, report = pulled
    hubspot, mautic = world.hubspot_ids_by_email(), world.mautic_ids_by_email()
    rows = world.local_contacts()
    by_mautic = {r.mautic_id: r for r in rows if r.mautic_id is not None}
    by_crm = {r.crm_id: r for r in rows if r.crm_id is not None}
    persons = world.seeded.persons
    same_email = [p for p in persons if p.in_mautic and p.in_crm and p.crm_email is None]
    other_email = [p for p in persons if p.in_mautic and p.in_crm and p.crm_email is not None]
    crm_only = [p for p in persons if p.in_crm and not p.in_mautic]
    assert same_email
    assert other_email, "seed 3 has persons whose CRM e-mail differs"
    assert crm_only

    for person in same_email:
        email = person.email.lower()
        assert by_mautic[mautic[email]].crm_id == hubspot[email], person.email
    for person in other_email:
        mautic_row = by_mautic[mautic[person.email.lower()]]
        crm_row = by_crm[hubspot[str(person.crm_email).lower()]]
        assert mautic_row.crm_id is None, "a different CRM e-mail is not linked by e-mail"
        assert crm_row.mautic_id is None
    for person in crm_only:
        assert by_crm[hubspot[person.email.lower()]].mautic_id is None

    assert len(rows) == len(mautic) + len(hubspot) - len(same_email), "nobody is duplicated"
    assert report.streams["contacts"].linked == len(same_email)
    assert report.streams["contacts"].created == len(hubspot) - len(same_email)
    assert report.streams["contacts"].conflicts == 0
    assert not any(r.placeholder for r in rows)
    jobs = Counter(bool(r.crm_fields.get("jobtitle")) for r in by_crm.values())
    assert jobs[True] > 0, "fit fields are stored"
    assert all(r.crm_owner_id == r.crm_fields.get("owner_id") for r in by_crm.values())


def test_owners_are_kept_for_the_push(pulled: tuple[CrmWorld, CrmPullReport]) -> None:
    world, report = pulled
    runtime = world.world.runtime()
    with runtime.store.read() as conn:
        owners = stored_owners(conn, KIND)
    runtime.close()
    assert report.owners == len(world.seeded.users) == len(owners)
    assert {o.email for o in owners} == {u.email for u in world.seeded.users}


def deal_events(world: CrmWorld) -> list[Any]:
    runtime = world.world.runtime()
    event = Event.__table__  # type: ignore[attr-defined]
    with runtime.store.read() as conn:
        rows = list(conn.execute(sa.select(event).where(event.c.source == KIND)))
    runtime.close()
    return rows


def test_closed_deals_become_events(pulled: tuple[CrmWorld, CrmPullReport]) -> None:
    world, _ = pulled
    with world.world.sandbox.servers[KIND].lock:
        state = world.world.sandbox.crms[KIND].state
        truth = {
            (deal.id, contact): deal.properties["dealstage"]
            for deal in state.records["deals"].values()
            for contact in state.associated("deals", deal.id, "contacts")
        }
    events = deal_events(world)
    by_crm = {r.crm_id: r.id for r in world.local_contacts() if r.crm_id}
    assert truth
    assert len(events) == len(truth)
    for event in events:
        deal_id, crm_contact = event.external_id.split(":")
        stage = truth[(deal_id, crm_contact)]
        assert event.kind == ("crm.deal.won" if stage == "closedwon" else "crm.deal.lost")
        assert event.contact_id == by_crm[crm_contact]
        assert event.attributes["deal_id"] == deal_id
        assert event.attributes["amount"] is not None


def test_a_second_pull_reads_nothing_new(pulled: tuple[CrmWorld, CrmPullReport]) -> None:
    world, _ = pulled
    before = (world.local_contacts(), sorted(e.external_id for e in deal_events(world)))
    runtime = world.world.runtime()
    with runtime.store.write() as conn:
        conn.execute(sa.update(Contact.__table__).values(rescore_needed=False))
        cursor_before = cursors.get(conn, KIND, "contacts")
    runtime.close()

    report = world.pull_crm()

    assert report.reconciled == 0
    for stream in report.streams.values():
        assert (stream.changed, stream.linked, stream.created) == (0, 0, 0)
    after = world.local_contacts()
    assert [(r.id, r.mautic_id, r.crm_id) for r in after] == [
        (r.id, r.mautic_id, r.crm_id) for r in before[0]
    ]
    assert not any(r.rescore_needed for r in after)
    assert sorted(e.external_id for e in deal_events(world)) == before[1]
    runtime = world.world.runtime()
    with runtime.store.read() as conn:
        assert cursors.get(conn, KIND, "contacts") >= cursor_before
        assert deadletter.count_open(conn) == 0
    runtime.close()


def test_hubspot_email_change_keeps_one_contact_everywhere(crm_world: CrmWorld) -> None:
    crm_world.pull_mautic()
    crm_world.pull_crm()
    linked = next(r for r in crm_world.local_contacts() if r.mautic_id and r.crm_id)
    hubspot_before, mautic_before = (
        crm_world.hubspot_ids_by_email(),
        crm_world.mautic_ids_by_email(),
    )

    new_email = f"renamed.{linked.crm_id}@elsewhere.example"
    crm_world.hubspot_api(
        "PATCH", f"/crm/v3/objects/contacts/{linked.crm_id}", {"properties": {"email": new_email}}
    )
    crm_world.pull_mautic()
    report = crm_world.pull_crm()

    assert report.streams["contacts"].rows >= 1, "the change was read"
    rows = crm_world.local_contacts()
    mine = [r for r in rows if r.crm_id == linked.crm_id or r.mautic_id == linked.mautic_id]
    assert [(r.id, r.mautic_id, r.crm_id) for r in mine] == [
        (linked.id, linked.mautic_id, linked.crm_id)
    ]
    assert mine[0].email == linked.email, "the Mautic e-mail stays the contact's e-mail"
    hubspot_after = crm_world.hubspot_ids_by_email()
    assert len(hubspot_after) == len(hubspot_before)
    assert hubspot_after[new_email] == linked.crm_id
    assert crm_world.mautic_ids_by_email() == mautic_before
    assert not any(r.crm_id and r.email == new_email for r in rows)


def test_a_crm_only_contact_that_appears_in_mautic_is_linked(
    crm_world: CrmWorld, tmp_path: Path
) -> None:
    crm_world.pull_mautic()
    crm_world.pull_crm()
    person = next(p for p in crm_world.seeded.persons if p.in_crm and not p.in_mautic)
    crm_id = crm_world.hubspot_ids_by_email()[person.email.lower()]
    count = len(crm_world.local_contacts())

    created = crm_world.mautic_api(
        "POST", "/api/contacts/new", {"email": person.email, "firstname": person.first_name}
    )
    mautic_id = int(created["contact"]["id"])
    crm_world.pull_mautic()
    assert len(crm_world.local_contacts()) == count + 1, "Mautic alone does not know the CRM"
    report = crm_world.pull_crm()

    assert report.reconciled == 1
    rows = crm_world.local_contacts()
    assert len(rows) == count
    [row] = [r for r in rows if r.crm_id == crm_id]
    assert row.mautic_id == mautic_id
