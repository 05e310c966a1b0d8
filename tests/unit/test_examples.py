"""``scorebridge init`` and the example files it writes from the installed package."""

import subprocess
import sys
from pathlib import Path

from scorebridge.config import load_config
from scorebridge.examples import SYSTEMD_UNIT, example_text, init_directory
from scorebridge.scoring import compile_rules, load_rules


def run(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "scorebridge", *args],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=cwd,
    )


def test_init_writes_a_configuration_that_loads_and_whose_rules_compile(tmp_path: Path) -> None:
    written = init_directory(tmp_path / "etc")
    assert [w.path.name for w in written] == ["scorebridge.toml", "scoring.toml"]
    config = tmp_path / "etc" / "scorebridge.toml"
    assert "# " in config.read_text()  # commented, not a bare dump
    settings = load_config(config, environ={"SCOREBRIDGE_MAUTIC__PASSWORD": "from-the-env"})
    assert settings.scoring.rules == tmp_path / "etc" / "scoring.toml"
    assert compile_rules(load_rules(settings.scoring.rules)).groups


def test_init_refuses_to_overwrite_without_force(tmp_path: Path) -> None:
    first = run("init", "conf", cwd=tmp_path)
    assert first.returncode == 0, first.stderr
    assert "wrote" in first.stdout
    (tmp_path / "conf" / "scorebridge.toml").write_text("# mine\n")
    again = run("init", "conf", cwd=tmp_path)
    assert again.returncode == 2
    assert "--force" in again.stderr
    assert (tmp_path / "conf" / "scorebridge.toml").read_text() == "# mine\n"
    forced = run("init", "conf", "--force", cwd=tmp_path)
    assert forced.returncode == 0, forced.stderr
    assert "[mautic]" in (tmp_path / "conf" / "scorebridge.toml").read_text()


def test_print_unit_prints_the_shipped_systemd_unit(tmp_path: Path) -> None:
    result = run("init", "--print-unit", cwd=tmp_path)
    assert result.returncode == 0
    assert result.stdout == example_text(SYSTEMD_UNIT)
    assert "ExecStart=" in result.stdout
    assert not list(tmp_path.iterdir())
