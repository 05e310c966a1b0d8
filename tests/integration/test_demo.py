"""``scorebridge demo`` as a new user runs it: one process in an empty directory, real sockets on
127.0.0.1, the real daemon. It must finish in under two minutes, exit 0, show the live lead
turning hot with a HubSpot task and deal, end with an idle cycle that writes nothing, and leave a
working directory whose store the offline commands can read."""

import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

LIMIT_SECONDS = 120.0


@pytest.fixture(scope="module")
def demo_run(
    tmp_path_factory: pytest.TempPathFactory,
) -> tuple[subprocess.CompletedProcess[str], float, Path]:
    cwd = tmp_path_factory.mktemp("fresh-user")
    env = {**os.environ, "COLUMNS": "120", "NO_COLOR": "1"}
    env.pop("SCOREBRIDGE_CONFIG", None)
    started = time.monotonic()
    done = subprocess.run(
        [sys.executable, "-m", "scorebridge", "demo"],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=200,
        check=False,
    )
    return done, time.monotonic() - started, cwd


def test_demo_succeeds_within_two_minutes(
    demo_run: tuple[subprocess.CompletedProcess[str], float, Path],
) -> None:
    done, seconds, _ = demo_run
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    assert seconds < LIMIT_SECONDS, f"the demo took {seconds:.0f} s"
    assert "Traceback" not in done.stderr, done.stderr[-3000:]


def test_the_live_lead_turns_hot_with_a_task_and_a_deal(
    demo_run: tuple[subprocess.CompletedProcess[str], float, Path],
) -> None:
    out = demo_run[0].stdout
    after = out[out.index("Kari Nordmann after cycle") :]
    assert re.search(r"band cold -> hot", after), after[:800]
    assert re.search(r"^\s*task Warm lead Kari Nordmann", after, re.M), after[:1500]
    assert re.search(r"^\s*deal Kari Nordmann", after, re.M), after[:1500]
    assert re.search(r"call note Warm lead Kari Nordmann", after), after[:1500]


def test_an_idle_cycle_writes_nothing(
    demo_run: tuple[subprocess.CompletedProcess[str], float, Path],
) -> None:
    out = demo_run[0].stdout
    idle = re.search(
        r"cycle (\d+) .*mautic \d+ reads / 0 writes; hubspot \d+ reads / 0 writes", out
    )
    assert idle, out[-2500:]
    assert "idle: 0 writes" in out


def test_offline_commands_read_the_demo_store(
    demo_run: tuple[subprocess.CompletedProcess[str], float, Path],
) -> None:
    _, _, cwd = demo_run
    config = cwd / "scorebridge-demo" / "scorebridge.toml"
    assert (cwd / "scorebridge-demo" / "scorebridge.hubspot-token").stat().st_mode & 0o077 == 0
    for args in (["leads", "--band", "hot"], ["explain", "kari.nordmann@fjordvik-logistics.no"]):
        done = subprocess.run(
            [sys.executable, "-m", "scorebridge", "--config", str(config), *args],
            cwd=cwd,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
        assert done.returncode == 0, done.stderr
    assert "Kari Nordmann" in done.stdout


def test_the_demo_ends_by_pointing_at_its_report(
    demo_run: tuple[subprocess.CompletedProcess[str], float, Path],
) -> None:
    done, _, cwd = demo_run
    tail = done.stdout[done.stdout.index("Measure the rules") :]
    report = cwd / "scorebridge-demo" / "report.html"
    assert "scorebridge-demo/report.html" in tail.replace("\n", "")
    assert "report --out report.html" in tail
    page = report.read_text()
    assert page.count('<figure class="plot"') >= 5  # a short history: no predictive score
    assert "<script" not in page
