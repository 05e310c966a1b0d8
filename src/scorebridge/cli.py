"""The command line (DESIGN §7). Argument parsing and output only: each command calls into the
package and prints; no business logic lives here.

Conventions: ``--config PATH`` (default ``./scorebridge.toml`` or ``$SCOREBRIDGE_CONFIG``);
exit 0 on success, 1 when the work failed, 2 on bad usage or configuration; ``--json`` prints
exactly one JSON document on stdout and nothing else there (logs go to stderr).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path
from typing import Any

import typer
from rich.console import Console
from rich.markup import escape

from scorebridge import __version__
from scorebridge.cli_args import MAX_ID, MAX_LIMIT, USAGE_ERROR, contact_ref, usage_line
from scorebridge.errors import BridgeError, ConfigError
from scorebridge.redaction import redact
from scorebridge.views import (
    print_checks,
    print_cycle,
    print_dead_letters,
    print_leads,
    print_pull,
    print_status,
)

app = typer.Typer(
    name="scorebridge",
    help="Lead scoring between Mautic and your CRM: pull, score, explain, write back.",
    no_args_is_help=True,
    add_completion=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
)
stderr = Console(stderr=True)


class State:
    """Options shared by every command."""

    config_path: Path = Path("scorebridge.toml")


state = State()


def _version(value: bool) -> None:
    if value:
        typer.echo(f"scorebridge {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    config: Path = typer.Option(  # noqa: B008
        None,
        "--config",
        "-c",
        help="Path to scorebridge.toml (default ./scorebridge.toml or $SCOREBRIDGE_CONFIG).",
        show_default=False,
    ),
    version: bool = typer.Option(
        False, "--version", callback=_version, is_eager=True, help="Print the version."
    ),
    verbose: bool = typer.Option(False, "--verbose", "-v", help="Debug logs on stderr."),
    quiet: bool = typer.Option(False, "--quiet", "-q", help="Only errors on stderr."),
) -> None:
    state.config_path = config or Path(os.environ.get("SCOREBRIDGE_CONFIG", "scorebridge.toml"))
    if verbose or quiet:
        from scorebridge.logging import override_level

        override_level("debug" if verbose else "error")


def emit_json(document: Any) -> None:
    """Print one JSON document on stdout (the ``--json`` contract)."""
    sys.stdout.write(json.dumps(document, indent=2, sort_keys=True, default=str) + "\n")


def _store() -> Any:
    """The configured store (close it: ``with _store() as store:``)."""
    from scorebridge.config import load_config
    from scorebridge.store.engine import open_store

    return open_store(load_config(state.config_path).store.url)


def _scoring() -> tuple[Any, Any]:
    """The open store and compiled rules named by the configuration (ConfigError -> exit 2)."""
    from scorebridge.config import load_config
    from scorebridge.scoring import compile_rules, load_rules
    from scorebridge.store.engine import open_store

    settings = load_config(state.config_path)
    rules = compile_rules(load_rules(settings.scoring.rules))
    return open_store(settings.store.url), rules


def check_choice(value: str | None, allowed: list[str], option: str) -> None:
    """A value of ``option`` that the rule file does not know is a usage error (exit 2)."""
    if value is not None and value not in allowed:
        raise typer.BadParameter(
            f"unknown {option.lstrip('-')} {value!r}; the rule file has: {', '.join(allowed)}",
            param_hint=option,
        )


def _as_of(value: str | None) -> Any:
    from scorebridge.cli_args import instant
    from scorebridge.clock import SystemClock, scoring_time

    if value is None:
        return scoring_time(SystemClock())
    return instant(value, option="--as-of")


@app.command()
def rescore(
    everyone: bool = typer.Option(False, "--all", help="Rescore every contact (decay sweep)."),
    as_of: str = typer.Option(None, "--as-of", help="Score at this ISO time (default: now)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Recompute scores of the changed contacts (or all) and queue fired trigger actions."""
    from scorebridge.config import load_config
    from scorebridge.sync.score import rescore as run_rescore

    notify = load_config(state.config_path).scoring.notify_existing
    store, rules = _scoring()
    with store:
        report = run_rescore(store, rules, _as_of(as_of), all=everyone, notify_existing=notify)
    if as_json:
        emit_json(report.as_dict())
        return
    bands = ", ".join(f"{b} {n}" for b, n in sorted(report.bands.items())) or "none"
    typer.echo(
        f"rescored {report.contacts} contact(s) ({report.mode}, rules {report.rule_version}): "
        f"{bands}; {report.stage_changes} stage change(s), {report.fired} trigger(s) fired, "
        f"{report.enqueued} action(s) queued"
    )


@app.command()
def leads(
    band: str = typer.Option(None, "--band", help="Only this band (e.g. hot)."),
    group: str = typer.Option(None, "--group", help="Rank by this group's score."),
    limit: int = typer.Option(20, "--limit", min=1, max=MAX_LIMIT, help="How many leads."),
    as_of: str = typer.Option(
        None, "--as-of", help="Score everyone at this ISO time instead of showing stored scores."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """The leads by score, at a glance."""
    from scorebridge.sync.leads import leads as read_leads
    from scorebridge.sync.leads import leads_at

    store, rules = _scoring()
    with store:
        check_choice(band, [rules.base_band, *(name for name, _ in rules.bands)], "--band")
        check_choice(group, list(rules.groups), "--group")
        if as_of is None:
            rows = read_leads(store, band=band, group=group, limit=limit)
        else:
            rows = leads_at(store, rules, _as_of(as_of), band=band, group=group, limit=limit)
    if as_json:
        emit_json({"leads": [r.as_dict() for r in rows]})
        return
    print_leads(rows, group)


@app.command()
def explain(
    contact: str = typer.Argument(..., help="Mautic contact id or e-mail.", callback=contact_ref),
    as_of: str = typer.Option(None, "--as-of", help="Explain the score at this ISO time."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Why a lead has its score: every contribution, groups, band, stage, triggers."""
    from scorebridge.scoring import explain_json, explain_text
    from scorebridge.sync.leads import explain_contact

    store, rules = _scoring()
    with store:
        who, result, history = explain_contact(store, rules, contact, _as_of(as_of))
    if as_json:
        person = {"mautic_id": who.mautic_id, "email": who.email, "name": who.name}
        emit_json({"contact": person} | explain_json(result, rules, history))
        return
    typer.echo(explain_text(result, rules, history))


@app.command(context_settings={"ignore_unknown_options": True})  # POINTS may be negative
def adjust(
    contact: str = typer.Argument(..., help="Mautic contact id or e-mail.", callback=contact_ref),
    points: float = typer.Argument(..., help="Points to add (negative to subtract)."),
    reason: str = typer.Option(..., "--reason", help="Why (kept, shown in explain)."),
    group: str = typer.Option(
        None, "--group", help="A topic group (default: none, the points count in the total)."
    ),
    as_of: str = typer.Option(None, "--as-of", help="When the adjustment applies (ISO time)."),
) -> None:
    """Adjust a lead's score by hand; it is rescored on the next cycle or `rescore`."""
    from scorebridge.cli_args import check_adjustment
    from scorebridge.sync.adjust import adjust as record

    store, rules = _scoring()
    with store:
        check_adjustment(points, group, rules)
        record(store, contact, points, reason, group, now=_as_of(as_of))
    typer.echo(f"recorded {points:+g} point(s) for {contact} ({reason}); run `scorebridge rescore`")


@app.command()
def sandbox(
    contacts: int = typer.Option(
        2000, "--contacts", min=3, max=1_000_000, help="Persons in the seeded world."
    ),
    days: int = typer.Option(60, "--days", min=3, max=3650, help="Days of behaviour to seed."),
    seed: int = typer.Option(1, "--seed", help="Seed of the world generator."),
    port: int = typer.Option(0, "--port", min=0, max=65535, help="Mautic port (0: a free one)."),
    ready_file: Path = typer.Option(  # noqa: B008
        None, "--ready-file", help="Write connection JSON here once listening."
    ),
    write_config: Path = typer.Option(  # noqa: B008
        None, "--write-config", help="Write a scorebridge.toml pointing at the sandbox."
    ),
    tls: bool = typer.Option(
        False, "--tls", help="Serve https with a fresh self-signed certificate (ca_bundle)."
    ),
    crm: list[str] = typer.Option(  # noqa: B008
        None, "--crm", help="CRM emulator to start (repeatable): hubspot, pipedrive, salesforce."
    ),
    steady: bool = typer.Option(
        False, "--steady", help="Spread buying decisions over the history (for backtests)."
    ),
) -> None:
    """Serve the Mautic and CRM emulators on 127.0.0.1 with a seeded world (Ctrl-C stops)."""
    from scorebridge.sandbox.runner import SandboxOptions, serve

    def announce(info: dict[str, Any]) -> None:
        for name, entry in info.items():
            stderr.print(f"{name}: {entry['url']}", highlight=False)
        mautic = info["mautic"]
        stderr.print(
            f"mautic basic auth: {mautic['username']} / {mautic['password']}; "
            f"OAuth2 client {mautic['client_id']} (secret in the ready file)",
            highlight=False,
        )
        if mautic.get("ca_bundle"):
            stderr.print(f"TLS CA bundle: {mautic['ca_bundle']}", highlight=False)
        stderr.print("serving; Ctrl-C or SIGTERM stops", highlight=False)

    crms = tuple(crm) if crm else None
    options = SandboxOptions(
        contacts=contacts, days=days, seed=seed, port=port, tls=tls, crms=crms, steady=steady
    )
    stderr.print(f"seeding {contacts} contacts x {days} days (seed {seed}) ...", highlight=False)
    try:
        code = serve(options, ready_file=ready_file, config_file=write_config, on_ready=announce)
    except ValueError as exc:  # an unknown --crm
        stderr.print(f"[red]error:[/red] {escape(str(exc))}", highlight=False, soft_wrap=True)
        raise typer.Exit(2) from None
    except OSError as exc:  # port taken, ready/config path not writable
        stderr.print(
            f"[red]error:[/red] {escape(redact(str(exc)))}", highlight=False, soft_wrap=True
        )
        raise typer.Exit(1) from None
    raise typer.Exit(code)


def _pull_run(command: str, work: Any) -> Any:
    """Run ``work(runtime)`` as a recorded run; returns its report and the requests it sent."""
    from scorebridge.runtime import open_runtime, recorded_run

    runtime = open_runtime(state.config_path)
    try:
        return recorded_run(runtime, command, work)
    finally:
        runtime.close()


@app.command()
def pull(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Pull new contacts and behaviour from Mautic into the store (the pull half of a cycle)."""
    from scorebridge.sync.pull import Puller

    report, requests = _pull_run(
        "pull",
        lambda rt: Puller(rt.store, rt.mautic, rt.clock, rt.pull_options()).pull(),
    )
    if as_json:
        emit_json(report.as_dict() | {"requests": requests})
    else:
        print_pull(report, requests)


@app.command()
def resync(
    full: bool = typer.Option(False, "--full", help="Re-read all history."),
    since: str = typer.Option(None, "--since", help="Re-read history from this ISO time."),
    contact: int = typer.Option(
        None, "--contact", min=1, max=MAX_ID, help="Re-read only this Mautic contact id."
    ),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Re-read history from a point in time (or one contact's) without duplicating anything."""
    from scorebridge.cli_args import past_instant
    from scorebridge.clock import SystemClock
    from scorebridge.sync.pull import Puller, PullReport
    from scorebridge.sync.resync import pull_one_contact, reset_cursors

    if contact is None and full == (since is not None):
        raise typer.BadParameter("give exactly one of --full or --since ISO (or --contact ID)")
    start = (
        None if since is None else past_instant(since, option="--since", now=SystemClock().now())
    )

    def work(rt: Any) -> PullReport:
        now = rt.clock.now()
        if contact is not None:
            report = PullReport(now)
            report.streams[f"contact {contact}"] = pull_one_contact(
                rt.store, rt.mautic, contact, rt.pull_options(), now
            )
            return report
        reset_cursors(rt.store, rt.mautic, since=start, now=now)
        return Puller(rt.store, rt.mautic, rt.clock, rt.pull_options()).pull()

    report, requests = _pull_run("resync", work)
    if as_json:
        emit_json(report.as_dict() | {"requests": requests})
    else:
        print_pull(report, requests)


@app.command()
def status(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Cursors, stored rows per stream, dead letters, outbox depth, lease holder, last runs."""
    from scorebridge.clock import SystemClock
    from scorebridge.sync.status import gather_status

    with _store() as store:
        snapshot = gather_status(store, SystemClock().now())
    if as_json:
        emit_json(snapshot)
        return
    print_status(snapshot)


@app.command()
def run() -> None:
    """Run the daemon: a cycle every [schedule] interval until SIGTERM (drains, then exits 0)."""
    from scorebridge.config import load_config
    from scorebridge.daemon import run_daemon
    from scorebridge.logging import configure_logging

    settings = load_config(state.config_path)
    configure_logging(
        settings.logging.level, json=settings.logging.json_lines, secrets=settings.secret_values()
    )
    try:
        from scorebridge.sync.cycle import build_cycle  # type: ignore[import-not-found,unused-ignore]
    except ImportError as exc:
        if exc.name != "scorebridge.sync.cycle":
            raise
        raise BridgeError(
            "this build has no sync cycle yet (scorebridge.sync.cycle.build_cycle is missing)"
        ) from exc
    raise typer.Exit(run_daemon(settings, build_cycle))


@app.command()
def doctor(
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """Check the store, the rules, Mautic and the CRM, and say what to fix (exit 1 if any fail)."""
    from scorebridge.doctor import FAIL, run_checks
    from scorebridge.doctor import as_json as checks_json
    from scorebridge.runtime import open_runtime

    runtime = open_runtime(state.config_path, quiet=True)
    try:
        checks = run_checks(runtime)
    finally:
        runtime.close()
    if as_json:
        emit_json(checks_json(checks))
    else:
        print_checks(checks)
    if any(c.status == FAIL for c in checks):
        raise typer.Exit(1)


deadletter_app = typer.Typer(
    help="Inspect and recover records and operations that failed permanently.",
    no_args_is_help=True,
)
app.add_typer(deadletter_app, name="deadletter")


@deadletter_app.command("list")
def deadletter_list(
    everything: bool = typer.Option(False, "--all", help="Include resolved entries."),
    limit: int = typer.Option(50, "--limit", min=1, max=MAX_LIMIT, help="How many, newest first."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
) -> None:
    """List dead letters (newest first): what failed, where, why, how often."""
    from dataclasses import asdict

    from scorebridge.store import deadletter

    with _store() as store, store.read() as conn:
        entries = deadletter.list_entries(conn, include_resolved=everything, limit=limit)
    if as_json:
        emit_json({"dead_letters": [asdict(e) | {"status": e.status} for e in entries]})
        return
    print_dead_letters(entries)


@deadletter_app.command("replay")
def deadletter_replay(
    ids: list[int] = typer.Argument(  # noqa: B008
        ..., min=1, max=MAX_ID, help="Dead-letter ids (see `deadletter list`)."
    ),
) -> None:
    """Retry after fixing the cause: operations go back to the outbox, records are re-read by
    the next pull."""
    from scorebridge.clock import SystemClock
    from scorebridge.store import deadletter

    with _store() as store, store.write() as conn:
        for entry_id in ids:
            entry = deadletter.replay(conn, entry_id, now=SystemClock().now())
            what = "re-queued" if entry.kind == "operation" else "will be re-read by the next pull"
            typer.echo(f"{entry_id}: {entry.source} {entry.record_id} {what}")


@deadletter_app.command("drop")
def deadletter_drop(
    ids: list[int] = typer.Argument(  # noqa: B008
        ..., min=1, max=MAX_ID, help="Dead-letter ids (see `deadletter list`)."
    ),
) -> None:
    """Delete dead letters for good (the failure is understood and accepted)."""
    from scorebridge.store import deadletter

    with _store() as store, store.write() as conn:
        for entry_id in ids:
            deadletter.drop(conn, entry_id)
            typer.echo(f"{entry_id}: dropped")


@app.command()
def sync(
    dry_run: bool = typer.Option(
        False, "--dry-run", help="Run on a copy of the store and list the writes; send none."
    ),
    as_of: str = typer.Option(None, "--as-of", help="Score at this ISO time (default: now)."),
    as_json: bool = typer.Option(False, "--json", help="Print one JSON document."),
    details: bool = typer.Option(
        False, "--details", help="With --dry-run: list each planned write, not a summary."
    ),
) -> None:
    """Run exactly one cycle: pull, score, plan and push to both systems."""
    from scorebridge.runtime import open_runtime
    from scorebridge.store.lease import hold_lease
    from scorebridge.sync.cycle import SyncCycle

    try:
        scored_at = _as_of(as_of) if as_of is not None else None
        runtime = open_runtime(state.config_path, quiet=as_json)
        try:
            store = runtime.store
            if dry_run:
                cycle = SyncCycle(runtime.settings, store=store, clock=runtime.clock)
                report = cycle(dry_run=True, as_of=scored_at)
            else:
                lock = runtime.settings.daemon.lock_file
                with hold_lease(store, clock=runtime.clock, lock_path=lock) as lease:
                    cycle = SyncCycle(
                        runtime.settings, store=store, clock=runtime.clock, lease=lease
                    )
                    report = cycle(as_of=scored_at)
        finally:
            runtime.close()
    except BridgeError as exc:
        if as_json:  # one document on every exit, errors included
            emit_json({"error": error_document(exc), "problems": [redact(str(exc))]})
        raise
    if as_json:
        emit_json(report.as_dict())
    else:
        print_cycle(report, details=details)
    if report.problems:  # what was done is committed; the rest waits for the next cycle
        raise typer.Exit(1)


def error_document(exc: BaseException) -> dict[str, Any]:
    """The ``error`` object of a ``--json`` document for a command that failed."""
    return {
        "type": type(exc).__name__,
        "message": redact(str(exc)),
        "exit_code": 2 if isinstance(exc, ConfigError) else 1,
    }


@app.command()
def demo(
    workdir: Path = typer.Option(  # noqa: B008
        Path("scorebridge-demo"), "--dir", help="Working directory (created; reused on reruns)."
    ),
    crm: str = typer.Option(
        "hubspot", "--crm", help="The CRM emulator to run with: hubspot, pipedrive, salesforce."
    ),
) -> None:
    """Sandbox + seeded world + a few daemon cycles + a lead turning hot live, then a summary."""
    from scorebridge.demo import CRMS, run_demo

    if crm not in CRMS:
        raise typer.BadParameter(f"{crm!r}; choose one of {', '.join(CRMS)}", param_hint="--crm")
    raise typer.Exit(run_demo(Console(), workdir, crm))


from scorebridge import cli_guard, cli_setup  # noqa: E402 - commands register after the helpers

app.command("init")(cli_setup.init)
app.add_typer(cli_setup.config_app, name="config")
cli_guard.guard_store_commands(app, lambda: state.config_path)


def main() -> None:
    """Entry point: run the app and turn errors into the exit codes of DESIGN §7 (a usage
    error is one line on stderr, exit 2)."""
    try:
        command = typer.main.get_command(app)
        cli_guard.flags_as_flags(command)
        code = command(standalone_mode=False)
    except typer.Abort:
        stderr.print("aborted", highlight=False)
        sys.exit(1)
    except USAGE_ERROR as exc:
        if type(exc).__name__ != "NoArgsIsHelpError":  # a bare `scorebridge` printed the help
            stderr.print(escape(redact(usage_line(exc))), highlight=False, soft_wrap=True)
        sys.exit(2)
    except ConfigError as exc:
        stderr.print(
            f"[red]configuration error:[/red] {escape(redact(str(exc)))}",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(2)
    except BridgeError as exc:
        stderr.print(
            f"[red]error:[/red] {escape(redact(str(exc)))}", highlight=False, soft_wrap=True
        )
        sys.exit(1)
    sys.exit(code if isinstance(code, int) else 0)


def _register_measuring_commands() -> None:
    from scorebridge.cli_measure import register

    register(app, config_path=lambda: state.config_path, emit_json=emit_json)


_register_measuring_commands()
