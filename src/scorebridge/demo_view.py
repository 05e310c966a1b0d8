"""What ``scorebridge demo`` prints: short rich sections, no logs.

Owns the wording and layout of the demo's output (the cycles, the leads table, why the top leads
are hot, the live lead before and after, the tasks and deals, the requests per cycle, and how to
go on from here). Reads the store only through :mod:`scorebridge.sync.leads`.
Must not: drive the sandbox or the daemon, or write anything.
"""

from __future__ import annotations

import sys
from collections import Counter
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table

from scorebridge.redaction import redact
from scorebridge.scoring.explain import top_reasons
from scorebridge.store.engine import Store
from scorebridge.sync.leads import explain_contact, leads

if TYPE_CHECKING:
    from scorebridge.demo import CycleRecord, DemoState

BAND_STYLE = {"hot": "bold red", "warm": "yellow", "cold": "cyan"}
CRM_LABELS = {"hubspot": "HubSpot", "pipedrive": "Pipedrive", "salesforce": "Salesforce"}


@dataclass(frozen=True)
class LeadSnapshot:
    """One lead at one moment: scorebridge's view and what each system holds."""

    name: str
    email: str
    mautic_id: int | None
    total: int
    band: str | None
    stage: str | None
    reasons: list[str]
    mautic: dict[str, Any]
    crm: dict[str, Any]


def _band(band: str | None) -> str:
    return f"[{BAND_STYLE.get(band or '', '')}]{band or '-'}[/]"


def _due(value: Any) -> str:
    if value in (None, ""):
        return "-"
    text = str(value)
    try:
        moment = (
            datetime.fromtimestamp(int(text) / 1000, UTC)
            if text.isdigit()
            else datetime.fromisoformat(text.replace("Z", "+00:00"))
        )
    except ValueError:
        return text
    return moment.strftime("%Y-%m-%d")


def _program() -> str:
    """How the user calls scorebridge: ``.venv/bin/scorebridge`` when the demo runs from a
    virtual environment under the current directory (``./scripts/demo``), else ``scorebridge``."""
    script = Path(sys.executable).parent / "scorebridge"
    try:
        relative = script.relative_to(Path.cwd())
    except ValueError:
        return "scorebridge"
    return str(relative) if script.exists() else "scorebridge"


class DemoView:
    """Prints the demo's sections on a rich console."""

    def __init__(self, console: Console, crm: str = "hubspot") -> None:
        self.out = console
        self.crm = CRM_LABELS.get(crm, crm)

    def _section(self, title: str) -> None:
        self.out.print()
        self.out.rule(f"[bold]{title}[/]", align="left")

    def intro(
        self, workdir: Path, contacts: int, days: int, tier: str, interval: timedelta
    ) -> None:
        """What is about to happen (``tier``: how the CRM emulator is set up, in words)."""
        self.out.print(
            f"[bold]scorebridge demo[/]: Mautic and {self.crm} emulators on 127.0.0.1, "
            f"{contacts} contacts x {days} days of behaviour, the real daemon every "
            f"{interval.total_seconds():g} s (production: every 5 min)."
        )
        self.out.print(
            f"Working directory [bold]{workdir}/[/] (configuration, 0600 secret files, store). "
            f"{tier}. Ctrl-C stops cleanly.",
            highlight=False,
        )

    def sandbox_ready(self, info: dict[str, Any], config: Path) -> None:
        """Where the emulators listen."""
        urls = ", ".join(f"{name} {entry['url']}" for name, entry in info.items())
        self.out.print(f"Sandbox up: {urls}; configuration {config}", highlight=False)

    def cycle(self, record: CycleRecord) -> None:
        """One line per daemon cycle."""
        parts = [
            f"{system} {record.reads.get(system, 0)} reads / {record.writes.get(system, 0)} writes"
            for system in record.reads
        ]
        pulled = record.report.events_pulled
        state = " [yellow](interrupted)[/]" if record.report.interrupted else ""
        self.out.print(
            f"[bold]cycle {record.number}[/] {record.seconds:5.1f} s: {pulled} events pulled; "
            + "; ".join(parts)
            + (
                " [green]- idle, nothing to write[/]"
                if record.total_writes == 0 and not record.report.interrupted
                else ""
            )
            + state,
            highlight=False,
        )

    def overview(
        self,
        store: Store,
        rules: Any,
        as_of: datetime,
        crm: dict[str, int],
        seeded: dict[str, int],
    ) -> None:
        """Bands, the top leads, why the hottest are hot, and what landed in the CRM."""
        everyone = leads(store, limit=1_000_000)
        bands = Counter(lead.band for lead in everyone)
        self._section("Leads after the first cycle")
        self.out.print(
            "  ".join(f"{_band(b)} {bands.get(b, 0)}" for b in ("hot", "warm", "cold"))
            + f"   ({len(everyone)} scored contacts)"
        )
        table = Table(show_edge=False, pad_edge=False)
        for column in ("score", "band", "stage", "lead", "top groups"):
            table.add_column(column, justify="right" if column == "score" else "left")
        for lead in everyone[:10]:
            groups = ", ".join(f"{g} {v}" for g, v in list(lead.groups.items())[:2])
            table.add_row(
                str(lead.total),
                _band(lead.band),
                lead.stage or "-",
                escape(lead.name),
                groups or "-",
            )
        self.out.print(table)
        self._section("Why the top leads are hot or sales-qualified (scorebridge explain)")
        resetting = {s.key for s in rules.stages if s.reset_score}
        for lead in [x for x in everyone if x.band == "hot" or x.stage in resetting][:3]:
            _, result, _ = explain_contact(store, rules, str(lead.mautic_id), as_of)
            since = (
                f", {result.stage_score_value} since entering {lead.stage}"
                if result.reset_at is not None
                else ""
            )
            self.out.print(
                f"[bold]{escape(lead.name)}[/] ({result.total_value}, {_band(result.band)}{since})"
            )
            for reason in top_reasons(result, 3, rules):
                self.out.print(f"    {escape(reason)}", highlight=False)
        tasks = crm["tasks"] - seeded.get("tasks", 0)
        deals = crm["deals"] - seeded.get("deals", 0)
        self.out.print(
            f"\nWritten back: Mautic point groups, score and band fields, stages and segments; "
            f"{tasks} {self.crm} follow-up tasks and {deals} deals. A lead's first score only "
            "records the triggers it already meets (\\[scoring] notify_existing = false); sales "
            "hear about new crossings, like the one below.",
            highlight=False,
        )

    def live_before(self, snap: LeadSnapshot) -> None:
        """The live lead before it does anything new."""
        self._section(f"Live: {snap.name} (Mautic contact {snap.mautic_id})")
        self.out.print(
            f"Now {snap.total} points, {_band(snap.band)}, stage {snap.stage or '-'}; "
            f"in {self.crm}: {'yes' if snap.crm else 'not yet'}.",
            highlight=False,
        )

    def recorded(self, what: list[str]) -> None:
        """The behaviour just recorded in Mautic."""
        self.out.print(
            f"Recording in Mautic (POST /_sandbox/events): she {', '.join(what[:-1])} and "
            f"{what[-1]}. The daemon picks it up on its next cycle ...",
            highlight=False,
        )

    def _live_after(self, before: LeadSnapshot, after: LeadSnapshot, cycle: int | None) -> None:
        self._section(f"{after.name} after cycle {cycle}")
        self.out.print(
            f"score {before.total} -> [bold]{after.total}[/], band {_band(before.band)} -> "
            f"{_band(after.band)}, stage {before.stage or '-'} -> {after.stage or '-'}",
            highlight=False,
        )
        for reason in after.reasons:
            self.out.print(f"    {escape(reason)}", highlight=False)
        crm = after.crm
        if crm:
            self.out.print(
                f"{self.crm} contact {crm['id']}: lifecycle {crm.get('lifecycle')}, "
                f"scorebridge_score {crm.get('score')}, "
                f"scorebridge_stage_score {crm.get('stage_score')}, "
                f"scorebridge_band {crm.get('band')}",
                highlight=False,
            )
            for task in crm["tasks"]:
                self.out.print(
                    f"  [bold]task[/] {escape(str(task['subject']))} - owner {task['owner']}, "
                    f"due {_due(task['due'])}, priority {task['priority'] or '-'}",
                    highlight=False,
                )
            for deal in crm["deals"]:
                self.out.print(
                    f"  [bold]deal[/] {escape(str(deal['name']))} - owner {deal['owner']}, "
                    f"stage {deal['stage']}",
                    highlight=False,
                )
        else:
            self.out.print(f"{self.crm}: no contact yet", highlight=False)
        mautic = after.mautic
        fields = mautic.get("fields") or {}
        self.out.print(
            f"Mautic contact {after.mautic_id}: sb_score {fields.get('sb_score')}, "
            f"sb_stage_score {fields.get('sb_stage_score')}, sb_band {fields.get('sb_band')}, "
            f"stage {mautic.get('stage') or '-'}, point groups {mautic.get('group_scores')}, "
            f"segments {', '.join(mautic.get('segments') or []) or '-'} "
            f"(Mautic's own point actions gave {mautic.get('points')} points)",
            highlight=False,
        )
        for note in mautic.get("notes") or []:
            first = str(note["text"]).splitlines()[0] if note["text"] else ""
            self.out.print(f"  [bold]{note['type']} note[/] {escape(first)}", highlight=False)

    def _requests(self, state: DemoState) -> None:
        self._section("Requests per cycle (reads / writes, as scorebridge sent them)")
        systems = list(state.cycles[0].reads) if state.cycles else []
        table = Table(show_edge=False, pad_edge=False)
        table.add_column("cycle", justify="right")
        table.add_column("seconds", justify="right")
        for system in systems:
            table.add_column(system, justify="right")
        table.add_column("items written", justify="right")
        table.add_column("")
        for record in state.cycles:
            pushed = record.report.steps.get("push", {}).get("systems", {})
            items = sum(int(s.get("ok", 0)) for s in pushed.values())
            note = {1: "first sync (backfill)", state.live_cycle: "live behaviour"}
            if record.number == state.idle_cycle:
                label = "[green]idle: 0 writes[/]"
            else:
                label = note.get(record.number, "")
            table.add_row(
                str(record.number),
                f"{record.seconds:.1f}",
                *(f"{record.reads.get(s, 0)} / {record.writes.get(s, 0)}" for s in systems),
                str(items),
                label,
            )
        self.out.print(table)
        self.out.print(
            "The example rules set reset_score on SQL: a lead that enters SQL keeps its lifetime "
            "score (hot, beside its deal) and gets a stage score counted from the entry; both are "
            "written once, so the next cycles have nothing to rewrite.",
            highlight=False,
        )

    def outro(self, state: DemoState, config: Path, seconds: float) -> None:
        """The live lead, the request table, and what to do next."""
        if state.live_before and state.live_after:
            self._live_after(state.live_before, state.live_after, state.live_cycle)
        self._requests(state)
        cfg = escape(str(config))
        self._section("Next")
        self.out.print(
            f"Done in {seconds:.0f} s. The sandbox has stopped; the store stays in "
            f"{escape(str(config.parent))}/. These work offline:",
            highlight=False,
        )
        commands = ["leads --limit 10", "status"]
        if state.live_after is not None and state.live_as_of is not None:
            commands.insert(
                1, f"explain {state.live_after.email} --as-of {state.live_as_of.isoformat()}"
            )
        program = escape(_program())
        for command in commands:
            self.out.print(f"  {program} --config {cfg} {command}", highlight=False, soft_wrap=True)
        self.out.print(
            f"(--as-of shows her at cycle {state.live_cycle}: her score, her stage score since "
            "the SQL entry, and the task and deal her triggers made.)\n"
            f"Everything that talks to Mautic or {self.crm} (sync, pull, run, doctor) needs a "
            "sandbox: "
            f"`{program} sandbox --crm {self.crm.lower()} --write-config scorebridge.toml` "
            "starts a fresh one (a new world; use a new directory for it).\n"
            f"Real instances: `{program} init DIR` writes a commented scorebridge.toml and "
            f'scoring.toml; set \\[mautic] url and auth and \\[crm] kind = "{self.crm.lower()}" '
            "with its credentials (README: connecting your CRM); put secrets in "
            "SCOREBRIDGE_MAUTIC__PASSWORD / SCOREBRIDGE_CRM__<KEY> or *_file settings (chmod "
            "600); then `scorebridge doctor`, "
            "`scorebridge sync --dry-run`, and `scorebridge run` (as a service: "
            f"`{program} init --print-unit`).",
            highlight=False,
        )
        self._report(state, program, cfg)

    def _report(self, state: DemoState, program: str, cfg: str) -> None:
        """Where the measuring report is, and how to make it again."""
        self._section("Measure the rules")
        if state.report is not None:
            self.out.print(
                f"The rules judged on this history (backtest against the CRM's won deals, the "
                f"signals that foretell a win, the top leads): {escape(str(state.report))} - "
                "open it in a browser. It needs no network.",
                highlight=False,
                soft_wrap=True,
            )
        else:
            self.out.print(
                f"No report: {escape(state.report_note)}", highlight=False, soft_wrap=True
            )
        self.out.print(
            f"  {program} --config {cfg} report --out report.html --window 14d --every 3d\n"
            "(45 days of history: wins within 14 days. On your own history the defaults, a "
            "90-day window every 7 days, apply; `backtest` and `analyze` print the figures.)",
            highlight=False,
            soft_wrap=True,
        )

    def interrupted(self, workdir: Path) -> None:
        """Ctrl-C."""
        self.out.print(
            f"\nStopped. The store in {workdir}/ is consistent; run the demo again to start over.",
            highlight=False,
        )

    def failed(self, exc: BaseException | None, workdir: Path) -> None:
        """A clear message for a failed demo."""
        reason = redact(f"{type(exc).__name__}: {exc}") if exc else "the daemon stopped early"
        self.out.print(f"\n[red]The demo failed:[/] {escape(reason)}", highlight=False)
        self.out.print(
            f"The files are in {workdir}/; please report this with the output above.",
            highlight=False,
        )
