"""Opening the store: the engine, its SQLite settings, transactions and schema migrations.

Owns: turning a store URL into a ready :class:`Store` (SQLite with WAL, ``busy_timeout``,
``foreign_keys=ON``, ``synchronous=NORMAL``, a database file created 0600; PostgreSQL through the
same URL), the read/write transaction context managers (``BEGIN IMMEDIATE`` for writes on
SQLite), the dialect-neutral ``INSERT ... ON CONFLICT`` helper, and running the Alembic
migrations in ``store/migrations`` on open.
Must not: know what the tables mean (that is ``cursors``, ``outbox``, ...), read the clock, or
create tables any other way than through migrations.
"""

from __future__ import annotations

import os
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import sqlalchemy as sa
from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from alembic.util import CommandError
from sqlalchemy import event
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection, Engine, make_url

from scorebridge.errors import StateError

MIGRATIONS_DIR = Path(__file__).resolve().parent / "migrations"
BUSY_TIMEOUT_MS = 5000
_IMMEDIATE = "scorebridge_begin_immediate"

Insert = sqlite.Insert | postgresql.Insert


class Store:
    """An open store: the engine plus read and write transactions.

    Use :meth:`write` for anything that changes rows (it takes SQLite's write lock up front, so
    a later read-to-write upgrade cannot fail with ``SQLITE_BUSY``) and :meth:`read` for
    consistent reads. A write commits on a clean exit and rolls back on an exception; a read
    always rolls back. Use ``with open_store(url) as store:`` to close it at the end.
    """

    def __init__(self, engine: Engine, *, path: Path | None) -> None:
        self.engine = engine
        self.path = path
        """The SQLite database file, or ``None`` for a server database."""

    @property
    def dialect(self) -> str:
        """``"sqlite"`` or ``"postgresql"``."""
        return self.engine.dialect.name

    @property
    def lock_path(self) -> Path | None:
        """The default single-instance lock file: next to the SQLite database, else ``None``."""
        return None if self.path is None else self.path.with_name(self.path.name + ".lock")

    @contextmanager
    def read(self) -> Iterator[Connection]:
        """A read transaction (deferred ``BEGIN`` on SQLite), rolled back at the end.

        Raises:
            StateError: the database failed (busy, unreadable, ...).
        """
        with _store_errors(self), self.engine.connect() as conn, conn.begin() as txn:
            try:
                yield conn
            finally:
                txn.rollback()

    @contextmanager
    def write(self) -> Iterator[Connection]:
        """A write transaction (``BEGIN IMMEDIATE`` on SQLite), committed on a clean exit.

        Raises:
            StateError: the database failed (busy beyond the busy timeout, read-only, full).
        """
        with _store_errors(self), self.engine.connect() as conn:
            conn = conn.execution_options(**{_IMMEDIATE: True})
            with conn.begin():
                yield conn

    @contextmanager
    def writer(self) -> Iterator[Connection]:
        """One connection for a series of write transactions, each ``with conn.begin():``
        (``BEGIN IMMEDIATE`` on SQLite), so that per-connection facts such as SQLite's
        ``PRAGMA data_version`` (see :func:`data_version`) carry from one to the next.

        Raises:
            StateError: as :meth:`write`.
        """
        with _store_errors(self), self.engine.connect() as conn:
            yield conn.execution_options(**{_IMMEDIATE: True})

    def close(self) -> None:
        """Close every pooled connection."""
        self.engine.dispose()

    def __enter__(self) -> Store:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


@contextmanager
def _store_errors(store: Store) -> Iterator[None]:
    """Turn the database's operational failures into :class:`StateError`."""
    try:
        yield
    except sa.exc.OperationalError as exc:
        hint, reason = "", str(exc.orig)
        if "locked" in reason or "busy" in reason:
            hint = f" (another writer held it for more than {BUSY_TIMEOUT_MS / 1000:g} s)"
        elif "disk is full" in reason or "disk I/O error" in reason:
            hint = (
                " (is the disk full? free space and run again: every transaction that"
                " committed is kept, the one that failed was rolled back)"
            )
        raise StateError(f"the store {_where(store)} failed{hint}: {exc.orig}") from exc


def data_version(conn: Connection) -> int:
    """SQLite's ``PRAGMA data_version`` of ``conn``: it changes exactly when *another*
    connection commits a change, so two equal readings on one connection mean nobody else wrote
    in between (this connection's own commits do not count)."""
    return int(conn.exec_driver_sql("PRAGMA data_version").scalar_one())


def insert(conn: Connection, table: sa.Table) -> Insert:
    """An ``INSERT`` for ``conn``'s dialect that supports ``on_conflict_do_nothing/update``."""
    if conn.dialect.name == "postgresql":
        return postgresql.insert(table)
    return sqlite.insert(table)


def open_store(url: str, *, migrate: bool = True) -> Store:
    """Open (and by default create or upgrade) the store at ``url``.

    ``sqlite:///path/to.db`` creates the file with mode 0600 (and its directory with 0700) before
    SQLite opens it; ``postgresql+psycopg://...`` uses a server. With ``migrate=False`` the schema
    must already be at the code's revision.

    Raises:
        StateError: the database cannot be opened, is newer than this code, or (with
            ``migrate=False``) is not at the current revision.
    """
    parsed = make_url(url)
    path: Path | None = None
    connect_args: dict[str, Any] = {}
    if parsed.get_backend_name() == "sqlite":
        if not parsed.database or parsed.database == ":memory:":
            raise StateError(f"{url}: an in-memory SQLite store cannot be shared; give a file path")
        path = Path(parsed.database).expanduser().resolve()
        _create_private_file(path)
        parsed = parsed.set(database=str(path))
        connect_args["timeout"] = BUSY_TIMEOUT_MS / 1000
    try:
        engine = sa.create_engine(parsed, connect_args=connect_args)
    except (sa.exc.ArgumentError, ImportError) as exc:
        raise StateError(f"cannot use store URL {parsed.render_as_string()}: {exc}") from exc
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine)
    store = Store(engine, path=path)
    try:
        _migrate(store, upgrade=migrate)
    except BaseException:
        store.close()
        raise
    return store


def _create_private_file(path: Path) -> None:
    """Create the database file 0600 (SQLite gives -wal/-shm the same mode) or tighten it."""
    try:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        fd = os.open(path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            if stat.S_IMODE(os.fstat(fd).st_mode) & 0o077:
                os.fchmod(fd, 0o600)
        finally:
            os.close(fd)
    except OSError as exc:
        raise StateError(f"cannot create the store file {path}: {exc.strerror}") from exc


def _configure_sqlite(engine: Engine) -> None:
    """Per-connection pragmas and explicit BEGIN (pysqlite's implicit transactions are off)."""

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_conn: Any, _record: Any) -> None:
        dbapi_conn.isolation_level = None
        cur = dbapi_conn.cursor()
        try:
            cur.execute("PRAGMA journal_mode=WAL")
            cur.execute(f"PRAGMA busy_timeout={BUSY_TIMEOUT_MS}")
            cur.execute("PRAGMA foreign_keys=ON")
            cur.execute("PRAGMA synchronous=NORMAL")
        finally:
            cur.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Connection) -> None:
        immediate = conn.get_execution_options().get(_IMMEDIATE, False)
        conn.exec_driver_sql("BEGIN IMMEDIATE" if immediate else "BEGIN")


def alembic_config() -> Config:
    """An Alembic configuration pointing at the packaged migrations (works from a wheel)."""
    cfg = Config()
    cfg.set_main_option("script_location", str(MIGRATIONS_DIR))
    return cfg


#: The PostgreSQL advisory lock key held while the schema is checked and migrated.
_MIGRATION_LOCK = 0x5C0B_1D6E


def _migrate(store: Store, *, upgrade: bool) -> None:
    cfg = alembic_config()
    script = ScriptDirectory.from_config(cfg)
    head = script.get_current_head()
    try:
        with store.write() as conn:
            if store.dialect == "postgresql":
                # SQLite's write lock serializes two processes opening a new store; on
                # PostgreSQL, daemons started together would both create the tables
                conn.execute(
                    sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": _MIGRATION_LOCK}
                )
            current = MigrationContext.configure(conn).get_current_heads()
            for rev in current:
                try:
                    script.get_revision(rev)
                except CommandError as exc:
                    raise StateError(
                        f"the store {_where(store)} has schema revision {rev}, newer than this "
                        f"scorebridge knows (head {head}); upgrade scorebridge or use another store"
                    ) from exc
            if current == (head,):
                return
            if not upgrade:
                raise StateError(
                    f"the store {_where(store)} is at schema revision "
                    f"{', '.join(current) or 'none'}, this scorebridge needs {head}; open it once "
                    f"with migrations on (any command that writes, e.g. `scorebridge pull`)"
                )
            cfg.attributes["connection"] = conn
            command.upgrade(cfg, "head")
    except sa.exc.SQLAlchemyError as exc:
        reason = getattr(exc, "orig", None) or exc
        raise StateError(f"cannot open the store {_where(store)}: {reason}") from exc


def _where(store: Store) -> str:
    return str(store.path) if store.path else store.engine.url.render_as_string()
