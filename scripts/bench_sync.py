"""Sync benchmark (issue 6): requests per synced contact, throughput against a naive bridge, and
the idle cycle, all against one seeded sandbox started by this run.

Starts ``scorebridge sandbox`` in a subprocess (so the emulators do not share this process's
GIL), raises the HubSpot emulator's rate limits (and the adapter's matching client-side limits)
so that throughput is not capped at HubSpot's 100-190 requests per 10 s, then in this process:

1. runs a full first :class:`~scorebridge.sync.cycle.SyncCycle` and compares the requests each
   route received with the minimum the page and batch limits allow (see :mod:`bench_minimum`);
2. runs a second (echo) cycle and a third (idle) cycle: requests per stream, writes made;
3. for each added latency (``Faults.latency_ms``): forgets what was written for the score
   fields and properties, times scorebridge's write-back (plan + push) of those values, then
   times :mod:`naive_bridge` writing the *same* values (read back from ``written``) for a
   sample of the same contacts; throughput is contacts per second of write-back.

``run(...)`` returns the figures as a dict; ``main`` prints them and writes
``bench/results/sync-<timestamp>.json``. Never part of the test run.
"""

from __future__ import annotations

import argparse
import json
import signal
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import requests
import sqlalchemy as sa
from bench_minimum import minimum_requests, stream_requests
from bench_pull import start_sandbox
from naive_bridge import NaiveBridge, NaiveContact

from scorebridge import __version__
from scorebridge.clock import SystemClock
from scorebridge.config import Settings, load_config
from scorebridge.crm.hubspot.adapter import HubSpotAdapter
from scorebridge.crm.hubspot.mapping import CONTACT_PROPERTIES
from scorebridge.http import Timeouts, make_session
from scorebridge.http.ratelimit import BucketRegistry
from scorebridge.store.engine import Store, open_store
from scorebridge.store.tables import Outbox
from scorebridge.sync.cycle import SyncCycle
from scorebridge.sync.desired import plan_changes
from scorebridge.sync.push import push

ROOT = Path(__file__).resolve().parent.parent
#: Raised HubSpot limits for throughput runs (the real ones are 100-190 per 10 s, 5 searches/s).
RAISED_LIMITS = {"ten_secondly": 1_000_000, "daily": 100_000_000, "search_per_second": 10_000}


class Sandbox:
    """The control path of a running sandbox subprocess."""

    def __init__(self, info: dict[str, Any]) -> None:
        self.info = info
        self.urls = {"mautic": info["mautic"]["url"], "hubspot": info["hubspot"]["url"]}
        self.http = requests.Session()

    def control(self, system: str, method: str, path: str, body: Any = None) -> Any:
        """Call ``/_sandbox/<path>`` of one emulator; its JSON answer."""
        url = f"{self.urls[system]}/_sandbox/{path}"
        response = self.http.request(method, url, json=body, timeout=30)
        response.raise_for_status()
        return response.json()

    def counts(self) -> dict[str, dict[str, int]]:
        """Requests per route of each emulator since the last :meth:`zero`."""
        return {s: self.control(s, "GET", "requests")["by_route"] for s in self.urls}

    def zero(self) -> None:
        """Zero the request counters."""
        for system in self.urls:
            self.control(system, "DELETE", "requests")

    def latency(self, ms: float) -> None:
        """Add ``ms`` of latency to every API request of both emulators."""
        for system in self.urls:
            self.control(system, "POST", "faults", {"latency_ms": ms})


def build_cycle(settings: Settings, store: Store) -> SyncCycle:
    """A cycle whose HubSpot adapter matches the raised emulator limits."""
    clock = SystemClock()
    cfg = settings.crm
    assert cfg.token is not None
    session = make_session(
        user_agent=f"scorebridge/{__version__}",
        timeouts=Timeouts(cfg.timeouts.connect, cfg.timeouts.read),
    )
    crm = HubSpotAdapter(
        token=cfg.token.get_secret_value(),
        base_url=cfg.url,
        clock=clock,
        session=session,
        read_properties=cfg.read_properties,
        burst_per_10s=RAISED_LIMITS["ten_secondly"],
        search_per_second=RAISED_LIMITS["search_per_second"],
        buckets=BucketRegistry(),
    )
    return SyncCycle(settings, store=store, clock=clock, crm=crm)


def _short_window(settings: Settings) -> Settings:
    """The settings with a 1-second overlap and settle: stands in for waiting out the default
    10-minute overlap window (cycles that follow a write re-read what it touched)."""
    second = timedelta(seconds=1)
    pull = settings.pull.model_copy(
        update={"overlap": second, "settle": second, "commit_lag": second}
    )
    return settings.model_copy(update={"pull": pull})


def timed_cycle(cycle: SyncCycle, sandbox: Sandbox) -> dict[str, Any]:
    """Run one cycle; its report, wall seconds and the requests each route received."""
    sandbox.zero()
    started = time.perf_counter()
    report = cycle().as_dict()
    seconds = time.perf_counter() - started
    return {
        "seconds": round(seconds, 2),
        "report": report,
        "routes": sandbox.counts(),
        "outbox_after": outbox_state(cycle.store),
        "pending_errors": pending_errors(cycle.store),
    }


def cycle_figures(run: dict[str, Any]) -> dict[str, Any]:
    """Requests and writes of a cycle, for the echo/idle rows."""
    steps = run["report"]["steps"]
    pushed = steps.get("push", {}).get("systems", {})
    writes = sum(s.get("ok", 0) + s.get("retry", 0) + s.get("dead", 0) for s in pushed.values())
    streams = stream_requests(run)
    return {
        "seconds": run["seconds"],
        "outbox_after": run["outbox_after"],
        "requests": sum(sum(r.values()) for r in run["routes"].values()),
        "streams": len(streams),
        "requests_by_stream": streams,
        "routes": run["routes"],
        "planned_ops": steps.get("plan", {}).get("enqueued", 0),
        "writes": writes,
        "events_pulled": run["report"]["events_pulled"],
        "rescored": steps.get("rescore", {}).get("contacts", 0),
    }


def _naive_contacts(store: Store) -> list[NaiveContact]:
    """Every contact with written score fields or properties, with exactly those values."""
    with store.read() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT w.contact_id, w.system, w.target, w.value, c.mautic_id, c.crm_id"
                " FROM written w JOIN contact c ON c.id = w.contact_id"
                " WHERE (w.system = 'mautic' AND w.target LIKE 'field:%')"
                " OR (w.system = 'crm' AND w.target LIKE 'prop:%') ORDER BY w.contact_id"
            )
        ).all()
    by_contact: dict[int, dict[str, Any]] = {}
    for cid, system, target, value, mautic_id, crm_id in rows:
        entry = by_contact.setdefault(cid, {"m": mautic_id, "c": crm_id, "mf": {}, "cp": {}})
        name = target.split(":", 1)[1]
        if system == "mautic":
            entry["mf"][name] = value
        else:
            entry["cp"][CONTACT_PROPERTIES.get(name, name)] = value
    return [
        NaiveContact(e["m"] if e["mf"] else None, e["mf"], e["c"] if e["cp"] else None, e["cp"])
        for e in by_contact.values()
    ]


def outbox_state(store: Store) -> dict[str, int]:
    """Outbox operations by ``system op status`` (what is still queued, retried, dead)."""
    with store.read() as conn:
        rows = conn.execute(
            sa.text("SELECT system, op, status, count(*) FROM outbox GROUP BY 1, 2, 3")
        ).all()
    return {f"{system} {op} {status}": int(n) for system, op, status, n in rows}


def pending_errors(store: Store) -> dict[str, int]:
    """Queued operations by ``op: last error`` (the five commonest)."""
    with store.read() as conn:
        rows = conn.execute(
            sa.text(
                "SELECT op, last_error, count(*) FROM outbox WHERE status = 'pending'"
                " GROUP BY 1, 2 ORDER BY 3 DESC LIMIT 5"
            )
        ).all()
    return {f"{op}: {err}": int(n) for op, err, n in rows}


def drain_queue(cycle: SyncCycle) -> dict[str, Any]:
    """Make every queued (pending) operation due and push it, untimed, so a timed write-back
    sends only what it planned itself. Returns what was queued, with a sample of its errors."""
    errors = pending_errors(cycle.store)
    with cycle.store.write() as conn:
        table = Outbox.__table__  # type: ignore[attr-defined]
        past = datetime(2000, 1, 1, tzinfo=UTC)
        conn.execute(table.update().where(table.c.status == "pending").values(next_attempt_at=past))
    queued = sum(errors.values())
    pushed = push(cycle.store, cycle.writers(), cycle.clock.now()) if queued else None
    return {
        "queued": errors,
        "pushed": pushed.as_dict()["systems"] if pushed else {},
        "still_queued": outbox_state(cycle.store),
    }


def _forget_score_writes(store: Store) -> None:
    """Forget the score writes as if they had never been made: their ``written`` values and
    their done outbox operations (re-planning a value whose operation is still in the outbox
    takes the one-statement-per-op requeue path, which a first write-back never does)."""
    with store.write() as conn:
        conn.execute(
            sa.text(
                "DELETE FROM written WHERE (system = 'mautic' AND target LIKE 'field:%')"
                " OR (system = 'crm' AND target LIKE 'prop:%')"
            )
        )
        conn.execute(
            sa.text(
                "DELETE FROM outbox WHERE status = 'done' AND op IN ('mautic.fields', 'crm.update')"
            )
        )


def compare(cycle: SyncCycle, sandbox: Sandbox, latency_ms: float, sample: int) -> dict[str, Any]:
    """Time scorebridge's score write-back, then the naive bridge's, at one added latency."""
    drained = drain_queue(cycle)
    contacts = _naive_contacts(cycle.store)
    _forget_score_writes(cycle.store)
    sandbox.latency(latency_ms)
    sandbox.zero()
    started = time.perf_counter()
    now = cycle.clock.now()
    plan = plan_changes(cycle.store, cycle.rules, cycle.settings, now, everyone=True)
    plan_seconds = time.perf_counter() - started
    pushed = push(cycle.store, cycle.writers(), now)
    bridge_seconds = time.perf_counter() - started
    bridge_routes = sandbox.counts()
    bridge_requests = sum(sum(r.values()) for r in bridge_routes.values())
    ok = sum(s.outcomes["ok"] for s in pushed.systems.values())
    subset = contacts[:sample]
    info = sandbox.info
    naive = NaiveBridge(
        info["mautic"]["url"],
        (info["mautic"]["username"], info["mautic"]["password"]),
        info["hubspot"]["url"],
        info["hubspot"]["token"],
    )
    sandbox.zero()
    try:
        naive_report = naive.sync(subset).as_dict()
    finally:
        naive.close()
    sandbox.latency(0)
    bridge_rate = len(contacts) / bridge_seconds
    naive_rate = naive_report["contacts_per_second"]
    return {
        "latency_ms": latency_ms,
        "bridge": {
            "contacts": len(contacts),
            "ops_written": ok,
            "planned": plan.as_dict()["planned"],
            "requests": bridge_requests,
            "requests_per_contact": round(bridge_requests / max(1, len(contacts)), 4),
            "routes": bridge_routes,
            "seconds": round(bridge_seconds, 3),
            "plan_seconds": round(plan_seconds, 3),
            "push_seconds": round(bridge_seconds - plan_seconds, 3),
            "contacts_per_second": round(bridge_rate, 1),
        },
        "naive": naive_report | {"routes": sandbox.counts()},
        "drained_before": drained,
        "speedup": round(bridge_rate / naive_rate, 1) if naive_rate else None,
    }


def _with_group_scores(settings: Settings, mode: str | None) -> Settings:
    """The settings with ``[write.mautic] group_scores = mode`` (None: as configured)."""
    if mode is None:
        return settings
    mautic = settings.write.mautic.model_copy(update={"group_scores": mode})
    return settings.model_copy(
        update={"write": settings.write.model_copy(update={"mautic": mautic})}
    )


def first_sync_only(
    *, contacts: int, days: int, seed: int, latency_ms: float, group_scores: str | None
) -> dict[str, Any]:
    """A first sync of a fresh world (its own sandbox) at ``latency_ms`` added latency, with
    ``group_scores`` (None: the default); its wall time, requests and minimum."""
    with tempfile.TemporaryDirectory(prefix="bench-first-") as tmp:
        workdir = Path(tmp)
        process, info = start_sandbox(workdir, contacts, days, seed)
        try:
            sandbox = Sandbox(info)
            sandbox.control("hubspot", "POST", "limits", RAISED_LIMITS)
            settings = _with_group_scores(load_config(workdir / "scorebridge.toml"), group_scores)
            store = open_store(settings.store.url)
            cycle = build_cycle(settings, store)
            sandbox.latency(latency_ms)
            label = group_scores or "default"
            print(f"first sync ({label}) at {latency_ms:g} ms ...", file=sys.stderr)
            first = timed_cycle(cycle, sandbox)
            figures = {
                "latency_ms": latency_ms,
                "group_scores": label,
                "seconds": first["seconds"],
                "outbox_after": first["outbox_after"],
                "pending_errors": first["pending_errors"],
                "routes": first["routes"],
                **minimum_requests(first, cycle),
            }
            store.close()
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
    return figures


def run(
    *,
    contacts: int,
    days: int,
    seed: int,
    latencies: list[float],
    naive_sample: int,
    modes: list[str] | None = None,
    first_sync_latencies: list[float] | None = None,
) -> dict[str, Any]:
    """The whole sync benchmark; returns its figures. ``modes``: further first syncs, one per
    ``group_scores`` mode, each on a fresh world; ``first_sync_latencies``: further first syncs
    (default mode) at these added latencies."""
    extra_modes = [
        first_sync_only(contacts=contacts, days=days, seed=seed, latency_ms=0, group_scores=mode)
        for mode in modes or []
    ]
    slow = [
        first_sync_only(
            contacts=contacts, days=days, seed=seed, latency_ms=latency, group_scores=None
        )
        for latency in first_sync_latencies or []
    ]
    with tempfile.TemporaryDirectory(prefix="bench-sync-") as tmp:
        workdir = Path(tmp)
        process, info = start_sandbox(workdir, contacts, days, seed)
        try:
            sandbox = Sandbox(info)
            limits = sandbox.control("hubspot", "POST", "limits", RAISED_LIMITS)
            settings = load_config(workdir / "scorebridge.toml")
            store = open_store(settings.store.url)
            cycle = build_cycle(settings, store)
            print(f"sandbox ready in {info['seconds_to_ready']} s; first sync ...", file=sys.stderr)
            first = timed_cycle(cycle, sandbox)
            first_figures = {
                "latency_ms": 0.0,
                "group_scores": "default",
                "seconds": first["seconds"],
                "outbox_after": first["outbox_after"],
                "pending_errors": first["pending_errors"],
                "routes": first["routes"],
                **minimum_requests(first, cycle),
            }
            print(f"first sync {first['seconds']} s; echo and idle cycles ...", file=sys.stderr)
            echo = timed_cycle(cycle, sandbox)
            idle = timed_cycle(cycle, sandbox)
            cycle.settings = _short_window(settings)
            timed_cycle(cycle, sandbox)  # its cursors still carry the default settle
            quiet = timed_cycle(cycle, sandbox)
            cycle.settings = settings
            comparisons = []
            for latency in latencies:
                print(f"write-back at {latency} ms: bridge, then naive ...", file=sys.stderr)
                comparisons.append(compare(cycle, sandbox, latency, naive_sample))
            store.close()
        finally:
            process.send_signal(signal.SIGTERM)
            process.wait(timeout=60)
    return {
        "bench": "sync",
        "at": datetime.now(UTC).isoformat(),
        "world": {"contacts": contacts, "days": days, "seed": seed},
        "sandbox_seconds_to_ready": info["seconds_to_ready"],
        "hubspot_limits_raised_to": limits,
        "first_sync": first_figures,
        "echo_cycle": cycle_figures(echo),
        "idle_cycle": cycle_figures(idle),
        "idle_cycle_after_window": cycle_figures(quiet),
        "throughput": comparisons,
        "naive_sample": naive_sample,
        "first_sync_modes": extra_modes,
        "first_sync_latency": slow,
    }


def markdown(result: dict[str, Any]) -> list[str]:
    """The sync rows of the report table (figure | value)."""
    f = result["first_sync"]
    lines = [
        f"| first sync: wall time | {f['seconds']} s |",
        f"| first sync: contacts synced | {f['contacts_synced']} |",
        f"| first sync: requests (point-group sets apart) / minimum | {f['requests']} / "
        f"{f['minimum']} = {f['ratio']}x |",
        f"| first sync: point-group sets (per contact per group, no batch API) | "
        f"{f['point_group_sets']} (minimum {f['point_group_minimum']}) |",
        f"| first sync: requests per synced contact, all / without point groups | "
        f"{f['per_contact_all']} / {f['per_contact']} (minimum {f['per_contact_minimum']}) |",
    ]
    for c in result["throughput"]:
        b, n = c["bridge"], c["naive"]
        lines.append(
            f"| write-back at {c['latency_ms']:g} ms: scorebridge | {b['contacts']} contacts in "
            f"{b['seconds']} s = {b['contacts_per_second']}/s, {b['requests']} requests |"
        )
        lines.append(
            f"| write-back at {c['latency_ms']:g} ms: naive bridge (sample) | {n['contacts']} "
            f"contacts in {n['seconds']} s = {n['contacts_per_second']}/s, {n['requests']} "
            f"requests; speedup {c['speedup']}x |"
        )
    for name in ("echo_cycle", "idle_cycle", "idle_cycle_after_window"):
        c = result[name]
        lines.append(
            f"| {name.replace('_', ' ')}: requests / streams, writes | {c['requests']} / "
            f"{c['streams']}, {c['writes']} writes ({c['planned_ops']} planned, "
            f"{c['events_pulled']} events pulled) |"
        )
    return lines


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--days", type=int, default=30)
    parser.add_argument("--seed", type=int, default=42)
    parser.add_argument("--latencies", default="0,20", help="added latency in ms, comma-separated")
    parser.add_argument("--naive-sample", type=int, default=500)
    parser.add_argument("--modes", default="", help="extra first syncs: group_scores modes")
    parser.add_argument(
        "--first-sync-latencies", default="", help="extra first syncs at these latencies (ms)"
    )
    args = parser.parse_args()
    result = run(
        contacts=args.contacts,
        days=args.days,
        seed=args.seed,
        latencies=[float(x) for x in args.latencies.split(",") if x],
        naive_sample=args.naive_sample,
        modes=[m for m in args.modes.split(",") if m],
        first_sync_latencies=[float(x) for x in args.first_sync_latencies.split(",") if x],
    )
    out = ROOT / "bench" / "results" / f"sync-{datetime.now(UTC):%Y%m%dT%H%M%SZ}.json"
    out.parent.mkdir(parents=True, exist_ok=True)
    out.write_text(json.dumps(result, indent=2) + "\n")
    print("| figure | value |\n| --- | --- |")
    print("\n".join(markdown(result)))
    print(f"\nwritten to {out.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
