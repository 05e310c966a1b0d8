"""Command-line values are checked at the edge: a bad one is refused with one line on stderr and
exit 2, before anything reaches the store (DESIGN §7; issue 15 items 3 and 4).

Commands run in-process through ``scorebridge.cli.main`` (what the console script calls), so an
exception escaping it is exactly what a user would see as a traceback.
"""

from __future__ import annotations

import contextlib
import hashlib
import io
import math
import sqlite3
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import sqlalchemy as sa
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from scorebridge.cli import main
from scorebridge.clock import SystemClock
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
        conn.execute(
            sa.insert(_event).values(
                source="mautic",
                stream="page_hits",
                external_id="1",
                contact_id=ids[1],
                kind="page.hit",
                occurred_at=now - timedelta(hours=1),
                attributes=hit,
            )
        )
        cursors.set(conn, "mautic", "email_stats", CURSOR, now)
    return edge


@pytest.fixture(scope="module")
def edge(tmp_path_factory: pytest.TempPathFactory) -> Edge:
    return make_edge(tmp_path_factory.mktemp("edge"))


def refused(result: Ran, *words: str) -> None:
    """Exit 2, nothing on stdout, one line on stderr that says what is wrong."""
    assert result.code == 2, result
    assert result.stdout == ""
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert "Traceback" not in result.stderr
    for word in words:
        assert word in lines[0], lines[0]


def test_resync_since_a_future_time_is_refused_and_no_cursor_moves(edge: Edge) -> None:
    before = edge.digest()
    result = run(edge, "resync", "--since", "2999-01-01T00:00:00+00:00")
    refused(result, "--since", "in the future", "--full")
    assert edge.digest() == before


@pytest.mark.parametrize(
    ("args", "words"),
    [
        (["explain", "99999999999999999999"], ["CONTACT", "out of range"]),
        (["explain", "²"], ["CONTACT", "e-mail address"]),
        (["explain", "7", "--json", "--as-of", "9999-12-31T23:59:59-01:00"], ["--as-of"]),
        (["leads", "--limit", "99999999999999999999"], ["--limit"]),
        (["leads", "--json", "--limit", "0"], ["--limit"]),
        (["adjust", "7", "nan", "--reason", "x"], ["POINTS", "not a number"]),
        (["adjust", "7", "inf", "--reason", "x"], ["POINTS", "not a number"]),
        (["adjust", "7", "-inf", "--reason", "x"], ["POINTS", "not a number"]),
        (["adjust", "7", "1e308", "--reason", "x"], ["POINTS", "scale", "0..100"]),
        (["adjust", "7", "-0", "--reason", "x"], ["POINTS", "changes nothing"]),
        (["adjust", "7", "5", "--reason", "x", "--group", "general"], ["--group", "product_a"]),
        (["adjust", "99999999999999999999", "5", "--reason", "x"], ["CONTACT"]),
        (["resync", "--since", "garbage"], ["--since", "ISO 8601"]),
        (["resync", "--since", "0001-01-01"], ["--since", "1970"]),
        (["resync", "--contact", "99999999999999999999"], ["--contact"]),
        (["deadletter", "drop", "99999999999999999999"], ["ids"]),
        (["deadletter", "list", "--limit", "-3"], ["--limit"]),
        (["sandbox", "--contacts", "99999999999999999999"], ["--contacts"]),
        (["no-such-command"], ["No such command"]),
    ],
)
def test_a_bad_value_is_one_line_exit_2_and_leaves_the_store_alone(
    edge: Edge, args: list[str], words: list[str]
) -> None:
    before = edge.digest()
    refused(run(edge, *args), *words)
    assert edge.digest() == before


def test_a_negative_adjustment_into_a_group_is_recorded_and_explained(tmp_path: Path) -> None:
    edge = make_edge(tmp_path)
    result = run(
        edge, "adjust", "ada@example.com", "-12.5", "--reason", "bounced", "--group", "product_a"
    )
    assert result.code == 0, result
    assert "-12.5" in result.stdout
    explained = run(edge, "explain", "7", "--json")
    assert explained.code == 0, explained
    assert '"bounced"' in explained.stdout


def test_an_unknown_contact_is_the_work_failing_not_a_usage_error(edge: Edge) -> None:
    before = edge.digest()
    result = run(edge, "adjust", "4242", "5", "--reason", "x")
    assert result.code == 1
    assert "no contact '4242'" in result.stderr
    assert edge.digest() == before


# -- the argument space ----------------------------------------------------------------------

ODD = ["", " ", "0", "-1", "²", "١٢", "７", "1e3", "0x10", "99999999999999999999", "-0", "+10"]
text = st.text(st.characters(blacklist_characters="\x00"), max_size=24)
ids = st.one_of(
    st.sampled_from(["7", "8", "ada@example.com", "BOB@example.com ", "a@", "@b", "x y@z", *ODD]),
    st.integers(-(10**25), 10**25).map(str),
    text,
)
limits = st.one_of(st.sampled_from(["1", "100000", "100001", "nan", "1.5", *ODD]), text)
now = datetime.now(UTC)
instants = st.one_of(
    st.sampled_from(["garbage", "2999-01-01T00:00:00+00:00", "0001-01-01", "2026-13-01"]),
    st.sampled_from(["9999-12-31T23:59:59-01:00", "1969-12-31T23:59:59+00:00"]),
    st.datetimes(timezones=st.none() | st.just(UTC)).map(datetime.isoformat),
    st.just((now + timedelta(days=1)).isoformat()),
    text,
)
points = st.one_of(
    st.sampled_from(["nan", "inf", "-inf", "1e308", "-1e308", "100", "-100", "100.5", "1_0"]),
    st.floats().map(repr),
    text,
    st.sampled_from(ODD),
)
groups = st.sampled_from(["product_a", "general", "PRODUCT_A", "", "x" * 300])
bands = st.sampled_from(["hot", "warm", "cold", "", "HOT"])


def option(name: str, values: st.SearchStrategy[str]) -> st.SearchStrategy[list[str]]:
    """``[]`` or ``[name, value]``."""
    return st.one_of(st.just([]), values.map(lambda v: [name, v]))


commands = st.one_of(
    st.tuples(st.just(["explain"]), ids.map(lambda v: [v]), option("--as-of", instants)),
    st.tuples(
        st.just(["leads"]),
        option("--limit", limits),
        option("--band", bands),
        option("--group", groups),
    ),
    st.tuples(
        st.just(["adjust"]),
        st.tuples(ids, points).map(list),
        st.just(["--reason", "property"]),
        option("--group", groups),
    ),
    st.tuples(st.just(["resync"]), option("--since", instants), option("--contact", ids)),
    st.tuples(st.just(["deadletter", "drop"]), st.lists(ids, min_size=1, max_size=2)),
).map(lambda parts: [arg for part in parts for arg in part])


def expected_code(args: list[str]) -> int | None:
    """What an operator may rely on, decided from the raw arguments (``None``: no opinion)."""
    if args[0] == "adjust":
        contact, raw = args[1], args[2]
        group = args[args.index("--group") + 1] if "--group" in args else None
        try:
            value = float(raw)
        except ValueError:
            return 2
        if not math.isfinite(value) or value == 0 or abs(value) > 100:
            return 2
        if group is not None and group != "product_a":
            return 2
        if contact in ("7", "8", "ada@example.com") and not raw.startswith("--"):
            return 0
    if args[0] == "explain" and args[1].strip().isdigit() and not args[1].strip().isascii():
        return 2
    return None


@settings(max_examples=120, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(args=commands)
def test_no_argument_makes_a_traceback_and_a_refusal_changes_nothing(
    edge: Edge, args: list[str]
) -> None:
    before = edge.digest()
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(SystemClock, "sleep", lambda self, seconds: None)  # retries to a closed port
        result = run(edge, *args)
    event(f"{args[0]} exit {result.code}")
    assert result.code in (0, 1, 2), result
    assert "Traceback" not in result.stderr
    expected = expected_code(args)
    if expected is not None:
        assert result.code == expected, (args, result)
    if result.code == 2:
        assert result.stdout == ""
        assert len(result.stderr.strip().splitlines()) == 1, result.stderr
        assert edge.digest() == before, f"{args} was refused but changed the store"
