"""Command-line values are checked at the edge: a bad one is refused with one line on stderr and
exit 2, before anything reaches the store (DESIGN §7; issue 15 items 3 and 4).

Commands run in-process through ``scorebridge.cli.main`` (what the console script calls), so an
exception escaping it is exactly what a user would see as a traceback.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import sqlite3
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa

from scorebridge.cli import main
from scorebridge.store import cursors, open_store
from scorebridge.store.tables import Contact, Event

RULES = """
version = "edge-1"
scale = { min = 0, max = 100 }
bands = { warm = 25, hot = 75 }
[[groups]]
key = "product_a"
[[rules]]
id = "pricing"
event = "page.hit"
url = "*/pricing*"
points = 30
group = "product_a"
"""
_contact = Contact.__table__  # type: ignore[attr-defined]
_event = Event.__table__  # type: ignore[attr-defined]
CURSOR = '{"since": "2026-01-01T00:00:00+00:00"}'


@dataclass
class Edge:
    """A configured store (two contacts, one event, one cursor) and a Mautic nobody answers."""

    root: Path

    @property
    def config(self) -> Path:
        return self.root / "scorebridge.toml"

    @property
    def db(self) -> Path:
        return self.root / "store.db"

    def digest(self) -> str:
        """Every row of every table, hashed: equal digests mean an unchanged store."""
        conn = sqlite3.connect(f"file:{self.db}?mode=ro", uri=True)
        try:
            tables = [
                r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")
            ]
            digest = hashlib.sha256()
            for table in sorted(tables):
                for row in conn.execute(f'SELECT * FROM "{table}" ORDER BY 1'):  # noqa: S608
                    digest.update(repr((table, row)).encode())
            return digest.hexdigest()
        finally:
            conn.close()


@dataclass
class Ran:
    code: int
    stdout: str
    stderr: str


def run(edge: Edge, *args: str) -> Ran:
    """``scorebridge --config ... ARGS`` in this process; an escaping exception fails the test."""
    out, err = io.StringIO(), io.StringIO()
    argv = ["scorebridge", "--config", str(edge.config), *args]
    code: int | str | None = 0
    with (
        pytest.MonkeyPatch.context() as patch,
        contextlib.redirect_stdout(out),
        contextlib.redirect_stderr(err),
    ):
        patch.setattr(sys, "argv", argv)
        patch.setenv("COLUMNS", "200")
        try:
            main()
        except SystemExit as exc:
            code = exc.code
    assert isinstance(code, int) or code is None, code
    return Ran(code or 0, out.getvalue(), err.getvalue())


def make_edge(root: Path) -> Edge:
    edge = Edge(root)
    (root / "scoring.toml").write_text(RULES)
    edge.config.write_text(
        f'[store]\nurl = "sqlite:///{edge.db}"\n[scoring]\nrules = "scoring.toml"\n'
        '[mautic]\nurl = "http://127.0.0.1:9"\nusername = "api"\npassword = "not-a-secret"\n'
    )
    now = datetime.now(UTC)
    contacts = [
        {"mautic_id": 7, "email": "ada@example.com", "fields": {}, "crm_fields": {}},
        {"mautic_id": 8, "email": "bob@example.com", "fields": {}, "crm_fields": {}},
    ]
    hit = {"url": "https://x.example/pricing"}
    with open_store(f"sqlite:///{edge.db}") as store, store.write() as conn:
        ids = conn.execute(sa.insert(_contact).returning(_contact.c.id), contacts).scalars().all()
        event = {"source": "mautic", "stream": "page_hits", "kind": "page.hit", "attributes": hit}
        at = now - timedelta(hours=1)
        conn.execute(
            sa.insert(_event).values(external_id="1", contact_id=ids[1], occurred_at=at, **event)
        )
        cursors.set(conn, "mautic", "email_stats", CURSOR, now)
    return edge


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Edge:
    return make_edge(tmp_path_factory.mktemp("edge"))


def test_resync_since_a_future_time_is_refused_and_no_cursor_moves(edge: Edge) -> None:
    before = edge.digest()
    result = run(edge, "resync", "--since", "2999-01-01T00:00:00+00:00")
    assert result.code == 2
    assert "in the future" in result.stderr
    assert "Traceback" not in result.stderr
    assert edge.digest() == before
