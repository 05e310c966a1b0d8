"""How command results look on a terminal (rich tables and summary lines). ``--json`` output
never comes through here; the commands in :mod:`scorebridge.cli` choose."""

from __future__ import annotations

import json
from collections import Counter
from typing import Any

from rich.console import Console
from rich.markup import escape
from rich.table import Table


def print_pull(report: Any, requests: int) -> None:
    """A pull report as a table."""
    table = Table(title="pull")
    for title in ("stream", "pages", "rows", "new events", "contacts", "dead letters"):
        table.add_column(title, justify="left" if title == "stream" else "right")
    for name, s in report.streams.items():
        table.add_row(
            name, str(s.pages), str(s.rows), str(s.new_events), str(s.contacts), str(s.rejects)
        )
    console = Console()
    console.print(table)
    console.print(f"{requests} request(s) to Mautic", highlight=False)


def _short(text: str, width: int = 60) -> str:
    return text if len(text) <= width else text[: width - 1] + "…"


def print_status(snapshot: dict[str, Any]) -> None:
    """``scorebridge status`` on a terminal."""
    console = Console()
    c = snapshot["contacts"]
    console.print(
        f"contacts: {c['total']} ({c['placeholders']} placeholders, {c['awaiting_rescore']} "
        f"awaiting rescore, {c['linked_to_crm']} linked to the CRM)",
        highlight=False,
    )
    streams = Table(title="streams")
    for title in ("stream", "stored rows", "cursor", "cursor moved"):
        streams.add_column(title)
    names = sorted(set(snapshot["events"]) | set(snapshot["cursors"]))
    for name in names:
        cursor = snapshot["cursors"].get(name, {})
        streams.add_row(
            name,
            str(snapshot["events"].get(name, 0)),
            escape(_short(cursor.get("value", "-"))),
            cursor.get("updated_at") or "-",
        )
    console.print(streams)
    lease = snapshot["lease"]
    console.print(
        f"dead letters: {snapshot['dead_letters']}; outbox: {snapshot['outbox']}; lease: "
        + ("free" if lease is None else f"{lease['holder']} (expires {lease['expires_at']})"),
        highlight=False,
    )
    waiting = snapshot.get("outbox_next") or []
    if waiting:
        due = Table(title="outbox: next attempts")
        for title in ("id", "system", "op", "contact", "attempts", "next attempt", "last error"):
            due.add_column(title, overflow="fold")
        for op in waiting:
            due.add_row(
                str(op["id"]),
                op["system"],
                op["op"],
                str(op["contact_id"] or "-"),
                str(op["attempts"]),
                op["next_attempt_at"] or "-",
                escape(_short(op["last_error"] or "", 40)),
            )
        console.print(due)
    runs = Table(title="last runs")
    for title in ("id", "command", "started", "seconds", "outcome", "requests", "error"):
        runs.add_column(title)
    for r in snapshot["runs"]:
        seconds = f"{r['seconds']:.1f}" if r["seconds"] is not None else "-"
        runs.add_row(
            str(r["id"]),
            r["command"],
            r["started_at"] or "-",
            seconds,
            r["outcome"],
            str(r["requests"]),
            escape(r["error"] or ""),
        )
    console.print(runs)


def print_cycle(report: Any, details: bool = False) -> None:
    """A human summary of one cycle; a dry run's planned writes by system and operation, or
    (``details``) one line each."""
    console = Console()
    steps = report.steps
    pull = steps.get("pull", {})
    lines = [f"pull: {pull.get('new_events', 0)} new events, {pull.get('contacts', 0)} contacts"]
    if "crm_pull" in steps:
        crm = steps["crm_pull"]
        summary = ", ".join(f"{k} {v}" for k, v in crm.items() if isinstance(v, int))
        lines.append(f"crm pull: {summary}")
    rescored = steps.get("rescore", {})
    if rescored:
        lines.append(
            f"rescore: {rescored.get('contacts', 0)} contact(s), "
            f"{rescored.get('fired', 0)} trigger(s) fired"
        )
    if "plan" in steps:
        lines.append(f"plan: {steps['plan'].get('enqueued', 0)} write(s) queued")
    for system, p in steps.get("projection", {}).items():
        pace = f", about {p['seconds_at_limit']} s at {p['limit']}" if p.get("limit") else ""
        days = f", spread over {p['days']} days by the daily quota" if p.get("days", 1) > 1 else ""
        lines.append(f"write-back {system}: {p['requests']} request(s){pace}{days}")
    for system, outcome in steps.get("push", {}).get("systems", {}).items():
        extra = f", stopped: {outcome['stopped']}" if outcome.get("stopped") else ""
        lines.append(
            f"push {system}: {outcome['ok']} ok, {outcome['retry']} to retry, "
            f"{outcome['dead']} dead-lettered{extra}"
        )
    requests = ", ".join(f"{k} {v}" for k, v in report.requests.items())
    lines.append(
        f"requests: {requests}; outbox {report.outbox_depth}; dead letters {report.dead_letters}"
    )
    if report.interrupted:
        lines.append("interrupted: stopped between steps, everything done so far is committed")
    for line in lines:
        console.print(escape(line), highlight=False)
    for problem in report.problems:
        console.print(f"[bold red]problem:[/] {escape(problem)}", highlight=False)
    if report.dry_run:
        planned = report.planned_writes
        if details:
            table = Table(title=f"planned writes (dry run: {len(planned)}, none sent)")
            for title in ("system", "op", "mautic id", "what"):
                table.add_column(title, overflow="fold")
            for op in planned:
                what = json.dumps(op.get("payload", {}), sort_keys=True, default=str)
                table.add_row(
                    op["system"], op["op"], str(op.get("mautic_id") or "-"), escape(what[:100])
                )
        else:
            table = Table(title=f"planned writes (dry run: {len(planned)}, none sent)")
            for title in ("system", "op", "writes", "contacts"):
                table.add_column(
                    title, justify="right" if title in ("writes", "contacts") else "left"
                )
            counts = Counter((op["system"], op["op"]) for op in planned)
            contacts: dict[tuple[str, str], set[Any]] = {}
            for op in planned:
                who = op.get("mautic_id") or op.get("email")
                contacts.setdefault((op["system"], op["op"]), set()).add(who)
            for (system, op_name), n in sorted(counts.items()):
                table.add_row(system, op_name, str(n), str(len(contacts[system, op_name] - {None})))
        console.print(table)
        if planned and not details:
            console.print("--details lists each write", highlight=False)


def print_leads(rows: list[Any], group: str | None) -> None:
    """``scorebridge leads`` on a terminal: one line per lead. Under 120 columns (80 fit) name
    and e-mail share one shortened ``lead`` column, only the top group shows and the last
    activity is left out (``--json`` has everything)."""
    console = Console()
    wide = console.width >= 120
    table = Table(title=f"Leads by {'group ' + group if group else 'total'} score")
    fixed = {"id": 4, "total": 5, "band": 4, "stage": 5}
    titles = (
        ["id", "email", "name", "total", "band", "stage", "top groups", "last activity"]
        if wide
        else ["id", "lead", "total", "band", "stage", "top group"]
    )
    for title in titles:
        table.add_column(
            title,
            justify="right" if title in ("id", "total") else "left",
            no_wrap=True,
            overflow="ellipsis",
            min_width=fixed.get(title),
            max_width={"lead": 28, "top group": 16}.get(title),
        )
    for r in rows:
        top = ", ".join(f"{g} {v}" for g, v in list(r.groups.items())[: 3 if wide else 1])
        last = r.last_activity_at.strftime("%Y-%m-%d") if r.last_activity_at else "-"
        both = f"{r.name} <{r.email}>" if r.name and r.email else r.email or r.name or "-"
        who = [escape(r.email or "-"), escape(r.name or "-")] if wide else [escape(both)]
        cells = [str(r.mautic_id or r.contact_id), *who, str(r.total), r.band or "-"]
        cells += [r.stage or "-", top or "-"] + ([last] if wide else [])
        table.add_row(*cells)
    console.print(table)


def dead_letter_subject(entry: Any) -> str:
    """What a dead letter is about, as a user names it: the Mautic contact and the write."""
    payload = entry.payload or {}
    if entry.kind == "operation" and (payload.get("mautic_id") or payload.get("email")):
        who = f"Mautic contact {payload.get('mautic_id') or '-'}"
        if payload.get("email"):
            who += f" <{payload['email']}>"
        return f"{payload.get('op', '')} for {who}"
    return str(entry.record_id)


def print_dead_letters(entries: list[Any]) -> None:
    """``scorebridge deadletter list`` on a terminal."""
    if not entries:
        Console().print("no dead letters")
        return
    table = Table(title="dead letters")
    for title in ("id", "kind", "source", "record", "attempts", "status", "since", "reason"):
        table.add_column(title)
    for e in entries:
        since = e.created_at.strftime("%Y-%m-%d %H:%M") if e.created_at else "-"
        table.add_row(
            str(e.id),
            e.kind,
            e.source,
            escape(dead_letter_subject(e)),
            str(e.attempts),
            e.status,
            since,
            escape(e.reason),
        )
    Console().print(table)


def print_checks(checks: list[Any]) -> None:
    """``scorebridge doctor`` on a terminal: one line per check, and what to fix."""
    marks = {"fail": "[red]FAIL[/red]", "warn": "[yellow]warn[/yellow]"}
    console = Console()
    for check in checks:
        mark = marks.get(check.status, "[green] ok [/green]")
        console.print(f"{mark} {escape(check.name)}: {escape(check.detail)}")
        if check.fix and check.status != "ok":
            console.print(f"       fix: {escape(check.fix)}")
