"""``scorebridge demo``: the whole loop on the built-in sandbox, in about a minute, no questions.

Owns the demo's script: start the sandbox in-process (Mautic + one CRM emulator — HubSpot by
default, or Pipedrive or Salesforce — on 127.0.0.1, one seeded world) with its configuration,
secrets and store in ``./scorebridge-demo/``; run the real
:class:`~scorebridge.daemon.Daemon` (lease, APScheduler, drain on Ctrl-C) with the real
:class:`~scorebridge.sync.cycle.SyncCycle` on a short interval; after the first cycle record new
behaviour for one story lead through the Mautic emulator's ``POST /_sandbox/events`` so that it
turns hot live; stop after the first cycle that writes nothing; hand what happened to
:mod:`scorebridge.demo_view` to print.
Must not: contain cycle, scoring or write-back logic (it only drives and observes them), talk to
anything but 127.0.0.1, or touch files outside its working directory.
"""

from __future__ import annotations

import fcntl
import logging
import os
import time
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

import requests
from rich.console import Console

from scorebridge import __version__
from scorebridge import demo_probe as probe
from scorebridge.clock import SystemClock
from scorebridge.config import ScheduleSettings, Settings, load_config
from scorebridge.daemon import Daemon, StopCheck
from scorebridge.demo_view import DemoView, LeadSnapshot
from scorebridge.http import Timeouts, make_session
from scorebridge.logging import configure_logging
from scorebridge.metrics import route_class
from scorebridge.sandbox.runner import Sandbox, SandboxOptions, write_config
from scorebridge.sandbox.seed_stories import STORIES, STORY_COLD
from scorebridge.sandbox.world import ASSETS, FORMS, PAGES
from scorebridge.scoring.explain import top_reasons
from scorebridge.store.engine import Store, open_store
from scorebridge.store.lease import DEFAULT_TTL, HeldLease, acquire_lease
from scorebridge.sync.cycle import CycleReport, SyncCycle
from scorebridge.sync.leads import explain_contact

WORKDIR = Path("scorebridge-demo")
CONFIG_NAME = "scorebridge.toml"
CONTACTS, DAYS, SEED = 250, 45, 1
#: HubSpot's API-limit-increase pack (250 requests per 10 s); Starter has 100.
HUBSPOT_PER_10S = 250
#: Pipedrive's Enterprise plan: 120 requests per 2 s for an API token; Essential has 20.
PIPEDRIVE_PER_2S = 120
CRMS = ("hubspot", "pipedrive", "salesforce")
#: How each CRM's emulator is set up for the demo, in words for the intro.
CRM_TIERS = {
    "hubspot": f"HubSpot runs at a paid tier with the API-limit-increase pack ({HUBSPOT_PER_10S} "
    "requests per 10 s, adapter paced to match; Starter's 100 would make the first sync about "
    "twice as slow)",
    "pipedrive": f"Pipedrive runs on the Enterprise plan ({PIPEDRIVE_PER_2S} requests per 2 s "
    "for an API token, adapter paced to match; it has no batch writes, one request per person)",
    "salesforce": "Salesforce runs with client credentials; it has no per-second limit, only "
    "the daily API allocation (Sforce-Limit-Info)",
}
INTERVAL = timedelta(seconds=2)
MAX_CYCLES = 5
LIVE_STORY = next(s for s in STORIES if s.person_id == STORY_COLD)
#: What the live lead does after the first cycle: (event kind, its attributes, in words).
LIVE_BEHAVIOUR: tuple[tuple[str, dict[str, Any], str], ...] = (
    ("page.hit", {"url": PAGES["pricing"]}, "visited the pricing page"),
    ("asset.download", {"asset_id": 1}, f"downloaded the {ASSETS[1]}"),
    ("form.submit", {"form_id": 3}, f"filled in the {FORMS[3]} form"),
)

EXIT_OK, EXIT_FAILED, EXIT_INTERRUPTED = 0, 1, 130
#: The demo's history is short: its report judges wins within two weeks, snapshots every 3 days.
REPORT_WINDOW, REPORT_EVERY = timedelta(days=14), timedelta(days=3)
REPORT_NAME = "report.html"


@dataclass
class CycleRecord:
    """One daemon cycle as the demo saw it."""

    number: int
    seconds: float
    report: CycleReport
    reads: dict[str, int]
    writes: dict[str, int]
    received: dict[str, int]

    @property
    def total_writes(self) -> int:
        """Write requests to every system."""
        return sum(self.writes.values())


@dataclass
class DemoState:
    """What the demo observed; filled in by the cycle thread, read by the view."""

    cycles: list[CycleRecord] = field(default_factory=list)
    live_before: LeadSnapshot | None = None
    live_after: LeadSnapshot | None = None
    live_cycle: int | None = None
    live_as_of: datetime | None = None
    idle_cycle: int | None = None
    error: BaseException | None = None
    crm_seeded: dict[str, int] = field(default_factory=dict)
    report: Path | None = None
    report_note: str = ""


def classify(counts: dict[str, int]) -> tuple[int, int]:
    """(reads, writes) of ``"METHOD /path"`` counts; searches and batch reads are reads."""
    reads = writes = 0
    for key, n in counts.items():
        method, _, path = key.partition(" ")
        if route_class(method, path) == "write":
            writes += n
        else:
            reads += n
    return reads, writes


def _as_of(report: CycleReport) -> datetime:
    """The moment the cycle scored at (explain reruns the engine as of it)."""
    rescored = report.steps.get("rescore", {}).get("as_of")
    return datetime.fromisoformat(rescored) if rescored else report.started_at


def _diff(after: dict[str, int], before: dict[str, int]) -> dict[str, int]:
    return {k: v - before.get(k, 0) for k, v in after.items() if v != before.get(k, 0)}


class DemoCycle:
    """The daemon's cycle: the real :class:`SyncCycle`, observed, then the demo's next step."""

    def __init__(self, demo: Demo, inner: SyncCycle) -> None:
        self.demo = demo
        self.inner = inner

    def _counters(self) -> dict[str, dict[str, int]]:
        out = {"mautic": self.inner.mautic.http.counter.snapshot()}
        transport = getattr(self.inner.crm, "transport", None)
        if transport is not None:
            out[self.demo.crm] = transport.http.counter.snapshot()
        return out

    def __call__(self, should_stop: StopCheck, *, decay_sweep: bool = False) -> CycleReport:
        """Run one real cycle, record what it cost, and take the demo's next step."""
        before, received = self._counters(), probe.request_counts(self.demo.sandbox())
        started = time.monotonic()
        try:
            report = self.inner(should_stop, decay_sweep=decay_sweep)
        except BaseException as exc:
            self.demo.state.error = exc
            self.demo.stop()
            raise
        after, received_after = self._counters(), probe.request_counts(self.demo.sandbox())
        reads, writes = {}, {}
        for system in after:
            reads[system], writes[system] = classify(_diff(after[system], before.get(system, {})))
        record = CycleRecord(
            number=len(self.demo.state.cycles) + 1,
            seconds=time.monotonic() - started,
            report=report,
            reads=reads,
            writes=writes,
            received={k: received_after[k] - received.get(k, 0) for k in received_after},
        )
        self.demo.cycle_done(record)
        return report


class Demo:
    """One run of the demo in ``workdir``."""

    def __init__(
        self, workdir: Path, console: Console, *, contacts: int = CONTACTS, crm: str = "hubspot"
    ) -> None:
        if crm not in CRMS:
            raise ValueError(f"unknown CRM {crm!r}; the demo runs with {', '.join(CRMS)}")
        self.workdir = workdir
        self.crm = crm
        self.view = DemoView(console, crm)
        self.state = DemoState()
        self.contacts = contacts
        self.running: Sandbox | None = None
        self.settings: Settings | None = None
        self.store: Store | None = None
        self.daemon: Daemon[HeldLease] | None = None
        self.live_mautic_id: int | None = None
        self._compiled: Any = None

    # -- the script ------------------------------------------------------------------------

    def run(self) -> int:
        """Run the demo; the exit code (0 done, 1 failed, 130 interrupted)."""
        started = time.monotonic()
        try:
            self._prepare_workdir()
            self.view.intro(self.workdir, self.contacts, DAYS, CRM_TIERS[self.crm], INTERVAL)
            self._start_sandbox()
            code = self._run_daemon()
        except KeyboardInterrupt:
            self.view.interrupted(self.workdir)
            return EXIT_INTERRUPTED
        except Exception as exc:  # noqa: BLE001 - any failure becomes one clear message, exit 1
            self.view.failed(exc, self.workdir)
            return EXIT_FAILED
        finally:
            if self.running is not None:
                self.running.stop()
            if self.store is not None:
                self.store.close()
        if self.state.error is not None or code != EXIT_OK:
            self.view.failed(self.state.error, self.workdir)
            return EXIT_FAILED
        if self.state.idle_cycle is None:
            self.view.interrupted(self.workdir)
            return EXIT_INTERRUPTED
        self._write_report()
        self.view.outro(self.state, self.workdir / CONFIG_NAME, time.monotonic() - started)
        return EXIT_OK

    def _prepare_workdir(self) -> None:
        """Create the directory; drop a previous demo's store (its world no longer exists)."""
        self.workdir.mkdir(mode=0o700, parents=True, exist_ok=True)
        database = self.workdir / "scorebridge.db"
        lock = database.with_name(database.name + ".lock")
        if lock.exists():
            fd = os.open(lock, os.O_RDWR)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                raise OSError(
                    f"another scorebridge process is using {self.workdir}/ "
                    "(a demo or `scorebridge run`); stop it first"
                ) from None
            finally:
                os.close(fd)
        for suffix in ("", "-wal", "-shm", "-journal"):
            database.with_name(database.name + suffix).unlink(missing_ok=True)

    def _start_sandbox(self) -> None:
        options = SandboxOptions(contacts=self.contacts, days=DAYS, seed=SEED, crms=(self.crm,))
        self.running = Sandbox(options)
        info = self.running.start()
        # A paid tier, so the first sync is not throttled for long.
        if self.crm == "hubspot":
            requests.post(
                f"{info['hubspot']['url']}/_sandbox/limits",
                json={"ten_secondly": HUBSPOT_PER_10S},
                timeout=5,
            ).raise_for_status()
        elif self.crm == "pipedrive":
            requests.post(
                f"{info['pipedrive']['url']}/_sandbox/settings",
                json={"plan": "enterprise"},
                timeout=5,
            ).raise_for_status()
        self.state.crm_seeded = probe.crm_counts(self.sandbox(), self.crm)
        config = self.workdir / CONFIG_NAME
        write_config(config, info)  # names the sales reps in [crm] reps
        self.settings = load_config(config)
        configure_logging("warning", secrets=self.settings.secret_values())
        # A cycle longer than the 2-s interval makes APScheduler skip ticks; that is expected here.
        logging.getLogger("apscheduler").setLevel(logging.ERROR)
        self.store = open_store(self.settings.store.url)
        self.view.sandbox_ready(info, config)

    def _run_daemon(self) -> int:
        settings, store = self.settings, self.store
        assert settings is not None
        assert store is not None
        clock = SystemClock()
        schedule = ScheduleSettings(interval=f"{INTERVAL.seconds}s", misfire_grace="1m")
        self.daemon = Daemon(
            acquire_lease=lambda: acquire_lease(
                store, clock=clock, lock_path=settings.daemon.lock_file
            ),
            build_cycle=lambda lease: DemoCycle(
                self,
                SyncCycle(
                    settings, store=store, clock=clock, lease=lease, crm=self._crm_adapter(clock)
                ),
            ),
            schedule=schedule,
            clock=clock,
            heartbeat_every=DEFAULT_TTL.total_seconds() / 3,
        )
        return self.daemon.run(handle_signals=True)

    def _crm_adapter(self, clock: SystemClock) -> Any:
        """The CRM adapter paced for the demo's tier: HubSpot's limit-increase pack (``[crm]``
        has no tier key), Pipedrive's Enterprise burst; Salesforce as configured."""
        from scorebridge.crm.hubspot.adapter import HubSpotAdapter
        from scorebridge.runtime import build_crm_adapter

        cfg = self.settings.crm if self.settings else None
        assert cfg is not None
        assert self.settings is not None
        if self.crm != "hubspot":
            paced = cfg.model_copy(update={"requests_per_2s": PIPEDRIVE_PER_2S})
            return build_crm_adapter(self.settings.model_copy(update={"crm": paced}), clock)
        assert cfg.token is not None
        return HubSpotAdapter(
            token=cfg.token.get_secret_value(),
            base_url=cfg.url,
            clock=clock,
            session=make_session(
                user_agent=f"scorebridge/{__version__}",
                timeouts=Timeouts(cfg.timeouts.connect, cfg.timeouts.read),
            ),
            read_properties=cfg.read_properties,
            burst_per_10s=HUBSPOT_PER_10S,
        )

    def stop(self) -> None:
        """Ask the daemon to drain and return."""
        if self.daemon is not None:
            self.daemon.request_stop("demo finished")

    def _write_report(self) -> None:
        """The measuring report of the demo's history (``scorebridge report``), read-only; a
        history it cannot judge is said, never a failure of the demo."""
        from scorebridge.errors import BridgeError
        from scorebridge.measure import BacktestOptions, rule_files
        from scorebridge.report.build import build_report
        from scorebridge.report.html import render

        assert self.settings is not None
        settings = self.settings
        options = BacktestOptions(every=REPORT_EVERY, window=REPORT_WINDOW, rounds=100)
        try:
            files = rule_files(settings.scoring.rules, None, None)
            data = build_report(
                self._store(), files, options, settings.predict, SystemClock().now()
            )
        except BridgeError as exc:
            self.state.report_note = str(exc)
            return
        target = self.workdir / REPORT_NAME
        target.write_text(render(data), encoding="utf-8")
        self.state.report = target

    # -- steps between cycles (on the daemon's worker thread) ------------------------------

    def cycle_done(self, record: CycleRecord) -> None:
        """Report the cycle, then record the live behaviour, or stop once a cycle was idle."""
        state = self.state
        state.cycles.append(record)
        self.view.cycle(record)
        if record.report.interrupted:
            return
        if record.number == 1:
            as_of = _as_of(record.report)
            self.view.overview(
                self._store(),
                self._rules(),
                as_of,
                probe.crm_counts(self.sandbox(), self.crm),
                state.crm_seeded,
            )
            state.live_before = self.snapshot(as_of)
            self.view.live_before(state.live_before)
            self._record_live_behaviour()
        elif state.live_cycle is None:
            state.live_cycle = record.number
            state.live_as_of = _as_of(record.report)
            state.live_after = self.snapshot(state.live_as_of)
        elif record.total_writes == 0:
            state.idle_cycle = record.number
        if state.idle_cycle is not None or record.number >= MAX_CYCLES:
            self.stop()

    def _record_live_behaviour(self) -> None:
        assert self.live_mautic_id is not None
        events = [
            {"contact_id": self.live_mautic_id, "kind": kind, **attrs}
            for kind, attrs, _ in LIVE_BEHAVIOUR
        ]
        url = self.sandbox().servers["mautic"].url
        requests.post(
            f"{url}/_sandbox/events", json={"events": events}, timeout=10
        ).raise_for_status()
        self.view.recorded([what for _, _, what in LIVE_BEHAVIOUR])

    def snapshot(self, as_of: datetime) -> LeadSnapshot:
        """The live lead as the cycle that scored it ``as_of`` saw it, and both systems now."""
        contact, result, _ = explain_contact(self._store(), self._rules(), LIVE_STORY.email, as_of)
        self.live_mautic_id = contact.mautic_id
        stage, shown = result.stage, result
        if result.reset_at is not None:
            stage = f"{result.stage} (stage score {result.stage_score_value} since its entry)"
        return LeadSnapshot(
            name=contact.name,
            email=LIVE_STORY.email,
            mautic_id=contact.mautic_id,
            total=shown.total_value,
            band=shown.band,
            stage=stage,
            reasons=top_reasons(shown, 4, self._rules()),
            mautic=probe.mautic_lead(self.sandbox(), contact.mautic_id),
            crm=probe.crm_lead(self.sandbox(), self.crm, LIVE_STORY.email),
        )

    # -- accessors ---------------------------------------------------------------------------

    def sandbox(self) -> Sandbox:
        """The running sandbox."""
        assert self.running is not None
        return self.running

    def _store(self) -> Store:
        assert self.store is not None
        return self.store

    def _rules(self) -> Any:
        if self._compiled is None:
            from scorebridge.scoring import compile_rules, load_rules

            assert self.settings is not None
            self._compiled = compile_rules(load_rules(self.settings.scoring.rules))
        return self._compiled


def run_demo(console: Console, workdir: Path = WORKDIR, crm: str = "hubspot") -> int:
    """``scorebridge demo``: run it in ``workdir`` (created) with ``crm``'s emulator and return
    the exit code."""
    return Demo(workdir, console, crm=crm).run()
