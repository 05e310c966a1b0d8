"""The whole write-back path with Pipedrive and with Salesforce over real sockets: pull (persons /
Leads and Contacts, owners, closed deals), scores into the CRM's fields, tasks, deals, identity
across an e-mail change, and a spent daily budget that pauses only the CRM.

The adapter is built from the ``[crm]`` table that ``sandbox --write-config`` wrote, as the
daemon builds it.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from pull.conftest import start_world

from scorebridge import demo_probe
from scorebridge.crm import CrmAdapter, CrmContact
from scorebridge.store.tables import Contact, Event, Outbox, Score
from scorebridge.sync.crm_writer import CrmWriter
from scorebridge.sync.push import push

from .conftest import Bridge, notify_existing

KINDS = ("pipedrive", "salesforce")
#: Limits so high that a test never waits on them.
UNLIMITED = {
    "pipedrive": {
        "burst_api_token": 100_000,
        "daily_token_budget": 100_000_000,
        "daily_post_put": 1_000_000,
    },
    "salesforce": {"daily_api_requests": 10_000_000},
}
#: Limits spent after a few requests.
SPENT = {"pipedrive": {"daily_token_budget": 1}, "salesforce": {"daily_api_requests": 1}}


def _settings(bridge: Bridge, values: dict[str, Any]) -> None:
    kind = bridge.settings.crm.kind
    url = bridge.world.info[kind]["url"]
    requests.post(f"{url}/_sandbox/settings", json=values, timeout=10).raise_for_status()


@pytest.fixture(params=KINDS)
def kind_bridge(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[Bridge]:
    """120 contacts x 20 days with one CRM (the config names it), its limits raised."""
    world = start_world(tmp_path, contacts=120, days=20, seed=11, crms=(request.param,))
    notify_existing(world)
    made = Bridge(world, datetime.now(UTC))
    assert made.settings.crm.kind == request.param
    _settings(made, UNLIMITED[request.param])
    yield made
    made.runtime.close()
    world.sandbox.stop()


def _make_hot(bridge: Bridge, *, converted: bool) -> list[int]:
    """Buying behaviour for three people Salesforce holds as Contacts (converted Leads), or as
    open Leads, so the world surely has such hot leads whatever its generated day; their Mautic
    ids."""
    sandbox = bridge.world.sandbox
    with sandbox.servers["salesforce"].lock:
        emails = sorted(
            str(r["Email"]).lower()
            for r in sandbox.crms["salesforce"].org.rows("Lead")
            if bool(r["IsConverted"]) == converted and r.get("Email")
        )
    with sandbox.servers["mautic"].lock:
        by_email = {
            str(c.values.get("email") or "").lower(): c.id
            for c in sandbox.mautic.state.contacts.values()
        }
    people = [by_email[e] for e in emails if e in by_email][:3]
    assert people, f"the world has {'converted' if converted else 'open'} Leads in Mautic"
    at = (bridge.now - timedelta(hours=2)).isoformat()
    events = [
        {"contact_id": person, "at": at, **event}
        for person in people
        for event in (
            {"kind": "form.submit", "form_id": 3},
            {"kind": "form.submit", "form_id": 4},
            {"kind": "asset.download", "asset_id": 1},
        )
    ]
    mautic = bridge.world.info["mautic"]["url"]
    requests.post(f"{mautic}/_sandbox/events", json=events, timeout=10).raise_for_status()
    return people


def _adapter(bridge: Bridge) -> CrmAdapter:
    writer = bridge.writers[1]
    assert isinstance(writer, CrmWriter)
    return writer.adapter


def _crm_people(bridge: Bridge) -> dict[str, CrmContact]:
    return {c.id: c for page in _adapter(bridge).contacts_changed_since(None) for c in page.items}


def _store(bridge: Bridge) -> dict[str, Any]:
    with bridge.runtime.store.read() as conn:
        totals = {
            r.contact_id: (r.value, r.band)
            for r in conn.execute(sa.select(Score.__table__))  # type: ignore[attr-defined]
            if r.group_key == "total"
        }
        contacts = list(conn.execute(sa.select(Contact.__table__)))  # type: ignore[attr-defined]
        ops = list(conn.execute(sa.select(Outbox.__table__)))  # type: ignore[attr-defined]
        outcomes = list(
            conn.execute(
                sa.select(Event.__table__.c.kind).where(  # type: ignore[attr-defined]
                    Event.__table__.c.kind.like("crm.deal.%")  # type: ignore[attr-defined]
                )
            )
        )
    return {"totals": totals, "contacts": contacts, "ops": ops, "outcomes": outcomes}


def test_a_sync_writes_scores_tasks_and_deals_and_idle_syncs_write_nothing(
    kind_bridge: Bridge,
) -> None:
    bridge = kind_bridge
    kind = bridge.settings.crm.kind
    seeded = demo_probe.crm_counts(bridge.world.sandbox, kind)
    if kind == "salesforce":
        _make_hot(bridge, converted=True)
    _, pushed = bridge.sync()
    assert pushed.systems["crm"].outcomes["ok"] > 0
    bridge.sync(minutes=1)  # a task whose contact was created in the same claim goes now
    state = _store(bridge)
    assert state["outcomes"]  # closed deals / opportunities were pulled as outcomes
    people = _crm_people(bridge)
    linked = [c for c in state["contacts"] if c.crm_id and c.id in state["totals"]]
    assert len(linked) > 50
    for contact in linked:
        total, band = state["totals"][contact.id]
        props = people[contact.crm_id].properties
        assert (props["scorebridge_score"], props["scorebridge_band"]) == (str(total), band)
    in_crm = {c.id for c in state["contacts"] if c.crm_id}
    ops = [op for op in state["ops"] if op.contact_id in in_crm]  # others wait for their create
    tasks = [op for op in ops if op.op == "crm.task"]
    deals = [op for op in ops if op.op == "crm.deal"]
    assert tasks
    assert deals
    assert {op.status for op in tasks} == {"done"}
    now = demo_probe.crm_counts(bridge.world.sandbox, kind)
    assert now["tasks"] - seeded["tasks"] >= len(tasks)
    if kind == "pipedrive":
        assert {op.status for op in deals} == {"done"}
        assert 0 < now["deals"] - seeded["deals"] <= len(deals)
    else:  # Salesforce opens opportunities for Contacts; a Lead's waits for its conversion
        sandbox = bridge.world.sandbox
        with sandbox.servers[kind].lock:
            converted = {r["Id"] for r in sandbox.crms[kind].org.rows("Lead") if r["IsConverted"]}
        on_contacts = [
            op
            for op in deals
            if _target(state, op).startswith("003") or _target(state, op) in converted
        ]
        assert on_contacts
        assert {op.status for op in on_contacts} <= {"done"}
        for op in deals:  # a hot Lead's deal waits for its conversion, counting no failure
            if op not in on_contacts:
                assert (op.status, op.attempts) == ("pending", 0)
                assert "is not converted" in op.last_error
        assert now["deals"] - seeded["deals"] == len({op.idempotency_key for op in on_contacts})
    before = bridge.counts()
    for _ in range(2):
        plan, _ = bridge.sync(minutes=0)
        assert plan.enqueued == 0
        assert bridge.counts() == before


def _target(state: dict[str, Any], op: Any) -> str:
    return next(c.crm_id for c in state["contacts"] if c.id == op.contact_id) or ""


@pytest.mark.parametrize("kind_bridge", ["salesforce"], indirect=True)
def test_a_hot_leads_deal_waits_until_a_rep_converts_the_lead_then_opens(
    kind_bridge: Bridge,
) -> None:
    bridge = kind_bridge
    people = set(_make_hot(bridge, converted=False))
    bridge.sync()
    bridge.sync(minutes=1)
    state = _store(bridge)
    lead_of = {c.id: c.crm_id for c in state["contacts"] if c.mautic_id in people}
    waiting = [op for op in state["ops"] if op.op == "crm.deal" and op.contact_id in lead_of]
    assert waiting, "the hot open Leads fired their deal trigger"
    assert {(op.status, op.attempts) for op in waiting} == {("pending", 0)}
    org = bridge.world.sandbox.crms["salesforce"].org
    opportunities = len(list(org.rows("Opportunity")))
    bridge.sync(minutes=90)  # looked at again after an hour: still a Lead, still waiting
    assert len(list(org.rows("Opportunity"))) == opportunities
    lead = lead_of[waiting[0].contact_id]
    url = bridge.world.info["salesforce"]["url"]
    made = requests.post(f"{url}/_sandbox/leads/convert", json={"lead_id": lead}, timeout=10)
    made.raise_for_status()
    contact_id = made.json()["contact_id"]
    bridge.sync(minutes=90)  # the CRM pull sees the conversion; the deal opens on the Contact
    after = {op.id: op for op in _store(bridge)["ops"]}
    assert after[waiting[0].id].status == "done"
    roles = [r for r in org.rows("OpportunityContactRole") if r["ContactId"] == contact_id]
    assert len(roles) == 1  # one Opportunity, on the Contact the Lead became
    assert len(list(org.rows("Opportunity"))) == opportunities + 1
    assert {(after[op.id].status, after[op.id].attempts) for op in waiting[1:]} <= {("pending", 0)}


def test_an_e_mail_changed_in_mautic_moves_in_the_crm_without_a_duplicate(
    kind_bridge: Bridge,
) -> None:
    bridge = kind_bridge
    bridge.sync()
    state = _store(bridge)
    contact = next(c for c in state["contacts"] if c.crm_id and c.mautic_id)
    people_before = len(_crm_people(bridge))
    mautic = bridge.world.info["mautic"]
    new = f"moved.{contact.mautic_id}@example.org"
    requests.patch(
        f"{mautic['url']}/api/contacts/{contact.mautic_id}/edit",
        json={"email": new},
        auth=(mautic["username"], mautic["password"]),
        timeout=10,
    ).raise_for_status()
    bridge.sync()
    bridge.sync(minutes=1)
    after = _store(bridge)
    assert len(after["contacts"]) == len(state["contacts"])
    moved = next(c for c in after["contacts"] if c.id == contact.id)
    assert moved.crm_id == contact.crm_id
    people = _crm_people(bridge)
    assert len(people) == people_before
    assert people[contact.crm_id].email == new
    assert Counter(p.email for p in people.values())[new] == 1


def test_a_spent_daily_budget_pauses_the_crm_only_and_keeps_its_queue(
    kind_bridge: Bridge,
) -> None:
    bridge = kind_bridge
    kind = bridge.settings.crm.kind
    bridge.pull_and_plan()
    _settings(bridge, SPENT[kind])
    pushed = push(bridge.runtime.store, bridge.writers, bridge.now)
    crm = pushed.systems["crm"]
    assert crm.stopped == "quota exhausted"
    assert crm.paused_until is not None
    assert crm.paused_until > bridge.now
    ops = _store(bridge)["ops"]
    assert {op.status for op in ops if op.system == "crm"} == {"pending"}
    assert {op.status for op in ops if op.system == "mautic"} == {"done"}
    assert pushed.systems["mautic"].outcomes["ok"] > 0
