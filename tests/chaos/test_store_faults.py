"""Local store faults (B.14): another connection holds SQLite's write lock for a while (the cycle
waits within ``busy_timeout`` and succeeds), a store file that cannot be written and a full disk
(a clear error, exit non-zero, nothing corrupted, the next run completes the work)."""

import os
import resource
import shutil
import signal
import sqlite3
import subprocess
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import pytest

from conftest import Chaos, assert_same_remote_state, check_store, remote_state

pytestmark = [pytest.mark.chaos, pytest.mark.timeout(300)]


def test_a_cycle_waits_for_a_write_lock_held_briefly_by_another_connection(
    chaos: Chaos, clean_state: dict[str, Any]
) -> None:
    chaos.sync()
    held = threading.Event()

    def hold_the_write_lock() -> None:
        conn = sqlite3.connect(chaos.store_path, timeout=30, isolation_level=None)
        conn.execute("BEGIN IMMEDIATE")
        held.set()
        time.sleep(2.0)  # well inside the bridge's 5 s busy_timeout
        conn.execute("ROLLBACK")
        conn.close()

    holder = threading.Thread(target=hold_the_write_lock)
    holder.start()
    assert held.wait(10)
    busy = chaos.sync()
    holder.join()
    assert [r["outcome"] for r in chaos.runs()][-1] == "ok", busy.stderr
    chaos.converge()
    check_store(chaos)
    assert_same_remote_state(remote_state(chaos), clean_state)


@contextmanager
def immutable(*paths: Path) -> Iterator[None]:
    """Make files unwritable even for root (``chattr +i``), and writable again afterwards."""
    present = [p for p in paths if p.exists()]
    subprocess.run(["chattr", "+i", *map(str, present)], check=True)
    try:
        yield
    finally:
        subprocess.run(["chattr", "-i", *map(str, present)], check=True)


@pytest.mark.skipif(shutil.which("chattr") is None, reason="needs chattr (ext4)")
def test_an_unwritable_store_fails_clearly_and_is_not_corrupted(
    chaos: Chaos, clean_state: dict[str, Any]
) -> None:
    chaos.sync()
    chaos.converge()
    db = chaos.store_path
    before = db.read_bytes()
    files = [db, db.with_name(db.name + "-wal"), db.with_name(db.name + "-shm")]
    try:
        with immutable(*files):
            failed = chaos.sync(check=False)
    except subprocess.CalledProcessError:
        pytest.skip("this file system does not support chattr +i")
    assert failed.code == 1, failed.stderr
    assert "Traceback" not in failed.stderr
    assert str(db) in failed.stderr  # says which file ...
    reason = failed.stderr.lower()  # ... and why
    assert any(r in reason for r in ("not permitted", "read-only", "readonly")), failed.stderr
    assert db.read_bytes() == before
    assert os.access(db, os.W_OK)
    check_store(chaos)
    chaos.converge()
    assert_same_remote_state(remote_state(chaos), clean_state)


def test_a_full_disk_fails_clearly_loses_nothing_and_the_next_run_completes(
    chaos: Chaos, clean_state: dict[str, Any]
) -> None:
    """The sync runs with a file-size limit just above the new, empty store, so the disk is
    "full" a few pages into the first pull (write(2) fails, SQLite reports an I/O error)."""
    made = subprocess.run(
        chaos.command("status"), cwd=chaos.root, env=chaos.env(), capture_output=True, check=False
    )
    assert made.returncode == 0, made.stderr
    files = [chaos.store_path.with_name(chaos.store_path.name + s) for s in ("", "-wal")]
    room = max(f.stat().st_size for f in files if f.exists()) + 256 * 1024

    def full_disk() -> None:
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)  # fail the write, do not kill the process
        resource.setrlimit(resource.RLIMIT_FSIZE, (room, room))

    failed = subprocess.run(
        chaos.command("sync", "--json"),
        cwd=chaos.root,
        env=chaos.env(),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
        preexec_fn=full_disk,  # noqa: PLW1509 - the limit must be set in the child
    )
    assert failed.returncode == 1, failed.stderr[-2000:]
    assert "Traceback" not in failed.stderr
    assert str(chaos.store_path) in failed.stderr  # says which file ...
    assert "disk I/O error" in failed.stderr  # ... and why
    assert "is the disk full?" in failed.stderr  # ... and what to do
    check_store(chaos, outbox_empty=False)
    chaos.converge()
    check_store(chaos)
    assert_same_remote_state(remote_state(chaos), clean_state)
