"""Backtest benchmark (issue 10, figure 5): 52 weekly snapshots over a 100,000-contact store.

Builds (or reuses, under ``bench/data/``) the scoring benchmark's deterministic store with 460
days of history, so that 52 weekly snapshots fit before the 90-day window of the last one, and
adds closed CRM deals (won for 2 % of the contacts, the more active ones more likely; lost for
3 %), through the store's own digest code. Then, each in a fresh process so peak RSS is per
phase:

- ``backtest``: ``measure.run_backtest`` with the example rules, 52 snapshots every 7 days,
  90-day window: the whole command's work (read, replay, metrics, bootstrap), nothing written;
- ``rescore``: one full rescore of the same store (``rescore(all=True)``, on a copy): the
  backtest's cost is also given as a ratio to 52 of these.

With ``--growth`` the backtest also runs on a quarter of the contacts and events, and the
1,000,000-contact figure is estimated from the two points (time and memory grow linearly with
contacts and events here: every snapshot scores every contact's events once).

    .venv/bin/python scripts/bench_backtest.py [--contacts N] [--events M] [--growth]
"""

from __future__ import annotations

import argparse
import json
import os
import sqlite3
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import bench_scoring
import numpy as np

ROOT = Path(__file__).resolve().parent.parent
DAYS = 460
SNAPSHOTS = 52
RULES = ROOT / "config" / "scoring.example.toml"


def add_deals(path: Path, contacts: int, seed: int) -> int:
    """Won deals for 2 % of the contacts (weighted by activity), lost for 3 %, each closed at
    a random time of the history; event rows and digests written by scorebridge's own code."""
    from scorebridge.store import digests
    from scorebridge.store.engine import open_store

    rng = np.random.default_rng(seed + 1)
    db = sqlite3.connect(path)
    counts = np.zeros(contacts + 1)
    for cid, n in db.execute("SELECT contact_id, event_count FROM event_digest"):
        counts[cid] = n
    (top,) = db.execute("SELECT max(id) FROM event").fetchone()
    db.close()
    weights = counts[1:] + 1.0
    won = rng.choice(contacts, int(0.02 * contacts), replace=False, p=weights / weights.sum()) + 1
    rest = np.setdiff1d(np.arange(1, contacts + 1), won)
    lost = rng.choice(rest, int(0.03 * contacts), replace=False)
    start = bench_scoring.AS_OF - timedelta(days=DAYS)
    rows, new = [], []
    for n, (cid, kind) in enumerate(
        [(int(c), "crm.deal.won") for c in won] + [(int(c), "crm.deal.lost") for c in lost]
    ):
        at = start + timedelta(seconds=int(rng.integers(30 * 86_400, DAYS * 86_400)))
        attrs = {"deal_id": str(n + 1)}
        rows.append((top + n + 1, "hubspot", "deals", f"{n + 1}:{cid}", cid, kind, at, attrs))
        new.append(digests.NewEvent(cid, at, kind, attrs))
    store = open_store(f"sqlite:///{path}")
    with store.write() as conn:
        conn.exec_driver_sql(
            "INSERT INTO event (id, source, stream, external_id, contact_id, kind, occurred_at,"
            " attributes) VALUES (?, ?, ?, ?, ?, ?, ?, ?)",
            [
                (i, s, st, x, c, k, at.strftime("%Y-%m-%d %H:%M:%S.%f"), json.dumps(a))
                for i, s, st, x, c, k, at, a in rows
            ],
        )
        digests.append(conn, new)
    store.close()
    return len(rows)


def build(contacts: int, events: int, seed: int) -> Path:
    """The cached store with deals (built on first use)."""
    data = ROOT / "bench" / "data"
    path = data / f"backtest-{contacts}-{events}-{seed}-{DAYS}d.sqlite"
    if path.exists():
        return path
    started = time.perf_counter()
    print(f"building {path} ...", file=sys.stderr)
    tmp = path.with_suffix(".deals")
    bench_scoring.build_store(tmp, contacts, events, seed, days=DAYS)
    add_deals(tmp, contacts, seed)
    tmp.rename(path)
    print(f"built in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    return path


def _phase(name: str, db: Path) -> dict[str, Any]:
    """Run one phase in this process and return its measurements."""
    from scorebridge.measure import BacktestOptions, rule_files, run_backtest
    from scorebridge.scoring import compile_rules, load_rules
    from scorebridge.store.engine import open_store
    from scorebridge.sync.score import rescore

    store = open_store(f"sqlite:///{db}")
    started = time.perf_counter()
    out: dict[str, Any] = {"phase": name}
    if name == "backtest":
        result = run_backtest(store, rule_files(RULES, None, None), BacktestOptions())
        ev = result.evaluations[0]
        out |= {
            "snapshots": len(result.plan.instants),
            "contacts": len(result.outcome.contact_ids),
            "contact_snapshots": ev.rows,
            "won_contacts": ev.won_contacts,
            "auc": ev.auc.as_dict(),
            "pure_engine_rows": ev.pure_engine,
        }
    else:
        rules = compile_rules(load_rules(RULES))
        report = rescore(store, rules, bench_scoring.AS_OF, all=True)
        out |= {"contacts": report.contacts, "chunks": report.chunks}
    store.close()
    out["seconds"] = round(time.perf_counter() - started, 3)
    out["peak_rss_mb"] = round(bench_scoring._rss_mb(), 1)
    return out


def _run(phase: str, db: Path) -> dict[str, Any]:
    done = subprocess.run(
        [sys.executable, __file__, "--phase", phase, "--db", str(db)],
        capture_output=True,
        text=True,
        check=False,
    )
    if done.returncode:
        raise SystemExit(f"phase {phase} failed:\n{done.stderr}")
    result: dict[str, Any] = json.loads(done.stdout.strip().splitlines()[-1])
    print(f"{phase}: {result['seconds']} s, peak {result['peak_rss_mb']} MB", file=sys.stderr)
    return result


def measure(contacts: int, events: int, seed: int) -> dict[str, Any]:
    """The backtest and one full rescore at one size."""
    pristine = build(contacts, events, seed)
    backtest = _run("backtest", pristine)  # read-only: the cached store stays as it is
    work = pristine.with_name(f"work-{os.getpid()}.sqlite")
    subprocess.run(["cp", "--sparse=always", str(pristine), str(work)], check=True)
    try:
        full = _run("rescore", work)
    finally:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{work}{suffix}").unlink(missing_ok=True)
    return {
        "contacts": contacts,
        "events": events,
        "backtest": backtest,
        "full_rescore": full,
        "ratio_to_52_rescores": round(backtest["seconds"] / (SNAPSHOTS * full["seconds"]), 3),
    }


def estimate(small: dict[str, Any], large: dict[str, Any], contacts: int) -> dict[str, Any]:
    """Time and memory at ``contacts`` (events in proportion) on the line through two sizes."""
    x0, x1 = small["contacts"], large["contacts"]
    out: dict[str, Any] = {"contacts": contacts, "events": contacts * large["events"] // x1}
    for key in ("seconds", "peak_rss_mb"):
        y0, y1 = small["backtest"][key], large["backtest"][key]
        slope = (y1 - y0) / (x1 - x0)
        out[key] = round(y1 + slope * (contacts - x1), 1)
    return out


def main() -> None:
    """Build or reuse the store, run the phases in fresh processes, report."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--contacts", type=int, default=100_000)
    parser.add_argument("--events", type=int, default=2_000_000)
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--growth", action="store_true", help="also a quarter size: estimate 1M")
    parser.add_argument("--phase", help=argparse.SUPPRESS)
    parser.add_argument("--db", type=Path, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.phase:
        sys.stdout.write(json.dumps(_phase(args.phase, args.db)) + "\n")
        return
    document: dict[str, Any] = {
        "when": datetime.now(UTC).isoformat(),
        "cpus": len(os.sched_getaffinity(0)),
        "load_average_at_start": os.getloadavg(),
        "history_days": DAYS,
        "snapshots": SNAPSHOTS,
    }
    main_size = measure(args.contacts, args.events, args.seed)
    document["measured"] = [main_size]
    if args.growth:
        quarter = measure(args.contacts // 4, args.events // 4, args.seed)
        document["measured"].insert(0, quarter)
        document["estimate_1m"] = estimate(quarter, main_size, 1_000_000)
    out = ROOT / "bench" / "results" / f"backtest-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(document, indent=2) + "\n")
    print("| size | backtest (52 snapshots) | peak RSS | 1 full rescore | ratio to 52 rescores |")
    print("| --- | ---: | ---: | ---: | ---: |")
    for m in document["measured"]:
        print(
            f"| {m['contacts']:,} x {m['events']:,} | {m['backtest']['seconds']} s | "
            f"{m['backtest']['peak_rss_mb']} MB | {m['full_rescore']['seconds']} s | "
            f"{m['ratio_to_52_rescores']} |"
        )
    if "estimate_1m" in document:
        e = document["estimate_1m"]
        print(f"| 1,000,000 x {e['events']:,} (estimated) | {e['seconds']} s | "
              f"{e['peak_rss_mb']} MB | | |")  # fmt: skip
    print(f"\nwritten to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
