"""Scoring benchmark (issue 4, performance): a 1,000,000-contact, 20,000,000-event store.

Generates a deterministic store straight into SQLite (raw ``sqlite3`` executemany, indexes built
after the load), then times, each in a fresh process so peak RSS is per phase:

- ``full``: the first ``rescore(all=True)`` over every contact (every score row is new);
- ``sweep``: the daily decay/inactivity sweep a day later (every score row is updated);
- ``cycle``: 1,000 random contacts get a new event (timed apart) and are rescored;
- ``read`` (only with ``--phases read,...``): streaming every contact's scoring input, no scoring.

Prints a markdown table and writes ``bench/results/scoring-<timestamp>.json``. Run it as
``.venv/bin/python scripts/bench_scoring.py [--contacts N] [--events M] [--phases ...]``.
The store is cached under ``bench/data/`` keyed by size and seed (``--fresh`` rebuilds it).
"""

from __future__ import annotations

import argparse
import json
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


def build_store(path: Path, contacts: int, events: int, seed: int) -> None:
    """Write the benchmark store: ``contacts`` contacts, ``events`` events, deterministic."""
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
    rng = np.random.default_rng(seed)
    created = (AS_OF - timedelta(days=HISTORY_DAYS + 30)).strftime("%Y-%m-%d %H:%M:%S.%f")
    pos = rng.integers(0, len(POSITIONS), contacts)
    country = rng.integers(0, len(COUNTRIES), contacts)
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
    weights = _weights(vocab)
    # Activity is skewed: a few contacts are very active, most have a handful of events.
    activity = rng.pareto(1.5, contacts) + 0.2
    per_contact = np.floor(activity / activity.sum() * events).astype(np.int64)
    short = events - int(per_contact.sum())
    per_contact[rng.choice(contacts, short, replace=False)] += 1
    start = np.datetime64(AS_OF.replace(tzinfo=None), "s") - np.timedelta64(HISTORY_DAYS, "D")
    chunk = 1_000_000
    next_id = 0
    contact_of = np.repeat(np.arange(1, contacts + 1, dtype=np.int64), per_contact)
    while next_id < events:
        n = min(chunk, events - next_id)
        cids = contact_of[next_id : next_id + n]
        kinds = rng.choice(len(vocab), n, p=weights)
        secs = rng.integers(0, HISTORY_DAYS * 86400, n)
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
        next_id += n
        print(f"  events {next_id:,}/{events:,}", file=sys.stderr, flush=True)
    db.commit()
    for sql in index_sql:
        db.execute(sql)
    db.execute(
        "UPDATE contact SET last_activity_at = (SELECT max(occurred_at) FROM event"
        " WHERE event.contact_id = contact.id)"
    )
    db.commit()
    db.execute("PRAGMA journal_mode=WAL")
    db.close()
    tmp.rename(path)


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
    from scorebridge.scoring import compile_rules, load_rules
    from scorebridge.store.engine import open_store
    from scorebridge.sync.score import rescore
    from scorebridge.sync.score_load import ShapeCache, contacts_to_rescore, load_batch

    rules = compile_rules(load_rules(rules_path))
    store = open_store(f"sqlite:///{db}")
    started = time.perf_counter()
    out: dict[str, Any] = {"phase": name}
    if name == "read":
        shapes = ShapeCache()
        events = 0
        with store.read() as conn:
            ids = contacts_to_rescore(conn, everyone=True)
            for start in range(0, len(ids), 20_000):
                batch, _ = load_batch(conn, ids[start : start + 20_000], rules, shapes)
                events += len(batch.event_us)
        out |= {"contacts": len(ids), "events": events, "shapes": len(shapes.shapes)}
    elif name in ("full", "sweep"):
        report = rescore(store, rules, AS_OF + timedelta(days=name == "sweep"), all=True)
        out |= report.as_dict()
    elif name == "cycle":
        with store.read() as conn:
            (count,) = conn.exec_driver_sql("SELECT max(id) FROM contact").one()
        changed = np.random.default_rng(1).choice(int(count), 1_000, replace=False) + 1
        at = (AS_OF + timedelta(hours=1)).strftime("%Y-%m-%d %H:%M:%S.%f")
        insert_started = time.perf_counter()
        with store.write() as conn:
            conn.exec_driver_sql(
                "INSERT INTO event (source, stream, external_id, contact_id, kind, occurred_at,"
                " attributes) VALUES ('mautic', 'page_hits', ?, ?, 'page.hit', ?, ?)",
                [
                    (
                        f"bench-{c}-{time.time_ns()}",
                        int(c),
                        at,
                        '{"url": "https://example.com/pricing"}',
                    )
                    for c in changed
                ],
            )
            conn.exec_driver_sql(
                "UPDATE contact SET rescore_needed = 1 WHERE id = ?", [(int(c),) for c in changed]
            )
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
    parser.add_argument("--phases", default="full,sweep,cycle", help="any of read,full,sweep,cycle")
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
    work = data / "work.sqlite"
    for suffix in ("", "-wal", "-shm"):
        Path(f"{work}{suffix}").unlink(missing_ok=True)
    subprocess.run(["cp", "--sparse=always", str(pristine), str(work)], check=True)
    results = []
    for phase in args.phases.split(","):
        cmd = [
            sys.executable,
            __file__,
            "--phase",
            phase,
            "--db",
            str(work),
            "--rules",
            str(args.rules),
        ]
        done = subprocess.run(cmd, check=True, capture_output=True, text=True)
        results.append(json.loads(done.stdout.strip().splitlines()[-1]))
        print(
            f"{phase}: {results[-1]['seconds']} s, peak {results[-1]['peak_rss_mb']} MB",
            file=sys.stderr,
        )
    now = datetime.now(UTC)
    document = {
        "when": now.isoformat(),
        "contacts": args.contacts,
        "events": args.events,
        "seed": args.seed,
        "cpus": len(__import__("os").sched_getaffinity(0)),
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
