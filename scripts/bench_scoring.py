"""Scoring benchmark (issue 4, performance): a 1,000,000-contact, 20,000,000-event store.

Generates a deterministic store straight into SQLite (raw ``sqlite3`` executemany, indexes built
after the load; the event digests written from the same draws, a sample checked against a rebuild
from the event rows; a cached store without digests gets them the same way), then times, each in
a fresh process so peak RSS is per phase:

- ``full``: the first ``rescore(all=True)`` over every contact (every score row is new);
- ``sweep``: the daily decay/inactivity sweep a day later (every score row is updated);
- ``cycle``: 1,000 random contacts get a new event through the pull's ``store_events`` (timed
  apart) and are rescored;
- ``read`` / ``score`` (only when named in ``--phases``): streaming every contact's scoring input
  from the digests, without / with bulk scoring (nothing saved): ``full`` minus ``score`` is
  the saving.

Prints a markdown table and writes ``bench/results/scoring-<timestamp>.json``. Run it as
``.venv/bin/python scripts/bench_scoring.py [--contacts N] [--events M] [--phases ...]``.
The store is cached under ``bench/data/`` keyed by size and seed (``--fresh`` rebuilds it).
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
AS_OF = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
HISTORY_DAYS = 365
POSITIONS = ["CEO", "Founder", "Head of Data", "Engineer", "Student", "Analyst", "Owner", ""]
COUNTRIES = ["Hungary", "Norway", "Germany", "France", "United States", "Sweden", "Finland"]
DOMAINS = ["acme.example", "gmail.com", "sensorwise.example", "nordic-steel.example", "outlook.com"]
MPP_AGENT = (
    "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15 (KHTML, like Gecko)"
)
HUMAN_AGENT = (
    "Mozilla/5.0 (Windows NT 10.0; Win64; x64) AppleWebKit/537.36 Chrome/120 Safari/537.36"
)


def vocabulary() -> list[tuple[str, str, str]]:
    """Every (stream, kind, attributes JSON) an event may carry: a realistic, bounded catalogue."""
    vocab: list[tuple[str, str, str]] = []
    pages = [
        "/",
        "/pricing",
        "/blog",
        "/docs",
        "/careers",
        "/products/product-a",
        "/products/product-b",
    ]
    for i in range(700):
        path = pages[i % len(pages)] + ("" if i < len(pages) else f"/{i}")
        vocab.append(("page_hits", "page.hit", json.dumps({"url": f"https://example.com{path}"})))
    for email_id in range(1, 61):
        for agent in (HUMAN_AGENT, MPP_AGENT):
            attrs = {"email_id": email_id, "user_agent": agent}
            vocab.append(("email_stats", "email.open", json.dumps(attrs)))
        click = {"email_id": email_id, "url": f"https://example.com{pages[email_id % 7]}"}
        vocab.append(("page_hits", "email.click", json.dumps(click)))
    for form_id in range(1, 11):
        vocab.append(("form_submissions", "form.submit", json.dumps({"form_id": form_id})))
    for asset_id in range(1, 31):
        vocab.append(("asset_downloads", "asset.download", json.dumps({"asset_id": asset_id})))
    for delta in (1, 2, 5, 10, -5, 20):
        for group in (None, "Product A", "Product B"):
            attrs: dict[str, Any] = {"delta": delta, "group": group, "type": "url", "action": "hit"}
            vocab.append(("points", "mautic.points", json.dumps(attrs)))
    vocab.append(("dnc", "dnc.unsubscribed", json.dumps({"reason": 1})))
    return vocab


def _weights(vocab: list[tuple[str, str, str]]) -> np.ndarray:
    share = {"page.hit": 0.45, "email.open": 0.3, "email.click": 0.1, "form.submit": 0.02}
    share |= {"asset.download": 0.03, "mautic.points": 0.1, "dnc.unsubscribed": 0.001}
    counts: dict[str, int] = {}
    for _, kind, _ in vocab:
        counts[kind] = counts.get(kind, 0) + 1
    w = np.array([share[kind] / counts[kind] for _, kind, _ in vocab])
    return w / w.sum()


def _ddl(path: Path) -> None:
    """Create the schema the way scorebridge does (Alembic migrations through open_store)."""
    from scorebridge.store.engine import open_store

    open_store(f"sqlite:///{path}").close()


def _plan(
    contacts: int, events: int, seed: int
) -> tuple[np.random.Generator, np.ndarray, np.ndarray, np.ndarray]:
    """Draw the per-contact fields and event counts (deterministic): positions, countries, and
    the owning contact id of every event (ascending). The returned rng then draws the events
    themselves, chunk by chunk (:func:`_event_chunks`)."""
    rng = np.random.default_rng(seed)
    pos = rng.integers(0, len(POSITIONS), contacts)
    country = rng.integers(0, len(COUNTRIES), contacts)
    # Activity is skewed: a few contacts are very active, most have a handful of events.
    activity = rng.pareto(1.5, contacts) + 0.2
    per_contact = np.floor(activity / activity.sum() * events).astype(np.int64)
    short = events - int(per_contact.sum())
    per_contact[rng.choice(contacts, short, replace=False)] += 1
    contact_of = np.repeat(np.arange(1, contacts + 1, dtype=np.int64), per_contact)
    return rng, pos, country, contact_of


EVENT_CHUNK = 1_000_000


def _start_us(days: int) -> int:
    """The history's first instant in microseconds since the epoch."""
    end = int(np.datetime64(AS_OF.replace(tzinfo=None), "us").astype(np.int64))
    return end - days * 86_400 * 1_000_000


def _event_chunks(rng: np.random.Generator, events: int, days: int = HISTORY_DAYS) -> Any:
    """Yield ``(first id - 1, vocabulary index, seconds after the history start)`` per chunk."""
    weights = _weights(vocabulary())
    done = 0
    while done < events:
        n = min(EVENT_CHUNK, events - done)
        kinds = rng.choice(len(weights), n, p=weights)
        secs = rng.integers(0, days * 86400, n)
        yield done, kinds, secs
        done += n


def build_store(
    path: Path, contacts: int, events: int, seed: int, days: int = HISTORY_DAYS
) -> None:
    """Write the benchmark store: ``contacts`` contacts, ``events`` events over ``days`` days
    before ``AS_OF``, deterministic."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".building")
    tmp.unlink(missing_ok=True)
    _ddl(tmp)
    db = sqlite3.connect(tmp)
    db.execute("PRAGMA journal_mode=DELETE")
    index_sql = [
        r[0]
        for r in db.execute("SELECT sql FROM sqlite_master WHERE type='index' AND sql NOT NULL")
    ]
    names = db.execute("SELECT name FROM sqlite_master WHERE type='index' AND sql NOT NULL")
    for (name,) in names.fetchall():
        db.execute(f'DROP INDEX "{name}"')
    db.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF; PRAGMA cache_size=-400000;")
    created = (AS_OF - timedelta(days=days + 30)).strftime("%Y-%m-%d %H:%M:%S.%f")
    rng, pos, country, contact_of = _plan(contacts, events, seed)
    db.executemany(
        "INSERT INTO contact (id, mautic_id, email, fields, crm_fields, mautic_points,"
        " rescore_needed, placeholder, deleted, created_at, updated_at)"
        " VALUES (?, ?, ?, ?, '{}', 0, 1, 0, 0, ?, ?)",
        (
            (
                i + 1,
                i + 1,
                f"lead{i + 1}@example{i % 997}.com",
                json.dumps(
                    {"position": POSITIONS[pos[i]], "country": COUNTRIES[country[i]], "index": i}
                ),
                created,
                created,
            )
            for i in range(contacts)
        ),
    )
    vocab = vocabulary()
    start = np.datetime64(AS_OF.replace(tzinfo=None), "s") - np.timedelta64(days, "D")
    for next_id, kinds, secs in _event_chunks(rng, events, days):
        cids = contact_of[next_id : next_id + len(kinds)]
        stamps = np.datetime_as_string(start + secs.astype("timedelta64[s]"), unit="us")
        rows = (
            (
                next_id + j + 1,
                "mautic",
                vocab[k][0],
                str(next_id + j + 1),
                int(c),
                vocab[k][1],
                s.replace("T", " "),
                vocab[k][2],
            )
            for j, (c, k, s) in enumerate(
                zip(cids.tolist(), kinds.tolist(), stamps.tolist(), strict=True)
            )
        )
        db.executemany(
            "INSERT INTO event (id, source, stream, external_id, contact_id, kind, occurred_at,"
            " attributes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            rows,
        )
        print(f"  events {next_id + len(kinds):,}/{events:,}", file=sys.stderr, flush=True)
    db.commit()
    for sql in index_sql:
        db.execute(sql)
    db.execute(
        "UPDATE contact SET last_activity_at = (SELECT max(occurred_at) FROM event"
        " WHERE event.contact_id = contact.id)"
    )
    db.commit()
    db.close()
    write_digests(tmp, contacts, events, seed, days)
    tmp.rename(path)


def write_digests(
    path: Path, contacts: int, events: int, seed: int, days: int = HISTORY_DAYS
) -> None:
    """Write ``event_shape`` and ``event_digest`` of the store straight from the generator.

    Replays the deterministic draws of :func:`build_store` (no need to read 20 million rows
    back); the store must be at the digest schema (``open_store`` migrates an older one).
    """
    from scorebridge.store.digests import canonical

    _ddl(path)
    rng, _, _, contact_of = _plan(contacts, events, seed)
    times = np.empty(events, "<i8")
    shapes = np.empty(events, "<i4")
    for done, kinds, secs in _event_chunks(rng, events, days):
        times[done : done + len(kinds)] = _start_us(days) + secs * 1_000_000
        shapes[done : done + len(kinds)] = kinds + 1
    db = sqlite3.connect(path)
    db.executescript("PRAGMA synchronous=OFF; PRAGMA cache_size=-400000;")
    db.execute("DELETE FROM event_digest")
    db.execute("DELETE FROM event_shape")
    db.executemany(
        "INSERT INTO event_shape (id, kind, attributes) VALUES (?, ?, ?)",
        [(k + 1, kind, canonical(json.loads(a))) for k, (_, kind, a) in enumerate(vocabulary())],
    )
    owners, starts, counts = np.unique(contact_of, return_index=True, return_counts=True)
    db.executemany(
        "INSERT INTO event_digest (contact_id, event_count, occurred_us, shape_ids)"
        " VALUES (?, ?, ?, ?)",
        (
            (c, n, times[s : s + n].tobytes(), shapes[s : s + n].tobytes())
            for c, s, n in zip(owners.tolist(), starts.tolist(), counts.tolist(), strict=True)
        ),
    )
    db.commit()
    db.close()


def check_digests(path: Path, sample: int = 300) -> None:
    """Spot-check: a sample of digests equals a rebuild from the event rows (then rolled back)."""
    from scorebridge.store import digests
    from scorebridge.store.engine import open_store

    store = open_store(f"sqlite:///{path}")
    try:
        with store.read() as conn:
            (top,) = conn.exec_driver_sql("SELECT max(id) FROM contact").one()
            ids = np.unique(np.random.default_rng(0).integers(1, int(top) + 1, sample))
            select = "SELECT contact_id, event_count, occurred_us, shape_ids FROM event_digest"
            where = f" WHERE contact_id IN ({', '.join(map(str, ids.tolist()))}) ORDER BY 1"
            written = conn.exec_driver_sql(select + where).all()
            digests.rebuild(conn, ids)
            if conn.exec_driver_sql(select + where).all() != written:
                raise SystemExit(f"{path}: digests differ from the event rows; use --fresh")
    finally:
        store.close()


def _has_digests(path: Path) -> bool:
    db = sqlite3.connect(f"file:{path}?mode=ro", uri=True)
    try:
        names = {r[0] for r in db.execute("SELECT name FROM sqlite_master WHERE type='table'")}
        return "event_digest" in names and bool(
            db.execute("SELECT 1 FROM event_digest LIMIT 1").fetchall()
        )
    finally:
        db.close()


def _rss_mb() -> float:
    """Peak resident set size of this process in MB (VmHWM; ru_maxrss as a fallback)."""
    try:
        for line in Path("/proc/self/status").read_text().splitlines():
            if line.startswith("VmHWM:"):
                return int(line.split()[1]) / 1024
    except OSError:
        pass
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _phase(name: str, db: Path, rules_path: Path) -> dict[str, Any]:
    """Run one phase in this process and return its measurements."""
    from scorebridge.mautic.streams import PulledEvent
    from scorebridge.scoring import compile_rules, load_rules
    from scorebridge.scoring.batch import score_batch
    from scorebridge.store.engine import open_store
    from scorebridge.sync.pull import store_events
    from scorebridge.sync.score import rescore
    from scorebridge.sync.score_load import ShapeCache, contacts_to_rescore, load_batch

    rules = compile_rules(load_rules(rules_path))
    store = open_store(f"sqlite:///{db}")
    started = time.perf_counter()
    out: dict[str, Any] = {"phase": name}
    if name in ("read", "score"):
        shapes = ShapeCache()
        events = 0
        with store.read() as conn:
            ids = contacts_to_rescore(conn, everyone=True)
            for start in range(0, len(ids), 20_000):
                batch, _ = load_batch(conn, ids[start : start + 20_000], rules, shapes)
                events += len(batch.event_us)
                if name == "score":
                    score_batch(batch, rules, AS_OF)
        out |= {"contacts": len(ids), "events": events, "shapes": len(shapes.shapes)}
    elif name in ("full", "sweep"):
        report = rescore(store, rules, AS_OF + timedelta(days=name == "sweep"), all=True)
        out |= report.as_dict()
    elif name == "cycle":
        with store.read() as conn:
            (count,) = conn.exec_driver_sql("SELECT max(id) FROM contact").one()
        changed = np.random.default_rng(1).choice(int(count), 1_000, replace=False) + 1
        at = AS_OF + timedelta(hours=1)
        page = [
            PulledEvent(
                "page_hits",
                f"bench-{c}-{time.time_ns()}",
                int(c),
                "page.hit",
                at,
                {"url": "https://example.com/pricing"},
            )
            for c in changed
        ]
        insert_started = time.perf_counter()
        with store.write() as conn:
            store_events(conn, page, at)
        out["pull_insert_seconds"] = round(time.perf_counter() - insert_started, 3)
        started = time.perf_counter()
        out |= rescore(store, rules, AS_OF + timedelta(hours=1)).as_dict()
    store.close()
    out["seconds"] = round(time.perf_counter() - started, 3)
    out["peak_rss_mb"] = round(_rss_mb(), 1)
    return out


def main() -> None:
    """Build (or reuse) the store, run each phase in a fresh process, report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--contacts", type=int, default=1_000_000)
    parser.add_argument("--events", type=int, default=20_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--rules", type=Path, default=ROOT / "config" / "scoring.example.toml")
    parser.add_argument(
        "--phases", default="full,sweep,cycle", help="any of read,score,full,sweep,cycle"
    )
    parser.add_argument("--fresh", action="store_true", help="rebuild the cached store")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        sys.stdout.write(json.dumps(_phase(args.phase, args.db, args.rules)) + "\n")
        return
    data = ROOT / "bench" / "data"
    pristine = data / f"store-{args.contacts}-{args.events}-{args.seed}.sqlite"
    if args.fresh or not pristine.exists():
        started = time.perf_counter()
        print(f"building {pristine} ...", file=sys.stderr)
        build_store(pristine, args.contacts, args.events, args.seed)
        print(f"built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    if not _has_digests(pristine):
        started = time.perf_counter()
        write_digests(pristine, args.contacts, args.events, args.seed)
        print(f"digests written in {time.perf_counter() - started:.0f} s", file=sys.stderr)
        check_digests(pristine)
    work = data / f"work-{os.getpid()}.sqlite"  # one per run: runs may overlap
    subprocess.run(["cp", "--sparse=always", str(pristine), str(work)], check=True)
    results = []
    try:
        for phase in args.phases.split(","):
            cmd = [sys.executable, __file__, "--phase", phase, "--db", str(work)]
            done = subprocess.run(
                [*cmd, "--rules", str(args.rules)], capture_output=True, text=True
            )
            if done.returncode:
                raise SystemExit(f"phase {phase} failed:\n{done.stderr}")
            results.append(json.loads(done.stdout.strip().splitlines()[-1]))
            print(
                f"{phase}: {results[-1]['seconds']} s, peak {results[-1]['peak_rss_mb']} MB",
                file=sys.stderr,
            )
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{work}{suffix}").unlink(missing_ok=True)
    now = datetime.now(UTC)
    document = {
        "when": now.isoformat(),
        "contacts": args.contacts,
        "events": args.events,
        "seed": args.seed,
        "cpus": len(os.sched_getaffinity(0)),
        "results": results,
    }
    out = ROOT / "bench" / "results" / f"scoring-{now.strftime('%Y%m%dT%H%M%SZ')}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, indent=2) + "\n")
    print("| phase | contacts | seconds | peak RSS (MB) |")
    print("| --- | ---: | ---: | ---: |")
    for r in results:
        print(f"| {r['phase']} | {r.get('contacts', '')} | {r['seconds']} | {r['peak_rss_mb']} |")
    print(f"\nwritten to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
