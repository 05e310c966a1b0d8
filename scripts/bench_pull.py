"""Pull benchmark (issue 3): the first pull of a seeded sandbox world, as a new user runs it.

Starts ``scorebridge sandbox`` (10,000 contacts x 90 days by default) in a subprocess, runs
``scorebridge pull --json`` in another (so its peak RSS is its own), then a second, idle pull,
and compares the requests sent with the minimum number of pages the page sizes allow
(``ceil((rows + 1) / page_size)`` per stream: a reader only knows a stream ended when a page
comes back short). Prints a markdown table and writes ``bench/results/pull-<timestamp>.json``.

    .venv/bin/python scripts/bench_pull.py [--contacts N] [--days D] [--seed S]
"""

from __future__ import annotations

import argparse
import json
import math
import os
import signal
import subprocess
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
SCOREBRIDGE = [sys.executable, "-m", "scorebridge"]


def start_sandbox(workdir: Path, contacts: int, days: int, seed: int) -> tuple[Any, dict[str, Any]]:
    ready = workdir / "ready.json"
    started = time.monotonic()
    process = subprocess.Popen(
        [
            *SCOREBRIDGE,
            "sandbox",
            "--contacts",
            str(contacts),
            "--days",
            str(days),
            "--seed",
            str(seed),
            "--ready-file",
            str(ready),
            "--write-config",
            str(workdir / "scorebridge.toml"),
        ],
        cwd=workdir,
        stderr=subprocess.DEVNULL,
    )
    while not ready.exists():
        if process.poll() is not None:
            raise SystemExit("the sandbox exited before it was ready")
        if time.monotonic() - started > 300:
            process.kill()
            raise SystemExit("the sandbox was not ready within 300 s")
        time.sleep(0.2)
    info = json.loads(ready.read_text())
    info["seconds_to_ready"] = round(time.monotonic() - started, 1)
    return process, info


def run_pull(workdir: Path) -> tuple[dict[str, Any], float, float]:
    """One ``scorebridge pull --json``: its report, wall seconds and peak RSS in MiB."""
    started = time.monotonic()
    process = subprocess.Popen(
        [*SCOREBRIDGE, "--config", str(workdir / "scorebridge.toml"), "pull", "--json"],
        cwd=workdir,
        stdout=subprocess.PIPE,
        stderr=subprocess.DEVNULL,
    )
    assert process.stdout is not None
    out = process.stdout.read()
    _, status, usage = os.wait4(process.pid, 0)
    seconds = time.monotonic() - started
    if status != 0:
        raise SystemExit(f"scorebridge pull failed with status {status}")
    return json.loads(out), seconds, usage.ru_maxrss / 1024


def minimum_requests(report: dict[str, Any], contacts_page: int, stats_page: int) -> int:
    pages = 0
    for name, stream in report["streams"].items():
        size = contacts_page if name == "contacts" else stats_page
        pages += math.ceil((stream["rows"] + 1) / size)
    return pages + 1  # the point-group names the point log needs


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--seed", type=int, default=42)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="bench-pull-") as tmp:
        workdir = Path(tmp)
        sandbox, info = start_sandbox(workdir, args.contacts, args.days, args.seed)
        try:
            first, seconds, peak = run_pull(workdir)
            idle, idle_seconds, _ = run_pull(workdir)
        finally:
            sandbox.send_signal(signal.SIGTERM)
            sandbox.wait(timeout=30)
    minimum = minimum_requests(first, 200, 500)
    rows = sum(s["rows"] for s in first["streams"].values())
    result = {
        "bench": "pull",
        "at": datetime.now(UTC).isoformat(),
        "world": {"contacts": args.contacts, "days": args.days, "seed": args.seed},
        "sandbox_seconds_to_ready": info["seconds_to_ready"],
        "first_pull": {
            "seconds": round(seconds, 1),
            "peak_rss_mib": round(peak, 1),
            "requests": first["requests"],
            "minimum_requests": minimum,
            "ratio": round(first["requests"] / minimum, 3),
            "rows": rows,
            "rows_per_second": round(rows / seconds),
            "streams": first["streams"],
        },
        "idle_pull": {
            "seconds": round(idle_seconds, 1),
            "requests": idle["requests"],
            "new_events": idle["new_events"],
            "streams": len(idle["streams"]),
        },
    }
    out = ROOT / "bench" / "results" / f"pull-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2))
    f, i = result["first_pull"], result["idle_pull"]
    print(f"## First pull: {args.contacts} contacts x {args.days} days (seed {args.seed})\n")
    print("| figure | value |\n| --- | --- |")
    print(f"| sandbox seeded and listening | {info['seconds_to_ready']} s |")
    print(f"| rows pulled | {rows} |")
    print(f"| requests / minimum pages | {f['requests']} / {minimum} = {f['ratio']}x |")
    print(f"| wall time | {f['seconds']} s ({f['rows_per_second']} rows/s) |")
    print(f"| peak RSS of the pull process | {f['peak_rss_mib']} MiB |")
    print(
        f"| idle pull: requests, new events | {i['requests']} for {i['streams']} streams, "
        f"{i['new_events']} |"
    )
    print(f"\nwritten to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
