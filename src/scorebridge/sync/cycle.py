"""One cycle (DESIGN §1): pull Mautic, pull the CRM, rescore, plan, push, report.

Owns the order of the steps, stopping between them when asked (SIGTERM), the lease check before
anything is written, the ``run`` row of each cycle and the report the daemon and ``scorebridge
sync`` print. Each step owns its own transactions; a crash anywhere leaves a store the next
cycle continues from. Must not: contain step logic.

A dry run (``scorebridge sync --dry-run``) runs the same steps against a copy of the store and
with every push in listing mode, so neither the remotes nor the store change.
"""

from __future__ import annotations

import logging
import shutil
import sqlite3
import tempfile
from collections.abc import Callable, Iterator, Mapping
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from scorebridge.clock import Clock, scoring_time
from scorebridge.config import Settings
from scorebridge.errors import (
    AuthError,
    ConfigError,
    QuotaExhausted,
    ShutdownRequested,
    TransientError,
)
from scorebridge.logging import redact
from scorebridge.runtime import build_crm_adapter, build_mautic_client, pull_options
from scorebridge.scoring import CompiledRules, compile_rules, load_rules
from scorebridge.store import deadletter, outbox, runs
from scorebridge.store.engine import Store, open_store
from scorebridge.store.lease import HeldLease
from scorebridge.sync.crm_pull import pull_crm
from scorebridge.sync.crm_writer import CrmWriter, crm_field_specs
from scorebridge.sync.desired import dry_run_writes, plan_changes
from scorebridge.sync.mautic_writer import MauticWriter
from scorebridge.sync.pull import Puller
from scorebridge.sync.push import Writer, push
from scorebridge.sync.score import rescore

log = logging.getLogger(__name__)

StopCheck = Callable[[], bool]


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
        whose pushes stopped (quota, credentials, a refused request). Writes that are only to be
        retried (a 429, a timeout) are not problems: the next cycle sends them."""
        found: list[str] = []
        for step in ("pull", "crm_pull"):
            error = self.steps.get(step, {}).get("error")
            if error:
                found.append(f"{step.replace('_', ' ')} failed: {error}")
        for system, outcome in self.steps.get("push", {}).get("systems", {}).items():
            if outcome.get("stopped"):
                found.append(f"push {system} stopped: {outcome['stopped']}")
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

    def writers(self) -> list[Writer]:
        """Fresh writers for the systems writes are enabled for."""
        found: list[Writer] = []
        if self.settings.write.mautic.enabled:
            found.append(MauticWriter.from_settings(self.mautic, self.settings, self.rules))
        if self.crm is not None and self.settings.write.crm.enabled:
            found.append(CrmWriter.from_settings(self.crm, self.settings, self.rules))
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
    ) -> CycleReport:
        """Run one cycle; ``decay_sweep`` rescores everyone (decay and inactivity)."""
        stop = should_stop or (lambda: False)
        if dry_run:
            with _store_copy(self.store) as copy:
                return SyncCycle(
                    self.settings, store=copy, clock=self.clock, mautic=self.mautic, crm=self.crm
                )._run(stop, decay_sweep=decay_sweep, dry_run=True)
        return self._run(stop, decay_sweep=decay_sweep, dry_run=False)

    def _run(self, stop: StopCheck, *, decay_sweep: bool, dry_run: bool) -> CycleReport:
        started = self.clock.now()
        report = CycleReport(started, dry_run=dry_run)
        before = self.request_counts()
        with self.store.write() as conn:
            run_id = runs.start_run(conn, "dry-run" if dry_run else "cycle", now=started)
        try:
            self._steps(report, stop, decay_sweep=decay_sweep, dry_run=dry_run)
        except ShutdownRequested:
            report.interrupted = True
        except BaseException as exc:
            self._finish(
                report, run_id, before, outcome="failed", error=f"{type(exc).__name__}: {exc}"
            )
            raise
        self._finish(report, run_id, before, outcome="interrupted" if report.interrupted else "ok")
        return report

    def _steps(
        self, report: CycleReport, stop: StopCheck, *, decay_sweep: bool, dry_run: bool
    ) -> None:
        settings, store, clock = self.settings, self.store, self.clock
        steps = report.steps

        def checkpoint() -> None:
            if stop():
                raise ShutdownRequested("stop requested between steps")

        steps["pull"] = (
            Puller(store, self.mautic, clock, pull_options(settings)).pull(stop).as_dict()
        )
        checkpoint()
        if self.crm is not None:
            ignore = [f.name for f in crm_field_specs(settings, self.rules)]
            try:
                steps["crm_pull"] = pull_crm(
                    store,
                    self.crm,
                    clock,
                    kind=settings.crm.kind,
                    overlap=settings.pull.overlap,
                    ignore_properties=ignore,
                    should_stop=stop,
                ).as_dict()
            except (TransientError, QuotaExhausted) as exc:
                # The CRM is down or out of quota: Mautic keeps syncing, the CRM's queue is
                # kept (its pushes fail and back off) and its pull resumes from the cursor.
                steps["crm_pull"] = {"error": redact(f"{type(exc).__name__}: {exc}")}
                log.warning("CRM pull failed; the cycle goes on without it: %s", exc)
            checkpoint()
        steps["rescore"] = rescore(
            store,
            self.rules,
            scoring_time(clock),
            all=decay_sweep,
            notify_existing=settings.scoring.notify_existing,
        ).as_dict()
        checkpoint()
        if settings.predict.enabled and not dry_run:
            from scorebridge.sync.prediction import refit_if_due  # scikit-learn: only when on

            refitted = refit_if_due(store, self.rules, settings.predict, scoring_time(clock))
            if refitted is not None:
                steps["predict"] = refitted.as_dict()
            checkpoint()
        plan = plan_changes(store, self.rules, settings, clock.now())
        steps["plan"] = plan.as_dict()
        checkpoint()
        if self.lease is not None and not dry_run:
            with store.read() as conn:
                self.lease.check(conn)
        pushed = push(store, self.writers(), clock.now(), dry_run=dry_run, should_stop=stop)
        steps["push"] = pushed.as_dict()
        for system in pushed.systems.values():
            if isinstance(system.error, AuthError):  # the operator must fix the credentials
                raise system.error
        if dry_run:
            report.planned_writes = dry_run_writes(plan, pushed.planned)
        report.interrupted = report.interrupted or stop()

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
