"""Write-back at the scale of a real Mautic (issue 11), over real sockets on a small world:
stage moves in batches, point groups only where Mautic differs, group scores as fields, the
projections, and the idle cycle right after a write-back."""

from __future__ import annotations

import math
from collections import Counter

import pytest

from .conftest import Bridge
from .test_writeback import store_state

pytestmark = pytest.mark.slow


def test_stage_moves_go_through_the_batch_contact_edit_and_mautic_logs_them(
    bridge: Bridge,
) -> None:
    mautic = bridge.world.sandbox.mautic.state
    with bridge.world.sandbox.servers["mautic"].lock:
        before = {cid: c.publish.date_modified or "" for cid, c in mautic.contacts.items()}
    bridge.sync()
    state = store_state(bridge)
    moved = {
        c.mautic_id: c.stage.upper()
        for c in state["contacts"].values()
        if c.stage in ("mql", "sql") and c.mautic_id is not None
    }
    stage_ops = [op for op in state["ops"] if op.op == "mautic.stage"]
    assert moved
    assert {op.status for op in stage_ops} == {"done"}
    routes = bridge.counts()["mautic"]
    assert not [r for r in routes if r.startswith("POST /api/stages/")]  # no call per contact
    fields_ops = sum(1 for op in state["ops"] if op.op == "mautic.fields")
    assert routes["PATCH /api/contacts/batch/edit"] <= (
        math.ceil(len(stage_ops) / 200) + math.ceil(fields_ops / 200) + 2  # + tag batches
    )
    with bridge.world.sandbox.servers["mautic"].lock:
        names = {s.id: s.name for s in mautic.stages.values()}
        for mautic_id, stage in moved.items():
            contact = mautic.contacts[mautic_id]
            assert names[contact.stage_id or 0] == stage
            assert (contact.publish.date_modified or "") > before[mautic_id]  # bumped
        logged = Counter(
            row["lead_id"]
            for row in mautic.table("lead_stages_change_log").rows
            if row["action_name"] == "Stage changed"
        )
    assert set(moved) <= set(logged)
