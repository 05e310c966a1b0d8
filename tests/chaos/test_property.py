"""The property (B.14): a random history (behaviour posted between cycles) run with random
crashes and faults ends in the same remote state as the same history run cleanly.

Each step posts the same events (same contacts, kinds and times) to two fresh worlds of one
seed; the clean world then syncs once, the faulty one syncs under a drawn fault (a kill at a
crash point, a 5xx, reset or per-item-failure storm) and then once cleanly. After the last step
both converge and must match. Few examples: each one is two real worlds and many processes.
"""

from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from tempfile import TemporaryDirectory
from typing import Any

import pytest
import requests
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from conftest import Chaos, assert_same_remote_state, check_store, new_chaos, remote_state

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(400)]

CONTACTS = 30
KINDS = ("page.hit", "form.submit", "asset.download", "email.open")
FAULTS = st.one_of(
    st.sampled_from(
        [
            {"crash_at": "pull.after_page_commit:2"},
            {"crash_at": "pull.inside_page_transaction:2"},
            {"crash_at": "push.after_remote_write:1"},
            {"crash_at": "push.after_remote_write:3"},
            {"crash_at": "crm_pull.after_page_commit:1"},
        ]
    ),
    st.builds(
        dict,
        system=st.sampled_from(["mautic", "hubspot"]),
        faults=st.sampled_from(
            [
                {"error_ratio": 0.3, "error_status": 502, "seed": 1},
                {"reset_ratio": 0.3, "seed": 2},
                {"batch_item_failure_ratio": 0.5, "seed": 3},
            ]
        ),
    ),
)
EVENT = st.tuples(st.integers(1, CONTACTS), st.sampled_from(KINDS), st.integers(1, 600))
STEP = st.tuples(st.lists(EVENT, min_size=1, max_size=12), FAULTS)


def post(chaos: Chaos, events: list[tuple[int, str, int]], base: datetime) -> None:
    body = [
        {"contact_id": cid, "kind": kind, "at": (base + timedelta(seconds=s)).isoformat()}
        for cid, kind, s in events
    ]
    requests.post(
        f"{chaos.url('mautic')}/_sandbox/events", json=body, timeout=10
    ).raise_for_status()


def run_clean(chaos: Chaos, history: list[Any], base: datetime) -> dict[str, Any]:
    chaos.sync()
    for events, _ in history:
        post(chaos, events, base)
        chaos.sync()
    chaos.converge()
    check_store(chaos)
    return remote_state(chaos)


def run_faulty(chaos: Chaos, history: list[Any], base: datetime) -> dict[str, Any]:
    chaos.sync()
    for events, fault in history:
        post(chaos, events, base)
        if "crash_at" in fault:
            chaos.sync(crash_at=fault["crash_at"], check=False)
        else:
            chaos.faults(fault["system"], **fault["faults"])
            chaos.sync(check=False)
            chaos.faults(fault["system"])
        chaos.sync()
    chaos.converge()
    check_store(chaos)
    return remote_state(chaos)


@settings(
    max_examples=2,
    deadline=None,
    derandomize=True,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(history=st.lists(STEP, min_size=1, max_size=2))
def test_random_histories_with_random_faults_end_like_a_clean_run(history: list[Any]) -> None:
    base = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
    with TemporaryDirectory() as clean_dir, TemporaryDirectory() as faulty_dir:
        clean = new_chaos(Path(clean_dir), contacts=CONTACTS, days=10, seed=5)
        faulty = new_chaos(Path(faulty_dir), contacts=CONTACTS, days=10, seed=5)
        try:
            with ThreadPoolExecutor(1) as pool:
                expected = pool.submit(run_clean, clean, history, base)
                actual = run_faulty(faulty, history, base)
                assert_same_remote_state(actual, expected.result())
        finally:
            clean.close()
            faulty.close()
