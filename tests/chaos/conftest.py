"""Fault-injection harness (engineering.md B.14): the bridge as a real subprocess against an
in-process sandbox, and the comparison of what it leaves behind with one clean run.

``Chaos`` starts a small seeded world, writes its config (store in the test's tmp dir), and runs
``scorebridge sync`` / ``scorebridge run`` as subprocesses with optional crash points
(``SCOREBRIDGE_CRASH_AT``). :func:`remote_state` reads both emulators' ground truth straight
from their in-process state, keyed by e-mail so that ids created in a different order still
compare; :func:`check_store` asserts the store invariants (integrity, unique events and
contacts, an empty outbox, no open dead letters). ``clean_state`` is the converged remote state
of an unfaulted run of the same world, computed once per session. HubSpot's search lags writes
by :data:`SEARCH_LAG_MS` in every world, as in production.
"""

from __future__ import annotations

import json
import os
import signal
import sqlite3
import subprocess
import sys
import time
from collections import Counter
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "integration"))

from pull.conftest import World, start_world  # noqa: E402
from writeback.conftest import without_stage_resets, write_requests  # noqa: E402

from scorebridge.sandbox.base import Faults  # noqa: E402

CONTACTS, DAYS, SEED = 60, 20, 11
SEARCH_LAG_MS = 5_000
"""HubSpot's search index shows writes seconds later, as in production: on in every chaos
world, so that no existence check may lean on search."""
#: Operations the bridge still has to finish: pending or in flight, except a deal that waits
#: for a person in the CRM (a Salesforce Lead's conversion), which no cycle can finish.
QUEUED = (
    "SELECT count(*) FROM outbox WHERE status IN ('pending', 'in_flight') "
    "AND coalesce(last_error, '') NOT LIKE '%is not converted%'"
)
PROCESS_TIMEOUT = 120.0


@dataclass
class Result:
    """A finished ``scorebridge`` subprocess."""

    code: int
    stdout: str
    stderr: str

    @property
    def report(self) -> dict[str, Any]:
        """The ``--json`` document."""
        return dict(json.loads(self.stdout))


@dataclass
class Chaos:
    """A running sandbox world plus the bridge run against it as subprocesses."""

    world: World
    root: Path
    procs: list[subprocess.Popen[bytes]] = field(default_factory=list)

    @property
    def config(self) -> Path:
        return self.world.config

    @property
    def store_path(self) -> Path:
        return self.root / "store.db"

    @property
    def mautic(self) -> Any:
        return self.world.sandbox.mautic

    @property
    def hubspot(self) -> Any:
        return self.world.sandbox.crms["hubspot"]

    def url(self, system: str) -> str:
        return str(self.world.info[system]["url"])

    def faults(self, system: str, **faults: Any) -> None:
        """Replace the faults in force on one emulator (no arguments clears them)."""
        self.world.sandbox.servers[system].set_faults(Faults(**faults))

    def limits(self, **limits: int) -> None:
        """Change the HubSpot emulator's limits (``search_lag_ms`` among them)."""
        requests.post(
            f"{self.url('hubspot')}/_sandbox/limits", json=limits, timeout=10
        ).raise_for_status()

    def counts(self, system: str) -> dict[str, int]:
        return self.world.sandbox.servers[system].request_counts()

    def writes(self) -> dict[str, Counter[str]]:
        """Write requests received so far, per system."""
        found = {name: write_requests(self.counts(name)) for name in ("mautic", "hubspot")}
        del found["mautic"]["POST /oauth/v2/token"]  # a login, not an effect
        return found

    def append_config(self, text: str) -> None:
        self.config.write_text(self.config.read_text() + "\n" + text + "\n")

    def env(self, crash_at: str | None = None, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if not k.startswith("SCOREBRIDGE_")}
        # score every run at the world's end, however many minutes after the clean run it is
        env["SCOREBRIDGE_SCORING_AS_OF"] = WORLD_NOW.isoformat()
        if crash_at:
            env["SCOREBRIDGE_CRASH_AT"] = crash_at
        env.update(extra)
        return env

    def command(self, *args: str) -> list[str]:
        return [sys.executable, "-m", "scorebridge", "--config", str(self.config), *args]

    def sync(self, crash_at: str | None = None, *, check: bool = True, **env: str) -> Result:
        """``scorebridge sync --json`` to its end; ``check`` asserts exit 0."""
        done = subprocess.run(
            self.command("sync", "--json"),
            cwd=self.root,
            env=self.env(crash_at, **env),
            capture_output=True,
            text=True,
            timeout=PROCESS_TIMEOUT,
            check=False,
        )
        result = Result(done.returncode, done.stdout, done.stderr)
        if check:
            assert result.code == 0, result.stderr[-3000:]
        return result

    def backoff_elapsed(self) -> None:
        """Let the push backoff pass (1 min, 2, 4, ...) without waiting for it: every queued
        operation becomes due. The effects under test do not depend on when a retry is sent."""
        if not self.store_path.exists():
            return
        conn = sqlite3.connect(self.store_path, timeout=30)
        with conn:
            conn.execute(
                "UPDATE outbox SET next_attempt_at = '1970-01-01 00:00:00.000000' "
                "WHERE status = 'pending'"
            )
        conn.close()

    def converge(self, most: int = 4) -> Result:
        """Clean cycles until one writes nothing and nothing is queued (at most ``most``),
        letting the push backoff pass before each; the idle cycle's result."""
        for _ in range(most):
            self.backoff_elapsed()
            before = self.writes()
            result = self.sync()
            if self.writes() == before and self.queued() == 0:
                return result
        raise AssertionError(f"still writing after {most} clean cycles: {result.report}")

    def queued(self) -> int:
        """Outbox operations not done yet."""
        with closing_ro(self.store_path) as conn:
            return int(conn.execute(QUEUED).fetchone()[0])

    def start(self, *args: str, crash_at: str | None = None, **env: str) -> subprocess.Popen[bytes]:
        """A ``scorebridge`` subprocess in the background (stderr in ``<root>/procN.log``)."""
        log = (self.root / f"proc{len(self.procs)}.log").open("wb")
        proc = subprocess.Popen(
            self.command(*args),
            cwd=self.root,
            env=self.env(crash_at, **env),
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        log.close()
        self.procs.append(proc)
        return proc

    def log(self, proc: subprocess.Popen[bytes]) -> str:
        return (self.root / f"proc{self.procs.index(proc)}.log").read_text()

    def replay_dead_letters(self) -> list[str]:
        """``scorebridge deadletter replay`` each open dead letter; their reasons."""
        with closing_ro(self.store_path) as conn:
            dead = conn.execute(
                "SELECT id, reason FROM dead_letter WHERE resolved_at IS NULL"
            ).fetchall()
        for entry_id, _ in dead:
            done = subprocess.run(
                self.command("deadletter", "replay", str(entry_id)),
                cwd=self.root,
                env=self.env(),
                capture_output=True,
                text=True,
                timeout=PROCESS_TIMEOUT,
                check=False,
            )
            assert done.returncode == 0, done.stderr
        return [reason for _, reason in dead]

    def runs(self) -> list[dict[str, Any]]:
        """The ``run`` rows, oldest first (a read-only connection: never blocks the bridge)."""
        with closing_ro(self.store_path) as conn:
            rows = conn.execute("SELECT command, outcome, error FROM run ORDER BY id").fetchall()
        return [{"command": c, "outcome": o, "error": e} for c, o, e in rows]

    def close(self) -> None:
        for proc in self.procs:
            if proc.poll() is None:
                proc.send_signal(signal.SIGKILL)
                proc.wait(30)
        self.world.sandbox.stop()


class closing_ro:  # noqa: N801 - used like contextlib.closing
    """A read-only sqlite3 connection as a context manager."""

    def __init__(self, path: Path) -> None:
        self.conn = sqlite3.connect(f"file:{path}?mode=ro", uri=True, timeout=30)

    def __enter__(self) -> sqlite3.Connection:
        return self.conn

    def __exit__(self, *exc: object) -> None:
        self.conn.close()


#: Every world of the session ends at the same instant, so a test's world is the same as the
#: clean run's: generated "now" decides which UTC day each visit falls on (max_per_day caps).
WORLD_NOW = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=1)


def new_chaos(root: Path, contacts: int = CONTACTS, days: int = DAYS, seed: int = SEED) -> Chaos:
    """Start a world and point a config (store under ``root``) at it."""
    world = start_world(root, contacts=contacts, days=days, seed=seed, now=WORLD_NOW)
    without_stage_resets(world)
    text = (
        world.config.read_text()
        .replace("sqlite:///./scorebridge.db", f"sqlite:///{root}/store.db")
        # the sandbox's limits are raised below: pace like an account that allows it
        .replace('kind = "hubspot"', 'kind = "hubspot"\nrequests_per_10s = 10000')
    )
    world.config.write_text(text)
    made = Chaos(world, root)
    made.limits(ten_secondly=100_000, daily=1_000_000, search_per_second=100_000)
    made.limits(search_lag_ms=SEARCH_LAG_MS)
    return made


@pytest.fixture
def chaos(tmp_path: Path) -> Iterator[Chaos]:
    """A fresh world of :data:`CONTACTS` contacts for one test."""
    made = new_chaos(tmp_path)
    yield made
    made.close()


def remote_state(chaos: Chaos) -> dict[str, Any]:
    """Both emulators' ground truth, keyed by e-mail (volatile timestamps left out)."""
    return {"mautic": _mautic_state(chaos), "hubspot": _hubspot_state(chaos)}


def _mautic_state(chaos: Chaos) -> dict[str, Any]:
    emulator = chaos.mautic
    server = chaos.world.sandbox.servers["mautic"]
    out: dict[str, Any] = {}
    with server.lock:
        state = emulator.state
        notes: Counter[int] = Counter(n.lead_id for n in state.notes.values())
        emails: Counter[str] = Counter()
        for contact in state.contacts.values():
            truth = emulator.truth(str(contact.id))
            email = str(contact.values.get("email") or f"id:{contact.id}")
            emails[email] += 1
            out[email] = {
                "points": truth["points"],
                "group_scores": truth["group_scores"],
                "stage": truth["stage"],
                "segments": truth["segments"],
                "tags": sorted(truth["tags"]),
                "sb_score": contact.values.get("sb_score"),
                "sb_band": contact.values.get("sb_band"),
                "notes": notes[contact.id],
            }
    duplicated = [email for email, n in emails.items() if n > 1]
    assert not duplicated, f"duplicate Mautic contacts: {duplicated}"
    return out


def _hubspot_state(chaos: Chaos) -> dict[str, Any]:
    emulator = chaos.hubspot
    server = chaos.world.sandbox.servers["hubspot"]
    truth = emulator.truth()
    written = set(truth["properties"]["contacts"]) | {"lifecyclestage", "hs_lead_status"}
    with server.lock:
        state = emulator.state
        out: dict[str, Any] = {}
        emails: Counter[str] = Counter()
        for record in state.records["contacts"].values():
            if record.archived:
                continue
            email = str(record.properties.get("email") or f"id:{record.id}")
            emails[email] += 1
            linked: dict[str, list[str]] = {}
            for kind, name in (("tasks", "hs_task_subject"), ("deals", "dealname")):
                ids = state.associated("contacts", record.id, kind)
                linked[kind] = sorted(str(state.records[kind][i].properties.get(name)) for i in ids)
            out[email] = {
                "properties": {
                    k: v
                    for k, v in sorted(record.properties.items())
                    if k in written and v not in (None, "")
                },
                **linked,
            }
    duplicated = [email for email, n in emails.items() if n > 1]
    assert not duplicated, f"duplicate HubSpot contacts: {duplicated}"
    out["_totals"] = {
        "contacts": truth["contacts"],
        "tasks": truth["tasks"],
        "deals": truth["deals"],
    }
    return out


def check_store(
    chaos: Chaos, *, outbox_empty: bool = True, dead_letters_like: str | None = None
) -> None:
    """The store is intact: integrity ok, events and contacts unique, nothing left behind
    (``dead_letters_like``: open dead letters whose reason holds it are expected, no other)."""
    with closing_ro(chaos.store_path) as conn:
        assert conn.execute("PRAGMA integrity_check").fetchone() == ("ok",)
        dup_events = conn.execute(
            "SELECT source, stream, external_id, count(*) FROM event "
            "GROUP BY source, stream, external_id HAVING count(*) > 1"
        ).fetchall()
        assert dup_events == []
        dup_contacts = conn.execute(
            "SELECT mautic_id, count(*) FROM contact WHERE mautic_id IS NOT NULL "
            "GROUP BY mautic_id HAVING count(*) > 1"
        ).fetchall()
        assert dup_contacts == []
        dead = conn.execute(
            "SELECT kind, source, record_id, reason FROM dead_letter WHERE resolved_at IS NULL"
        ).fetchall()
        if dead_letters_like is not None:
            dead = [d for d in dead if dead_letters_like not in str(d[3])]
        assert dead == []
        if outbox_empty:
            assert conn.execute(QUEUED).fetchone() == (0,)


def assert_same_remote_state(actual: dict[str, Any], expected: dict[str, Any]) -> None:
    """Equal, with a readable first difference."""
    for system in ("mautic", "hubspot"):
        got, want = actual[system], expected[system]
        missing = sorted(set(want) - set(got))
        extra = sorted(set(got) - set(want))
        assert not missing, f"{system}: missing {missing[:5]}"
        assert not extra, f"{system}: extra {extra[:5]}"
        for key in sorted(want):
            assert got[key] == want[key], f"{system} {key}: {got[key]} != {want[key]}"


def converged_state(made: Chaos) -> dict[str, Any]:
    """Sync a fresh world until it is idle, check the store, close it; its remote state."""
    try:
        made.sync()
        made.converge()
        check_store(made)
        return remote_state(made)
    finally:
        made.close()


@pytest.fixture(scope="session")
def clean_state(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    """The converged remote state of one clean run of the default world."""
    return converged_state(new_chaos(tmp_path_factory.mktemp("clean")))


def wait_for(condition: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    """Poll ``condition`` until true (a subprocess's progress cannot be awaited otherwise)."""
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


#: Stream -> Mautic table for the streams the bridge only reads (never writes back into).
READ_ONLY_STREAMS = {
    "page_hits": "page_hits",
    "form_submissions": "form_submissions",
    "asset_downloads": "asset_downloads",
    "email_stats": "email_stats",
}


def assert_every_event_pulled(chaos: Chaos) -> None:
    """Nothing lost: every row of the read-only Mautic streams is one stored event."""
    tables = chaos.mautic.truth(None)["tables"]
    with closing_ro(chaos.store_path) as conn:
        stored = dict(
            conn.execute(
                "SELECT stream, count(*) FROM event WHERE source = 'mautic' GROUP BY stream"
            ).fetchall()
        )
    for stream, table in READ_ONLY_STREAMS.items():
        if stream == "email_stats":  # one row per e-mail sent; only opened ones are events
            rows = [r for r in chaos.mautic.state.tables[table].rows if r.get("date_read")]
            assert stored.get(stream, 0) == len(rows), stream
        else:
            assert stored.get(stream, 0) == tables[table], stream
