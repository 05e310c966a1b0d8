"""The soak (issue 15 item 5): many cycles of new behaviour under random faults and random
kills on a large world, ending in exactly the remote state of a run that never failed.

Two identical worlds (same seed, same generated instant) receive the same batches of new
behaviour. The clean world runs one plain ``scorebridge sync`` per batch. The soaked world runs
several cycles per batch, each under a randomly drawn fault (5xx storms, 429 bursts, timeouts
after the write was applied, connection resets, failing batch items, on Mautic or HubSpot) or
killed at a random crash point (like kill -9), then one settling cycle without faults, so that
both worlds score every batch on its own: the triggers cross at the same values and the task
texts agree. New behaviour only adds points and comes after everything before it, so no score
ever falls and no trigger re-arms, whatever the batching. At the end the soaked world converges,
and both remote states must be equal (no duplicate contact, note, task or deal; nothing lost),
with every event of Mautic's read-only streams stored once.

The size is set by the environment: ``SCOREBRIDGE_SOAK_CONTACTS`` (default 600),
``SCOREBRIDGE_SOAK_BATCHES`` (12) and ``SCOREBRIDGE_SOAK_CYCLES_PER_BATCH`` (3, plus the settling
cycle: 48 cycles by default, a few minutes in CI). The long soak is
``SCOREBRIDGE_SOAK_CONTACTS=2000 SCOREBRIDGE_SOAK_BATCHES=40 SCOREBRIDGE_SOAK_CYCLES_PER_BATCH=4``
(200 cycles). The figures are printed and written to ``soak.json`` in the
test's directory.
"""

from __future__ import annotations

import json
import os
import random
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

from conftest import (
    WORLD_NOW,
    Chaos,
    assert_every_event_pulled,
    assert_same_remote_state,
    check_store,
    new_chaos,
    remote_state,
)
from scorebridge.sandbox.world import PAGES

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(3600)]

CONTACTS = int(os.environ.get("SCOREBRIDGE_SOAK_CONTACTS", "600"))
BATCHES = int(os.environ.get("SCOREBRIDGE_SOAK_BATCHES", "12"))
CYCLES_PER_BATCH = int(os.environ.get("SCOREBRIDGE_SOAK_CYCLES_PER_BATCH", "3"))
EVENTS_PER_BATCH = 60
CRASH_POINTS = (
    "pull.inside_page_transaction",
    "pull.after_page_commit",
    "crm_pull.inside_page_transaction",
    "crm_pull.after_page_commit",
    "rescore.inside_transaction",
    "push.after_remote_write",
)
#: Positive behaviour only: buying and interest signals (no unsubscribes, no careers pages).
BEHAVIOUR: tuple[tuple[str, dict[str, Any]], ...] = (
    *(("page.hit", {"url": PAGES[k]}) for k in ("pricing", "product_a", "product_b", "home")),
    *(("form.submit", {"form_id": f}) for f in (2, 3, 4, 5, 6)),
    *(("asset.download", {"asset_id": a}) for a in (1, 2, 3, 4, 5)),
)


def fault(rng: random.Random) -> tuple[str, dict[str, Any]] | None:
    """One random fault for one cycle: (system, knobs), or None for a clean cycle."""
    system = rng.choice(("mautic", "hubspot"))
    seed = rng.randrange(1 << 30)
    choices: list[dict[str, Any] | None] = [
        None,
        {"error_ratio": 0.3, "error_status": 503},
        {"error_ratio": 0.2, "error_status": 500, "error_after_apply": True},
        # HubSpot's 429 names no delay, so each costs the client HubSpot's 10 s: short bursts
        {"rate_limit_burst": rng.randint(2, 4), "rate_limit_retry_after": 0.2},
        {"timeout_ratio": 0.1, "timeout_seconds": 2.0, "timeout_after_apply": True},
        {"reset_ratio": 0.15},
        {"batch_item_failure_ratio": 0.3},
    ]
    knobs = rng.choice(choices)
    return None if knobs is None else (system, {**knobs, "seed": seed})


def batch_events(rng: random.Random, batch: int, mautic_ids: list[int]) -> list[dict[str, Any]]:
    """Behaviour of one batch, all of it later than every earlier batch's (and before the
    instant every run scores at)."""
    start = WORLD_NOW - timedelta(minutes=10 * (BATCHES - batch) + 5)
    events = []
    for n in range(EVENTS_PER_BATCH):
        kind, attrs = rng.choice(BEHAVIOUR)
        at = start + timedelta(seconds=5 * n)
        events.append({"contact_id": rng.choice(mautic_ids), "kind": kind, "at": at.isoformat(),
                       **attrs})  # fmt: skip
    return events


def record(chaos: Chaos, events: list[dict[str, Any]]) -> None:
    requests.post(
        f"{chaos.url('mautic')}/_sandbox/events", json={"events": events}, timeout=30
    ).raise_for_status()


def mautic_ids(chaos: Chaos) -> list[int]:
    with chaos.world.sandbox.servers["mautic"].lock:
        return sorted(chaos.mautic.state.contacts)


def world_in(root: Path) -> Chaos:
    """A world whose cycles follow each other closely: HubSpot's search lags 2 s behind its
    writes (instead of the suite's 5 s) and the pull's commit lag is 3 s (instead of 10 s), so a
    cycle right after a write-back waits 3 s for its echoes to settle, not 10 s."""
    root.mkdir()
    made = new_chaos(root, contacts=CONTACTS)
    made.limits(search_lag_ms=2_000)
    made.append_config('[pull]\ncommit_lag = "3s"')
    return made


def clean_run(root: Path, batches: list[list[dict[str, Any]]]) -> dict[str, Any]:
    clean = world_in(root)
    try:
        clean.sync()
        for events in batches:
            record(clean, events)
            clean.sync()
        clean.converge()
        check_store(clean)
        return remote_state(clean)
    finally:
        clean.close()


def test_a_long_run_of_faults_and_kills_ends_equal_to_a_clean_run(tmp_path: Path) -> None:
    rng = random.Random(15)
    soaked = world_in(tmp_path / "soak")
    figures = {"contacts": CONTACTS, "cycles": 0, "kills": 0, "faulted_cycles": 0,
               "faults_injected": 0}  # fmt: skip
    try:
        soaked.sync()
        figures["cycles"] += 1
        ids = mautic_ids(soaked)
        batches = [batch_events(rng, k, ids) for k in range(BATCHES)]
        for events in batches:
            record(soaked, events)
            for n in range(CYCLES_PER_BATCH):
                soaked.backoff_elapsed()
                if n == 0 or rng.random() < 0.15:
                    # a kill in every batch at least; the first hit of a pull's page commit
                    # always comes (the contacts stream reads a page every cycle)
                    point = "pull.after_page_commit:1" if n == 0 else rng.choice(CRASH_POINTS)
                    point += "" if n == 0 else f":{rng.randint(1, 2)}"
                    result = soaked.sync(point, check=False)
                    figures["kills"] += result.code == 137
                else:
                    drawn = fault(rng)
                    if drawn is not None:
                        soaked.faults(drawn[0], **drawn[1])
                        figures["faulted_cycles"] += 1
                    soaked.sync(check=False)
                    if drawn is not None:
                        server = soaked.world.sandbox.servers[drawn[0]]
                        figures["faults_injected"] += server.faults_injected()
                        soaked.faults(drawn[0])
                figures["cycles"] += 1
            soaked.backoff_elapsed()
            soaked.sync(check=False)  # settle: this batch is scored on its own, as in the clean run
            figures["cycles"] += 1
        soaked.converge(most=8)
        figures["cycles"] += 1
        check_store(soaked)
        assert_every_event_pulled(soaked)
        actual = remote_state(soaked)
    finally:
        soaked.close()
    expected = clean_run(tmp_path / "clean", batches)
    assert_same_remote_state(actual, expected)
    totals = actual["hubspot"]["_totals"]
    figures |= {"duplicates": 0, "lost": 0, "hubspot": totals}
    (tmp_path / "soak.json").write_text(json.dumps(figures, indent=2))
    print(f"\nsoak figures: {json.dumps(figures)}")
    assert figures["kills"] > 0
    assert figures["faults_injected"] > 0
