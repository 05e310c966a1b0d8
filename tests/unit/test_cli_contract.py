"""The CLI conventions of DESIGN §7 that every command relies on."""

import subprocess
import sys


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scorebridge", *args], capture_output=True, text=True, timeout=60
    )


def test_version_prints_and_exits_zero() -> None:
    result = run("--version")
    assert result.returncode == 0
    assert result.stdout.startswith("scorebridge ")


def test_unknown_command_is_a_usage_error_with_exit_2() -> None:
    result = run("no-such-command")
    assert result.returncode == 2
    assert "No such command" in result.stderr
