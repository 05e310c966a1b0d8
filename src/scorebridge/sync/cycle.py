"""One cycle (DESIGN §1): pull Mautic, pull the CRM, rescore, plan, push, report.

Owns the order of the steps, stopping between them when asked (SIGTERM; inside a step every
request checks too, through :mod:`scorebridge.http.bounds`), the lease check before
anything is written, the ``run`` row of each cycle and the report the daemon and ``scorebridge
sync`` print. Each step owns its own transactions; a crash anywhere leaves a store the next
cycle continues from. Must not: contain step logic.

One system failing never stops the other (DESIGN §6, §7): a Mautic or CRM pull or push that
fails (credentials refused, permissions, down, quota) is reported under ``problems`` while the
scoring, planning and the other system's writes go on. A cycle object that runs again (the
daemon's) then leaves the failing system alone for a back-off that doubles with each failure
(one interval, two, four, ... at most an hour), and tries it again after that.

A dry run (``scorebridge sync --dry-run``) runs the same steps against a copy of the store and
with every push in listing mode, so neither the remotes nor the store change.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Collection, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

from scorebridge.clock import Clock, scoring_time
from scorebridge.config import Settings
from scorebridge.errors import (
    BridgeError,
    ConfigError,
    ShutdownRequested,
    StateError,
)
from scorebridge.http.bounds import request_bounds
from scorebridge.redaction import redact
from scorebridge.runtime import build_crm_adapter, build_mautic_client, pull_options
from scorebridge.schedule import backoff_delay
from scorebridge.scoring import CompiledRules, compile_rules, load_rules
from scorebridge.store import deadletter, outbox, runs
from scorebridge.store.engine import Store, open_store
from scorebridge.store.lease import HeldLease
from scorebridge.sync.crm_pull import pull_crm
from scorebridge.sync.crm_writer import CrmWriter, crm_field_specs
from scorebridge.sync.desired import dry_run_writes, plan_changes
from scorebridge.sync.mautic_writer import MauticWriter
from scorebridge.sync.owners import refresh_mautic_users
from scorebridge.sync.plan import CRM, MAUTIC
from scorebridge.sync.projection import limits_for, project_outbox
from scorebridge.sync.pull import Puller
from scorebridge.sync.push import Writer, prioritize, push
from scorebridge.sync.score import mark_first_sync, rescore

log = logging.getLogger(__name__)

StopCheck = Callable[[], bool]
SAME_CYCLE = "it failed earlier in this cycle"


@dataclass
class CycleReport:
    """What one cycle did; read by the daemon's health/metrics and printed by ``sync``."""

    started_at: datetime
    dry_run: bool = False
    interrupted: bool = False
    steps: dict[str, Any] = field(default_factory=dict)
    requests: dict[str, int] = field(default_factory=dict)
    outbox_depth: dict[str, int] = field(default_factory=dict)
    dead_letters: int = 0
    planned_writes: list[dict[str, Any]] = field(default_factory=list)
    finished_at: datetime | None = None

    @property
    def events_pulled(self) -> int:
        """Events stored by this cycle's pulls."""
        total = 0
        for step in ("pull", "crm_pull"):
            total += int(self.steps.get(step, {}).get("new_events", 0))
        return total

    @property
    def problems(self) -> list[str]:
        """What kept this cycle from doing all its work: a system that could not be read, or
        whose pushes stopped (quota, credentials, a refused request), a system left alone while
        it backs off, tasks or deals nobody owns. Writes that are only to be retried (a 429, a
        timeout) are not problems: the next cycle sends them."""
        found: list[str] = []
        for step, keys in (
            ("pull", ("error", "skipped")),
            ("crm_pull", ("error", "skipped")),
            ("mautic_users", ("error",)),
        ):
            for key in keys:
                value = self.steps.get(step, {}).get(key)
                if value:
                    what = "failed" if key == "error" else "skipped"
                    found.append(f"{step.replace('_', ' ')} {what}: {value}")
        for system, outcome in self.steps.get("push", {}).get("systems", {}).items():
            if outcome.get("stopped"):
                found.append(f"push {system} stopped: {outcome['stopped']}")
        for system, reason in self.steps.get("push", {}).get("skipped", {}).items():
            if reason != SAME_CYCLE:  # its failure earlier in this cycle is listed already
                found.append(f"push {system} skipped: {reason}")
        unassigned = self.steps.get("plan", {}).get("unassigned") or []
        if unassigned:
            who = ", ".join(
                f"Mautic contact {u.get('mautic_id') or '-'} ({u.get('op')})"
                for u in unassigned[:5]
            )
            more = f" and {len(unassigned) - 5} more" if len(unassigned) > 5 else ""
            found.append(
                f"{len(unassigned)} task(s)/deal(s) without an owner: {who}{more}; give the "
                "contacts an owner, or set [crm] reps or [crm] default_owner"
            )
        return found

    def as_dict(self) -> dict[str, Any]:
        """The JSON document of ``scorebridge sync --json``."""
        out: dict[str, Any] = {
            "started_at": self.started_at.isoformat(),
            "finished_at": self.finished_at.isoformat() if self.finished_at else None,
            "dry_run": self.dry_run,
            "interrupted": self.interrupted,
            "steps": self.steps,
            "requests": self.requests,
            "outbox_depth": self.outbox_depth,
            "dead_letters": self.dead_letters,
            "events_pulled": self.events_pulled,
            "problems": self.problems,
        }
        if self.dry_run:
            out["planned_writes"] = self.planned_writes
        return out


class SyncCycle:
    """A cycle bound to its clients, rules and writers (built once, run many times)."""

    def __init__(
        self,
        settings: Settings,
        *,
        store: Store,
        clock: Clock,
        lease: HeldLease | None = None,
        mautic: Any = None,
        crm: Any = None,
    ) -> None:
        self.settings = settings
        self.store = store
        self.clock = clock
        self.lease = lease
        self.rules: CompiledRules = compile_rules(load_rules(settings.scoring.rules))
        self.mautic = mautic or build_mautic_client(settings, clock)
        self.crm = (
            crm
            if crm is not None
            else (build_crm_adapter(settings, clock) if settings.crm.kind != "none" else None)
        )
        self.backoff = SystemBackoff(settings.schedule.interval)

    def writers(self, skip: Collection[str] = ()) -> list[Writer]:
        """Fresh writers for the systems writes are enabled for (but those in ``skip``)."""
        found: list[Writer] = []
        if self.settings.write.mautic.enabled and MAUTIC not in skip:
            found.append(MauticWriter.from_settings(self.mautic, self.settings, self.rules))
        if self.crm is not None and self.settings.write.crm.enabled and CRM not in skip:
            found.append(CrmWriter.from_settings(self.crm, self.settings, self.rules, self.clock))
        return found

    def request_counts(self) -> dict[str, int]:
        """Requests sent so far, per system."""
        counts = {"mautic": self.mautic.http.counter.total()}
        transport = getattr(self.crm, "transport", None)
        if transport is not None:
            counts[self.settings.crm.kind] = transport.http.counter.total()
        return counts

    def __call__(
        self,
        should_stop: StopCheck | None = None,
        *,
        decay_sweep: bool = False,
        dry_run: bool = False,
        as_of: datetime | None = None,
    ) -> CycleReport:
        """Run one cycle; ``decay_sweep`` rescores everyone (decay and inactivity); ``as_of``
        pins the scoring instant (default: now, or ``SCOREBRIDGE_SCORING_AS_OF``)."""
        stop = should_stop or (lambda: False)
        budget = self.settings.http.retry_budget.total_seconds()
        with request_bounds(clock=self.clock, retry_budget=budget, should_stop=stop):
            if dry_run:
                with _store_copy(self.store) as copy:
                    return SyncCycle(
                        self.settings,
                        store=copy,
                        clock=self.clock,
                        mautic=self.mautic,
                        crm=self.crm,
                    )._run(stop, decay_sweep=decay_sweep, dry_run=True, as_of=as_of)
            return self._run(stop, decay_sweep=decay_sweep, dry_run=False, as_of=as_of)

    def _run(
        self, stop: StopCheck, *, decay_sweep: bool, dry_run: bool, as_of: datetime | None
    ) -> CycleReport:
        started = self.clock.now()
        report = CycleReport(started, dry_run=dry_run)
        before = self.request_counts()
        with self.store.write() as conn:
            run_id = runs.start_run(conn, "dry-run" if dry_run else "cycle", now=started)
        try:
            self._steps(report, stop, decay_sweep=decay_sweep, dry_run=dry_run, as_of=as_of)
        except ShutdownRequested:
            report.interrupted = True
        except BaseException as exc:
            self._finish(
                report, run_id, before, outcome="failed", error=f"{type(exc).__name__}: {exc}"
            )
            raise
        if report.interrupted:
            self._finish(report, run_id, before, outcome="interrupted")
        elif report.problems:  # part of the work was not done: the run says so (exit 1, 503)
            self._finish(report, run_id, before, outcome="failed", error="; ".join(report.problems))
        else:
            self._finish(report, run_id, before, outcome="ok")
        return report

    def _steps(
        self,
        report: CycleReport,
        stop: StopCheck,
        *,
        decay_sweep: bool,
        dry_run: bool,
        as_of: datetime | None,
    ) -> None:
        settings, store, clock = self.settings, self.store, self.clock
        steps, backoff = report.steps, self.backoff
        now = clock.now()

        def checkpoint() -> None:
            if stop():
                raise ShutdownRequested("stop requested between steps")

        def guarded(system: str, step: str, work: Callable[[], dict[str, Any]]) -> None:
            waiting = backoff.waiting(system, now)
            if waiting is not None:
                steps[step] = {"skipped": waiting}
                return
            try:
                steps[step] = work()
            except (ConfigError, ShutdownRequested, StateError):
                raise
            except BridgeError as exc:
                # This system is down, refusing us or out of quota: the other one goes on.
                steps[step] = {"error": redact(f"{type(exc).__name__}: {exc}")}
                backoff.failed(system, now, steps[step]["error"])
                log.warning("%s failed; the cycle goes on without it: %s", step, exc)

        guarded(
            MAUTIC,
            "pull",
            lambda: Puller(store, self.mautic, clock, pull_options(settings)).pull(stop).as_dict(),
        )
        checkpoint()
        crm = self.crm
        if crm is not None:
            ignore = [f.name for f in crm_field_specs(settings, self.rules)]
            guarded(
                CRM,
                "crm_pull",
                lambda: pull_crm(
                    store,
                    crm,
                    clock,
                    kind=settings.crm.kind,
                    overlap=settings.pull.overlap,
                    lag=settings.pull.commit_lag,
                    ignore_properties=ignore,
                    should_stop=stop,
                ).as_dict(),
            )
            checkpoint()
            if settings.write.crm.tasks or settings.write.crm.deals:
                guarded(MAUTIC, "mautic_users", lambda: self._refresh_users(now))
        as_of = as_of or scoring_time(clock)
        steps["rescore"] = rescore(
            store,
            self.rules,
            as_of,
            all=decay_sweep,
            notify_existing=settings.scoring.notify_existing,
        ).as_dict()
        if not dry_run and "error" not in steps["pull"] and "skipped" not in steps["pull"]:
            # the store now holds all of Mautic, scored: later crossings are news for sales
            with store.write() as conn:
                mark_first_sync(conn, clock.now())
        checkpoint()
        if settings.predict.enabled and not dry_run:
            from scorebridge.sync.prediction import refit_if_due  # scikit-learn: only when on

            refitted = refit_if_due(store, self.rules, settings.predict, as_of)
            if refitted is not None:
                steps["predict"] = refitted.as_dict()
            checkpoint()
        plan = plan_changes(store, self.rules, settings, clock.now(), as_of=as_of)
        steps["plan"] = plan.as_dict()
        checkpoint()
        projection = project_outbox(store, limits_for(settings, self.crm))
        steps["projection"] = projection.as_dict()
        for line in projection.lines():
            (log.warning if "daily quota" in line else log.info)("write-back: %s", line)
        for system, projected in projection.systems.items():
            if projected.days > 1:  # today's quota takes only part: hot leads first
                prioritize(store, system, clock.now())
        if self.lease is not None and not dry_run:
            with store.read() as conn:
                self.lease.check(conn)
        waiting = {
            s: SAME_CYCLE if backoff.failed_at(s, now) else w
            for s in (MAUTIC, CRM)
            if (w := backoff.waiting(s, now)) is not None
        }
        pushed = push(
            store,
            self.writers(skip=waiting),
            clock.now(),
            dry_run=dry_run,
            should_stop=stop,
            workers=settings.write.concurrency,
        )
        steps["push"] = pushed.as_dict() | ({"skipped": waiting} if waiting else {})
        for system, outcome in pushed.systems.items():
            if outcome.error is not None:
                backoff.failed(system, now, redact(f"{type(outcome.error).__name__}: "
                                                   f"{outcome.error}"))  # fmt: skip
        for system in (MAUTIC, CRM):
            if system not in waiting and not backoff.failed_at(system, now):
                backoff.succeeded(system)
        if dry_run:
            report.planned_writes = dry_run_writes(plan, pushed.planned)
        report.interrupted = report.interrupted or stop()

    def _refresh_users(self, now: datetime) -> dict[str, Any]:
        stored = refresh_mautic_users(self.store, self.mautic, now)
        return {"users": stored} if stored is not None else {}

    def _finish(
        self,
        report: CycleReport,
        run_id: int,
        before: Mapping[str, int],
        *,
        outcome: runs.Outcome,
        error: str | None = None,
    ) -> None:
        now = self.clock.now()
        after = self.request_counts()
        report.requests = {k: after.get(k, 0) - before.get(k, 0) for k in after}
        report.finished_at = now
        with self.store.write() as conn:
            report.outbox_depth = {
                system: sum(outbox.depth(conn, system).values()) for system in ("mautic", "crm")
            }
            report.dead_letters = deadletter.count_open(conn)
            runs.finish_run(
                conn,
                run_id,
                now=now,
                outcome=outcome,
                counts={"steps": report.steps, "events_pulled": report.events_pulled},
                requests=report.requests,
                error=error,
            )


class SystemBackoff:
    """Per system: consecutive failed cycles and when to try it again (doubling, at most 1 h)."""

    def __init__(self, interval: timedelta) -> None:
        self.interval = interval
        self._failures: dict[str, int] = {}
        self._retry_at: dict[str, datetime] = {}
        self._reason: dict[str, str] = {}
        self._failed_in: dict[str, datetime] = {}

    def waiting(self, system: str, now: datetime) -> str | None:
        """Why ``system`` is left alone now (None: try it)."""
        retry = self._retry_at.get(system)
        if retry is None or now >= retry:
            return None
        return f"backing off until {retry.isoformat()} after: {self._reason[system]}"

    def failed(self, system: str, now: datetime, reason: str) -> None:
        """``system`` failed in the cycle that started at ``now``."""
        if self._failed_in.get(system) == now:
            return  # one cycle counts once, however many of its steps failed
        self._failed_in[system] = now
        count = self._failures[system] = self._failures.get(system, 0) + 1
        self._retry_at[system] = now + backoff_delay(count, self.interval)
        self._reason[system] = reason

    def failed_at(self, system: str, now: datetime) -> bool:
        """Whether ``system`` failed in the cycle that started at ``now``."""
        return self._failed_in.get(system) == now

    def succeeded(self, system: str) -> None:
        """``system`` worked: forget its failures."""
        for table in (self._failures, self._retry_at, self._reason):
            table.pop(system, None)


def build_cycle(settings: Settings, *, store: Store, lease: HeldLease, clock: Clock) -> SyncCycle:
    """The factory ``scorebridge run`` hands to the daemon."""
    return SyncCycle(settings, store=store, clock=clock, lease=lease)


@contextmanager
def _store_copy(store: Store) -> Iterator[Store]:
    """A throw-away copy of a SQLite store (consistent even while others write)."""
    if store.path is None:
        raise ConfigError(
            "--dry-run needs a SQLite store (it runs the cycle on a copy); "
            "on PostgreSQL use a staging database",
            key="store.url",
        )
    directory = Path(tempfile.mkdtemp(prefix="scorebridge-dry-run-"))
    target = directory / "dry-run.db"
    try:
        source = sqlite3.connect(store.path)
        copy = sqlite3.connect(target)
        with copy:
            source.backup(copy)
        source.close()
        copy.close()
        target.chmod(0o600)
        copied = open_store(f"sqlite:///{target}")
        try:
            yield copied
        finally:
            copied.close()
    finally:
        shutil.rmtree(directory, ignore_errors=True)
