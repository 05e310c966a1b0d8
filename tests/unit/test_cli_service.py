"""What a sysadmin meets on the command line: flags that read as flags, -v/-q, shell
completion, choices checked against the rule file, the refusal to change the store beside a
running daemon, leads at 80 columns and the dry run's summary."""

import os
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest
from rich.console import Console

from scorebridge import views
from scorebridge.clock import FrozenClock
from scorebridge.examples import SCORING_EXAMPLE, example_path
from scorebridge.logging import configure_logging, override_level
from scorebridge.store import open_store
from scorebridge.store.lease import acquire_lease


def run(*args: str, cwd: Path | None = None) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "100", "NO_COLOR": "1"}
    return subprocess.run(
        [sys.executable, "-m", "scorebridge", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
        env=env,
    )


@pytest.fixture
def config(tmp_path: Path) -> Path:
    path = tmp_path / "scorebridge.toml"
    path.write_text(
        f'[store]\nurl = "sqlite:///./store.db"\n'
        f'[scoring]\nrules = "{example_path(SCORING_EXAMPLE)}"\n'
        '[mautic]\nurl = "https://m.example/"\nusername = "api"\npassword = "x"\n'
    )
    return path


def test_help_shows_flags_as_flags_and_bracketed_text_as_written() -> None:
    sync = run("sync", "--help").stdout
    assert "--dry-run" in sync
    assert "<bool>" not in sync
    assert "a cycle every [schedule] interval" in run("run", "--help").stdout
    root = run("--help").stdout
    for option in ("--verbose", "-v", "--quiet", "-q", "--install-completion"):
        assert option in root


def test_shell_completion_is_offered() -> None:
    script = Path(sys.executable).with_name("scorebridge")  # completion keys on the program name
    shown = subprocess.run(
        [str(script), "--show-completion", "bash"], capture_output=True, text=True, timeout=60
    )
    assert shown.returncode == 0, shown.stderr
    assert "_SCOREBRIDGE_COMPLETE" in shown.stdout


def test_verbose_and_quiet_override_the_configured_level() -> None:
    import logging

    try:
        override_level("debug")
        configure_logging("warning")
        assert logging.getLogger().level == logging.DEBUG
        override_level("error")
        configure_logging("info")
        assert logging.getLogger().level == logging.ERROR
    finally:
        override_level(None)
        configure_logging("warning")
    assert run("-q", "--version").returncode == 0


def test_an_unknown_band_or_group_is_a_usage_error_naming_the_allowed_values(
    config: Path,
) -> None:
    band = run("--config", str(config), "leads", "--band", "hott")
    assert band.returncode == 2
    assert "unknown band 'hott'" in band.stderr
    assert "cold, warm, hot" in band.stderr
    group = run("--config", str(config), "leads", "--group", "nope")
    assert group.returncode == 2
    assert "product_a" in group.stderr
    assert run("--config", str(config), "leads", "--band", "hot").returncode == 0


def test_store_changing_commands_refuse_beside_a_running_daemon_unless_forced(
    config: Path,
) -> None:
    store = open_store(f"sqlite:///{config.parent / 'store.db'}")
    clock = FrozenClock(datetime.now(UTC))
    lease = acquire_lease(store, clock=clock, holder="other-host:4242")
    try:
        for command in (["rescore"], ["adjust", "7", "5", "--reason", "call"], ["pull"]):
            refused = run("--config", str(config), *command)
            assert refused.returncode == 1, refused.stderr
            assert "a daemon (other-host:4242" in refused.stderr
            assert "--force" in refused.stderr
        forced = run("--config", str(config), "rescore", "--force")
        assert forced.returncode == 0, forced.stderr
        assert "rescored 0 contact(s)" in forced.stdout
        assert run("--config", str(config), "status").returncode == 0  # reading is fine
    finally:
        lease.release()
        store.close()
    assert run("--config", str(config), "rescore").returncode == 0


def lead(i: int) -> SimpleNamespace:
    return SimpleNamespace(
        mautic_id=1000 + i,
        contact_id=i,
        email=f"someone.with.a.long.name{i}@example-company.com",
        name=f"Firstname Lastname {i}",
        total=95 - i,
        band="hot",
        stage="sql",
        groups={"product_a": 60, "engagement": 30},
        last_activity_at=datetime(2026, 11, 20, tzinfo=UTC),
    )


def test_leads_fit_80_columns_one_line_each(monkeypatch: pytest.MonkeyPatch) -> None:
    console = Console(width=80, record=True, force_terminal=False)
    monkeypatch.setattr(views, "Console", lambda: console)
    views.print_leads([lead(i) for i in range(3)], None)
    lines = console.export_text().splitlines()
    assert max(len(line) for line in lines) <= 80
    rows = [line for line in lines if "1000" in line or "1001" in line or "1002" in line]
    assert len(rows) == 3, lines
    assert all(
        "95" in lines[i] or "94" in lines[i] or "93" in lines[i]
        for i in [lines.index(r) for r in rows]
    )


def test_a_dry_run_summarizes_by_system_and_operation_and_details_list_each_write(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    planned = [
        {"system": "mautic", "op": "fields", "contact_id": 1, "payload": {"sb_score": 40}},
        {"system": "mautic", "op": "fields", "contact_id": 2, "payload": {"sb_score": 80}},
        {"system": "crm", "op": "task", "contact_id": 2, "payload": {"subject": "call"}},
    ]
    report = SimpleNamespace(
        steps={}, requests={}, outbox_depth={}, dead_letters=0, interrupted=False,
        problems=[], dry_run=True, planned_writes=planned,
    )  # fmt: skip
    console = Console(width=100, record=True, force_terminal=False)
    monkeypatch.setattr(views, "Console", lambda: console)
    views.print_cycle(report)
    summary = console.export_text()
    assert "planned writes (dry run: 3, none sent)" in summary
    assert any(line.split()[:4] == ["│", "mautic", "│", "fields"] and "2" in line
               for line in summary.splitlines())  # fmt: skip
    assert "sb_score" not in summary
    assert "--details lists each write" in summary
    views.print_cycle(report, details=True)
    assert '"sb_score": 80' in console.export_text()
