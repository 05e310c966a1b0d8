"""Headless Chromium for the report tests: Debian's ``chromium`` package, installed when missing.

``./scripts/test`` on a fresh CI machine gets it from here (``apt-get install -y chromium``, as
root or through ``sudo -n``); a machine where it cannot be installed fails the report tests with
what to do, never skips them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--hide-scrollbars",
)


def find_or_install() -> str:
    """The chromium executable (installed with apt-get when missing)."""
    found = shutil.which("chromium") or ("/usr/bin/chromium" if Path("/usr/bin/chromium").exists()
                                        else None)  # fmt: skip
    if found:
        return found
    prefix = [] if os.geteuid() == 0 else ["sudo", "-n"]
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    for command in (["apt-get", "update"], ["apt-get", "install", "-y", "chromium"]):
        done = subprocess.run(
            [*prefix, *command], capture_output=True, text=True, env=env, timeout=900, check=False
        )
        if done.returncode != 0:
            pytest.fail(
                "the report tests need headless Chromium and could not install it "
                f"({' '.join(command)}: {done.stderr.strip()[-300:]}); "
                "run `apt-get install chromium` as root"
            )
    found = shutil.which("chromium")
    if found is None:
        pytest.fail("chromium was installed but is not on PATH")
    return found


def render(chromium: str, page: Path, profile: Path, *, png: Path, width: int = 1200,
           height: int = 1400) -> str:  # fmt: skip
    """Open ``page`` offline, write a screenshot to ``png`` and return the DOM after loading."""
    done = subprocess.run(
        [
            chromium,
            *FLAGS,
            f"--user-data-dir={profile}",
            f"--window-size={width},{height}",
            f"--screenshot={png}",
            "--dump-dom",
            page.resolve().as_uri(),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert png.exists(), done.stderr[-2000:]
    return done.stdout
