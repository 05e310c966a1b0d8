"""The PostgreSQL switch of the suite (``./scripts/test --postgres``).

With ``SCOREBRIDGE_TEST_POSTGRES`` set to a server URL (``postgresql+psycopg://user@host:port``,
a throwaway cluster), every store the tests open in this process is a PostgreSQL database: the
store's URL parser is wrapped for the session so that each ``sqlite:///PATH`` becomes its own
database (named after PATH, created from a migrated template on first use). Fixtures and
configurations stay as they are, a module-scoped world keeps its one store, and a fresh
``tmp_path`` means a fresh database. Commands run as subprocesses keep SQLite.
Tests that only make sense on SQLite (WAL, file modes, the flock of the lease, the dry run's file
copy) are marked ``sqlite_only`` and skipped on PostgreSQL.
"""

from __future__ import annotations

import hashlib
import os
from collections.abc import Iterator
from typing import Any

import pytest

POSTGRES = os.environ.get("SCOREBRIDGE_TEST_POSTGRES", "").rstrip("/")
_TEMPLATE = "scorebridge_template"


def admin(statement: str) -> None:
    import sqlalchemy as sa

    engine = sa.create_engine(f"{POSTGRES}/postgres", isolation_level="AUTOCOMMIT")
    try:
        with engine.connect() as conn:
            conn.execute(sa.text(statement))
    finally:
        engine.dispose()


@pytest.fixture(scope="session", autouse=True)
def _postgres_stores() -> Iterator[None]:
    if not POSTGRES:
        yield
        return
    from sqlalchemy.engine import make_url

    from scorebridge.store import engine

    created: set[str] = set()

    def redirect(url: Any) -> Any:
        parsed = make_url(url)
        if parsed.get_backend_name() != "sqlite" or not parsed.database:
            return parsed
        name = "s_" + hashlib.sha1(parsed.database.encode()).hexdigest()[:20]
        if name not in created:
            admin(f"DROP DATABASE IF EXISTS {name}")
            admin(f"CREATE DATABASE {name} TEMPLATE {_TEMPLATE}")
            created.add(name)
        return make_url(f"{POSTGRES}/{name}")

    admin(f"DROP DATABASE IF EXISTS {_TEMPLATE}")
    admin(f"CREATE DATABASE {_TEMPLATE}")
    engine.open_store(f"{POSTGRES}/{_TEMPLATE}").close()  # migrated once, copied per store
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(engine, "make_url", redirect)
        yield


@pytest.fixture(autouse=True)
def _sqlite_only(request: pytest.FixtureRequest) -> None:
    if POSTGRES and request.node.get_closest_marker("sqlite_only"):
        pytest.skip("SQLite only (WAL, file modes, the lease's flock or the dry run's file copy)")
