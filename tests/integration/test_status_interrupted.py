"""A run whose process was killed (SIGKILL: no chance to record anything) shows "interrupted" in
``scorebridge status``, not "running" forever; pending outbox operations show their next
attempt."""

import json
import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from scorebridge.store import open_store, outbox

pytestmark = pytest.mark.timeout(60)

RUNNER = """
import sys, time
from datetime import UTC, datetime
from scorebridge.store import open_store
from scorebridge.store.runs import start_run
with open_store(sys.argv[1]) as store, store.write() as conn:
    start_run(conn, "pull", now=datetime.now(UTC))
print("started", flush=True)
time.sleep(120)
"""


def status(config: Path) -> dict:
    done = subprocess.run(
        [sys.executable, "-m", "scorebridge", "--config", str(config), "status", "--json"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return json.loads(done.stdout)


def test_a_killed_run_shows_interrupted_and_the_outbox_its_next_attempt(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path}/store.db"
    config = tmp_path / "scorebridge.toml"
    config.write_text(
        f'[store]\nurl = "{url}"\n[mautic]\nurl = "http://127.0.0.1:9"\n'
        'username = "u"\npassword = "not-a-secret"\n'
    )
    due = datetime(2030, 1, 2, 3, 4, 5, tzinfo=UTC)
    with open_store(url) as store, store.write() as conn:
        outbox.enqueue(
            conn,
            [outbox.NewOperation("k1", "crm", "task", {"subject": "call"}, None)],
            now=due - timedelta(hours=1),
        )
        outbox.retry_later(conn, 1, "HTTP 503", due)
    proc = subprocess.Popen([sys.executable, "-c", RUNNER, url], stdout=subprocess.PIPE, text=True)
    try:
        assert proc.stdout is not None
        assert proc.stdout.readline().strip() == "started"
        (run,) = status(config)["runs"]
        assert (run["command"], run["outcome"]) == ("pull", "running")
        os.kill(proc.pid, signal.SIGKILL)
        proc.wait(timeout=10)
    finally:
        proc.kill()
        proc.wait()
    time.sleep(0.1)
    snapshot = status(config)
    assert [r["outcome"] for r in snapshot["runs"]] == ["interrupted"]
    (pending,) = snapshot["outbox_next"]
    assert (pending["system"], pending["op"], pending["status"]) == ("crm", "task", "pending")
    assert pending["next_attempt_at"] == due.isoformat()
    assert pending["last_error"] == "HTTP 503"
    text = subprocess.run(
        [sys.executable, "-m", "scorebridge", "--config", str(config), "status"],
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
        env={**os.environ, "COLUMNS": "120"},
    ).stdout
    assert "interrupted" in text
    assert "2030-01-02T03:04:05" in text
