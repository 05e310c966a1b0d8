"""The store opens migrated, private, in WAL mode, and refuses a schema newer than the code."""

import io
import os
import shutil
import sqlite3
import stat
from datetime import UTC, datetime
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlmodel import SQLModel

from scorebridge.errors import StateError
from scorebridge.store import engine as engine_mod
from scorebridge.store import open_store
from scorebridge.store.tables import Cursor, Event

HEAD = "0005"


def revision(store) -> str | None:
    with store.read() as conn:
        return MigrationContext.configure(conn).get_current_revision()


def mode(path: Path) -> int:
    return stat.S_IMODE(os.stat(path).st_mode)


def test_fresh_database_is_at_head_with_every_table(tmp_path: Path) -> None:
    store = open_store(f"sqlite:///{tmp_path}/new/dir/s.db")
    try:
        assert revision(store) == HEAD
        names = set(sa.inspect(store.engine).get_table_names())
        assert {t.name for t in SQLModel.metadata.sorted_tables} <= names
    finally:
        store.close()


@pytest.mark.sqlite_only
def test_sqlite_settings_are_applied_on_every_connection(store) -> None:
    with store.read() as conn:
        pragma = {
            p: conn.exec_driver_sql(f"PRAGMA {p}").scalar()
            for p in ("journal_mode", "foreign_keys", "synchronous", "busy_timeout")
        }
    assert pragma == {
        "journal_mode": "wal",
        "foreign_keys": 1,
        "synchronous": 1,
        "busy_timeout": 5000,
    }


@pytest.mark.sqlite_only
def test_database_wal_and_shm_files_are_private(store, tmp_path: Path) -> None:
    with store.write() as conn:
        conn.execute(sa.insert(Cursor.__table__).values(source="m", stream="s", value="1"))
    for name in ("store.db", "store.db-wal", "store.db-shm"):
        assert mode(tmp_path / name) == 0o600, name
    assert store.lock_path == tmp_path / "store.db.lock"


@pytest.mark.sqlite_only
def test_an_existing_world_readable_database_is_tightened(tmp_path: Path) -> None:
    path = tmp_path / "old.db"
    path.touch(mode=0o644)
    os.chmod(path, 0o644)
    open_store(f"sqlite:///{path}").close()
    assert mode(path) == 0o600


def test_write_commits_and_rolls_back_on_error(store) -> None:
    cursor = Cursor.__table__
    with store.write() as conn:
        conn.execute(sa.insert(cursor).values(source="m", stream="a", value="1"))

    def crash() -> None:
        with store.write() as conn:
            conn.execute(sa.insert(cursor).values(source="m", stream="b", value="2"))
            raise RuntimeError("crash before commit")

    with pytest.raises(RuntimeError):
        crash()
    with store.read() as conn:
        assert conn.execute(sa.select(cursor.c.stream)).scalars().all() == ["a"]


@pytest.mark.sqlite_only
def test_write_takes_the_write_lock_up_front_and_read_does_not(store) -> None:
    other = sqlite3.connect(store.path, timeout=0, isolation_level=None)
    try:
        with store.read():
            other.execute("BEGIN IMMEDIATE")
            other.execute("ROLLBACK")
        with store.write(), pytest.raises(sqlite3.OperationalError, match="locked"):
            other.execute("BEGIN IMMEDIATE")
    finally:
        other.close()


def test_foreign_keys_are_enforced(store) -> None:
    row = {
        "source": "mautic",
        "stream": "page_hits",
        "external_id": "1",
        "contact_id": 999,
        "kind": "page.hit",
        "occurred_at": datetime(2026, 1, 1, tzinfo=UTC),
        "attributes": {},
    }
    with pytest.raises(sa.exc.IntegrityError), store.write() as conn:
        conn.execute(sa.insert(Event.__table__).values(**row))


def test_migrations_match_the_tables(store) -> None:
    with store.read() as conn:
        ctx = MigrationContext.configure(conn, opts={"compare_type": True})
        assert compare_metadata(ctx, SQLModel.metadata) == []


@pytest.mark.sqlite_only
def test_in_memory_sqlite_is_refused() -> None:
    with pytest.raises(StateError, match="file path"):
        open_store("sqlite://")


@pytest.fixture
def newer_code(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A copy of the migrations with a revision 9999 (after the real head) that adds a column."""
    scripts = tmp_path / "migrations"
    shutil.copytree(
        engine_mod.MIGRATIONS_DIR, scripts, ignore=shutil.ignore_patterns("__pycache__")
    )
    head = ScriptDirectory.from_config(engine_mod.alembic_config()).get_current_head()
    (scripts / "versions" / "9999_note.py").write_text(
        "import sqlalchemy as sa\nfrom alembic import op\n"
        f'revision = "9999"\ndown_revision = "{head}"\nbranch_labels = None\ndepends_on = None\n'
        "def upgrade():\n"
        '    with op.batch_alter_table("cursor") as b:\n'
        '        b.add_column(sa.Column("note", sa.String(), nullable=True))\n'
        "def downgrade():\n    pass\n"
    )
    return scripts


@pytest.mark.sqlite_only
def test_an_older_database_is_upgraded_and_keeps_its_rows(
    tmp_path: Path, newer_code: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    old = open_store(url)
    with old.write() as conn:
        conn.execute(sa.insert(Cursor.__table__).values(source="m", stream="s", value="42"))
    old.close()

    monkeypatch.setattr(engine_mod, "MIGRATIONS_DIR", newer_code)
    with pytest.raises(StateError, match="needs 9999"):
        open_store(url, migrate=False)
    upgraded = open_store(url)
    try:
        assert revision(upgraded) == "9999"
        with upgraded.read() as conn:
            assert conn.exec_driver_sql("SELECT value, note FROM cursor").all() == [("42", None)]
    finally:
        upgraded.close()


@pytest.mark.sqlite_only
def test_a_database_newer_than_the_code_is_refused(
    tmp_path: Path, newer_code: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    url = f"sqlite:///{tmp_path}/s.db"
    with monkeypatch.context() as patch:
        patch.setattr(engine_mod, "MIGRATIONS_DIR", newer_code)
        open_store(url).close()
    with pytest.raises(StateError, match="9999, newer than this scorebridge"):
        open_store(url)


@pytest.mark.sqlite_only
def test_migrate_false_opens_a_current_database(store, tmp_path: Path) -> None:
    again = open_store(f"sqlite:///{tmp_path}/store.db", migrate=False)
    again.close()


@pytest.mark.sqlite_only
def test_a_store_busy_beyond_the_timeout_is_a_state_error(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(engine_mod, "BUSY_TIMEOUT_MS", 50)
    store = open_store(f"sqlite:///{tmp_path}/s.db")
    other = sqlite3.connect(store.path, isolation_level=None)
    try:
        other.execute("BEGIN IMMEDIATE")
        with pytest.raises(StateError, match="another writer held it"), store.write():
            pass
    finally:
        other.close()
        store.close()


def test_the_migrations_render_for_postgresql() -> None:
    out = io.StringIO()
    cfg = engine_mod.alembic_config()
    cfg.output_buffer = out
    cfg.set_main_option("sqlalchemy.url", "postgresql+psycopg://sb@localhost/sb")
    command.upgrade(cfg, "head", sql=True)
    ddl = out.getvalue()
    for table in SQLModel.metadata.sorted_tables:
        assert f"CREATE TABLE {table.name} (" in ddl
    assert "id SERIAL NOT NULL" in ddl
    assert "INSERT INTO alembic_version (version_num) VALUES ('0001')" in ddl


@pytest.mark.sqlite_only
def test_a_file_that_is_not_a_database_is_a_clear_state_error(tmp_path: Path) -> None:
    path = tmp_path / "notes.db"
    path.write_text("these are my notes, not a database " * 10)
    with pytest.raises(StateError, match=f"cannot open the store {path}: file is not a database"):
        open_store(f"sqlite:///{path}")


@pytest.mark.sqlite_only
def test_score_rows_survive_the_move_to_a_rowid_free_table(tmp_path: Path) -> None:
    path = tmp_path / "s.db"
    cfg = engine_mod.alembic_config()
    cfg.set_main_option("sqlalchemy.url", f"sqlite:///{path}")
    command.upgrade(cfg, "0002")
    db = sqlite3.connect(path)
    db.execute(
        "INSERT INTO contact (id, email, fields, crm_fields, mautic_points, rescore_needed,"
        " placeholder, deleted) VALUES (7, 'a@b.example', '{}', '{}', 0, 0, 0, 0)"
    )
    rows = [
        (7, "total", 42, 41.6, "warm", "v1", "2026-11-22 12:00:00.000000"),
        (7, "Product A", 30, 30.0, None, "v1", "2026-11-22 12:00:00.000000"),
    ]
    db.executemany("INSERT INTO score VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    db.commit()
    db.close()

    store = open_store(f"sqlite:///{path}")
    try:
        assert revision(store) == HEAD
        with store.read() as conn:
            got = conn.exec_driver_sql("SELECT * FROM score ORDER BY group_key").all()
            ddl = conn.exec_driver_sql("SELECT sql FROM sqlite_master WHERE name = 'score'").one()
        assert [tuple(r) for r in got] == sorted(rows, key=lambda r: r[1])
        assert "WITHOUT ROWID" in ddl[0]
    finally:
        store.close()
