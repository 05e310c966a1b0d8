"""Two ``scorebridge run`` daemons on one PostgreSQL store (``./scripts/test --postgres``): one
cycles, the other waits for the lease (there is no lock file on PostgreSQL: the lease row alone
keeps them apart), takes over when the first stops, and no write reaches the CRM twice."""

import os
import signal
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable
from pathlib import Path

import pytest
import sqlalchemy as sa
from tests.conftest import POSTGRES, admin

from scorebridge.sandbox.runner import Sandbox, SandboxOptions, write_config
from scorebridge.store.tables import Run

pytestmark = [pytest.mark.postgres, pytest.mark.slow, pytest.mark.timeout(300)]

WAIT = 120.0


def wait_for(condition: Callable[[], bool], what: str, logs: dict[str, Path]) -> None:
    deadline = time.monotonic() + WAIT
    while not condition():
        if time.monotonic() > deadline:
            tails = "\n".join(f"--- {n}:\n{p.read_text()[-2000:]}" for n, p in logs.items())
            raise AssertionError(f"timed out waiting for {what}\n{tails}")
        time.sleep(0.2)


@pytest.fixture
def database() -> str:
    if not POSTGRES:
        pytest.skip("needs SCOREBRIDGE_TEST_POSTGRES (./scripts/test --postgres)")
    admin("DROP DATABASE IF EXISTS two_daemons WITH (FORCE)")
    admin("CREATE DATABASE two_daemons")
    return f"{POSTGRES}/two_daemons"


def test_two_daemons_on_one_postgresql_store_never_write_twice(
    tmp_path: Path, database: str
) -> None:
    sandbox = Sandbox(SandboxOptions(contacts=250, days=45, seed=1))
    info = sandbox.start()
    config = tmp_path / "scorebridge.toml"
    write_config(config, info)
    env = {
        **os.environ,
        "SCOREBRIDGE_STORE__URL": database,
        "SCOREBRIDGE_SCHEDULE__INTERVAL": "2s",
        "SCOREBRIDGE_CRM__REQUESTS_PER_10S": "250",
        # the first sync notifies sales of every warm and hot lead: many tasks and deals
        "SCOREBRIDGE_SCORING__NOTIFY_EXISTING": "true",
    }
    logs = {name: tmp_path / f"{name}.log" for name in ("first", "second")}
    procs: dict[str, subprocess.Popen[bytes]] = {}

    def start(name: str) -> None:
        with logs[name].open("wb") as log:
            procs[name] = subprocess.Popen(
                [sys.executable, "-m", "scorebridge", "--config", str(config), "run"],
                env=env,
                cwd=tmp_path,
                stdout=subprocess.DEVNULL,
                stderr=log,
            )

    def said(name: str, text: str) -> int:
        return logs[name].read_text().count(text)

    try:
        start("first")
        start("second")  # both race for the lease
        wait_for(
            lambda: sum(said(n, "another instance holds the lease") for n in logs) == 1,
            "one daemon to wait for the other's lease",
            logs,
        )
        active, waiting = (
            ("first", "second") if said("second", "another instance") else ("second", "first")
        )
        wait_for(lambda: said(active, 'msg="cycle finished"') >= 3, "three cycles", logs)
        assert said(waiting, 'msg="cycle started"') == 0, "the waiting daemon ran a cycle"
        procs[active].send_signal(signal.SIGTERM)
        assert procs[active].wait(timeout=60) == 0, logs[active].read_text()[-3000:]
        wait_for(lambda: said(waiting, 'msg="cycle finished"') >= 2, "the take-over", logs)
        procs[waiting].send_signal(signal.SIGTERM)
        assert procs[waiting].wait(timeout=60) == 0, logs[waiting].read_text()[-3000:]
    finally:
        for proc in procs.values():
            if proc.poll() is None:
                proc.kill()
                proc.wait()
        sandbox.stop()

    engine = sa.create_engine(database)
    try:
        with engine.connect() as conn:
            table = Run.__table__
            cycles = conn.execute(
                sa.select(table.c.started_at, table.c.finished_at, table.c.outcome)
                .where(table.c.command == "cycle")
                .order_by(table.c.started_at)
            ).all()
    finally:
        engine.dispose()
    assert len(cycles) >= 5
    assert {c.outcome for c in cycles} == {"ok"}, cycles
    for earlier, later in zip(cycles, cycles[1:], strict=False):
        assert later.started_at >= earlier.finished_at, "two cycles overlapped"

    hubspot = sandbox.crms["hubspot"].state
    deals = [r.properties for r in hubspot.records["deals"].values() if not r.archived]
    tasks = [r.properties for r in hubspot.records["tasks"].values() if not r.archived]
    created_deals = [d["scorebridge_key"] for d in deals if d.get("scorebridge_key")]
    created_tasks = [t["hs_task_body"] for t in tasks if "scorebridge" in t.get("hs_task_body", "")]
    assert created_deals, "the world's hot leads should have made deals"
    assert created_tasks, "the world's warm leads should have made tasks"
    assert [k for k, n in Counter(created_deals).items() if n > 1] == []
    assert [k for k, n in Counter(created_tasks).items() if n > 1] == []
