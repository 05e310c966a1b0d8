"""A new user's install: the wheel built from this tree, installed into a fresh virtualenv from
the pinned lock (requirements/runtime.txt), then ``scorebridge init``, ``doctor`` against the
sandbox with the secrets in the environment, and ``demo``, all from the installed package and
outside the source tree. Marked slow (about 25 s with pip's cache: a build, a venv, an install,
the demo) but in the default run; ``./scripts/test -m wheel`` runs it alone."""

import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.wheel, pytest.mark.timeout(600)]

ROOT = Path(__file__).resolve().parents[2]


def run(*args: str | Path, cwd: Path, env: dict[str, str] | None = None, timeout: float = 300):
    return subprocess.run(
        [str(a) for a in args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


@pytest.fixture(scope="module")
def installed(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, dict[str, str]]:
    """A fresh venv with the wheel installed; its bin directory and a clean environment."""
    work = tmp_path_factory.mktemp("wheel")
    dist = work / "dist"
    built = run(
        sys.executable, "-m", "pip", "wheel", "--no-deps", "--no-build-isolation",
        "-w", dist, ROOT, cwd=work,
    )  # fmt: skip
    assert built.returncode == 0, built.stdout + built.stderr
    (wheel,) = dist.glob("scorebridge-*.whl")
    venv = work / "venv"
    assert run(sys.executable, "-m", "venv", venv, cwd=work).returncode == 0
    pip = [venv / "bin" / "python", "-m", "pip", "--disable-pip-version-check", "--no-input"]
    lock = ROOT / "requirements" / "runtime.txt"
    deps = run(*pip, "install", "--quiet", "--require-hashes", "-r", lock, cwd=work)
    assert deps.returncode == 0, deps.stdout[-3000:] + deps.stderr[-3000:]
    own = run(*pip, "install", "--quiet", "--no-deps", wheel, cwd=work)
    assert own.returncode == 0, own.stdout + own.stderr
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SCOREBRIDGE_", "PYTHON", "VIRTUAL_ENV"))
    }
    env |= {"PATH": f"{venv / 'bin'}:{env.get('PATH', '')}", "COLUMNS": "120", "NO_COLOR": "1"}
    return venv / "bin", env


def test_the_installed_package_is_the_wheel_not_the_source_tree(
    installed: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    bin_dir, env = installed
    where = run(bin_dir / "python", "-c", "import scorebridge; print(scorebridge.__file__)",
                cwd=tmp_path, env=env)  # fmt: skip
    assert "site-packages" in where.stdout, where.stdout + where.stderr
    assert str(ROOT / "src") not in where.stdout


def test_init_then_doctor_against_the_sandbox(
    installed: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    bin_dir, env = installed
    scorebridge = bin_dir / "scorebridge"
    init = run(scorebridge, "init", "etc", cwd=tmp_path, env=env)
    assert init.returncode == 0, init.stderr
    config = tmp_path / "etc" / "scorebridge.toml"
    ready = tmp_path / "ready.json"
    sandbox = subprocess.Popen(
        [scorebridge, "sandbox", "--contacts", "40", "--days", "5", "--port", "0",
         "--ready-file", ready],
        cwd=tmp_path, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    try:
        deadline = time.monotonic() + 60
        while not ready.exists():
            assert sandbox.poll() is None, sandbox.communicate()[1]
            assert time.monotonic() < deadline, "the sandbox did not start"
            time.sleep(0.1)
        info = json.loads(ready.read_text())
        text = config.read_text()
        text = text.replace(
            'url = "https://mautic.example.com"', f'url = "{info["mautic"]["url"]}"'
        )
        text = re.sub(r'^username = "scorebridge"', f'username = "{info["mautic"]["username"]}"',
                      text, flags=re.M)  # fmt: skip
        text = text.replace('kind = "none"', 'kind = "hubspot"')
        text = text.replace('url = "https://api.hubapi.com"', f'url = "{info["hubspot"]["url"]}"')
        config.write_text(text)
        secrets = env | {
            "SCOREBRIDGE_MAUTIC__PASSWORD": info["mautic"]["password"],
            "SCOREBRIDGE_CRM__TOKEN": info["hubspot"]["token"],
        }
        doctor = run(scorebridge, "--config", config, "doctor", "--json", cwd=tmp_path,
                     env=secrets)  # fmt: skip
        checks = json.loads(doctor.stdout)
        assert doctor.returncode == 0, json.dumps(checks, indent=1)[-3000:] + doctor.stderr
        shown = run(scorebridge, "--config", config, "config", "show", cwd=tmp_path, env=secrets)
        assert 'mautic.password = "**********"  # env SCOREBRIDGE_MAUTIC__PASSWORD' in shown.stdout
        assert info["mautic"]["password"] not in shown.stdout
    finally:
        sandbox.terminate()
        sandbox.wait(timeout=30)


def test_demo_runs_from_the_installed_wheel(
    installed: tuple[Path, dict[str, str]], tmp_path: Path
) -> None:
    bin_dir, env = installed
    demo = run(bin_dir / "scorebridge", "demo", cwd=tmp_path, env=env, timeout=300)
    assert demo.returncode == 0, demo.stdout[-3000:] + demo.stderr[-3000:]
    assert "Kari Nordmann after cycle" in demo.stdout
    assert "Traceback" not in demo.stderr
