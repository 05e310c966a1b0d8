"""SIGKILL (``os._exit(137)`` at a named crash point) at the most dangerous places of a cycle:
the next clean run ends in exactly the state of a run that never crashed."""

from typing import Any

import pytest

from conftest import Chaos, assert_same_remote_state, check_store, closing_ro, remote_state

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(240)]

CRASHES = [
    "pull.after_page_commit:2",
    "pull.inside_page_transaction:3",
    "crm_pull.after_page_commit:1",
    "crm_pull.inside_page_transaction:1",
    "push.after_remote_write:1",
    "push.after_remote_write:2",
    "rescore.inside_transaction:1",
]


@pytest.mark.parametrize("crash_at", CRASHES)
def test_a_kill_at_a_crash_point_loses_nothing_and_repeats_nothing(
    chaos: Chaos, clean_state: dict[str, Any], crash_at: str
) -> None:
    crashed = chaos.sync(crash_at=crash_at, check=False)
    assert crashed.code == 137, crashed.stderr[-2000:]
    with closing_ro(chaos.store_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    chaos.sync()
    chaos.converge()
    check_store(chaos)
    assert_same_remote_state(remote_state(chaos), clean_state)
