"""Issue 6 / B.14 row 23: the files holding data or secrets are private (0600) even under a
permissive umask, and a secret file that others can read is refused with a clear message."""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
from tests.security.conftest import SecurityWorld, run_cli

from scorebridge.clock import FrozenClock
from scorebridge.config import load_config
from scorebridge.errors import ConfigError
from scorebridge.sandbox.runner import write_ready_file
from scorebridge.store.engine import open_store
from scorebridge.store.lease import hold_lease


def _mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


@pytest.fixture
def open_umask() -> Iterator[None]:
    """Files must be private because the code says so, not because the umask happens to be."""
    previous = os.umask(0)
    try:
        yield
    finally:
        os.umask(previous)


@pytest.mark.usefixtures("open_umask")
def test_database_wal_shm_and_lock_file_are_0600(tmp_path: Path) -> None:
    db = tmp_path / "data" / "scorebridge.db"
    store = open_store(f"sqlite:///{db}")
    try:
        with hold_lease(store, clock=FrozenClock(datetime.now(UTC))), store.read() as conn:
            conn.exec_driver_sql("SELECT count(*) FROM run").all()
            files = [db, db.with_name("scorebridge.db-wal"), db.with_name("scorebridge.db-shm")]
            assert store.lock_path is not None
            files.append(store.lock_path)
            assert {f.name: _mode(f) for f in files} == {f.name: 0o600 for f in files}
    finally:
        store.close()
    assert _mode(db.parent) & 0o077 == 0


@pytest.mark.usefixtures("open_umask")
def test_an_existing_world_readable_database_is_tightened(tmp_path: Path) -> None:
    db = tmp_path / "scorebridge.db"
    db.touch(mode=0o644)
    db.chmod(0o644)
    open_store(f"sqlite:///{db}").close()
    assert _mode(db) == 0o600


@pytest.mark.usefixtures("open_umask")
def test_secret_files_written_by_the_sandbox_are_0600(world: SecurityWorld) -> None:
    config = world.config("modes")
    secret_files = sorted(config.parent.glob("scorebridge.*-*"))
    names = {p.name for p in secret_files}
    assert names == {"scorebridge.mautic-password", "scorebridge.hubspot-token"}
    assert {p.name: _mode(p) for p in secret_files} == {n: 0o600 for n in names}
    contents = {p.read_text().strip() for p in secret_files}
    assert world.mautic["password"] in contents
    assert world.mautic["password"] not in config.read_text()  # only a path in the TOML
    ready = config.parent / "ready.json"
    write_ready_file(ready, world.info)
    assert _mode(ready) == 0o600
    assert json.loads(ready.read_text())["mautic"]["password"] == world.mautic["password"]


def test_a_group_or_world_readable_secret_file_is_refused(world: SecurityWorld) -> None:
    config = world.config("readable-secret")
    password_file = config.parent / "scorebridge.mautic-password"
    password_file.chmod(0o644)
    with pytest.raises(ConfigError) as caught:
        load_config(config, environ={})
    message = str(caught.value)
    assert str(password_file) in message
    assert f"chmod 600 {password_file}" in message
    assert "mautic.password_file" in message
    assert world.mautic["password"] not in message

    password_file.chmod(0o640)  # group-readable is refused too
    with pytest.raises(ConfigError, match="chmod 600"):
        load_config(config, environ={})

    result = run_cli(config, "status", "--json")
    assert result.code == 2
    assert result.stdout == ""
    unwrapped = result.stderr.replace("\n", "")  # rich wraps stderr at 80 columns
    assert f"chmod 600 {password_file}" in unwrapped
    assert not (config.parent / "scorebridge.db").exists()  # refused before touching anything
