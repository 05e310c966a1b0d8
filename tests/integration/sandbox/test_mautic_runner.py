"""`scorebridge sandbox`: ready file, written config, real sockets, clean stop on signals."""

from __future__ import annotations

import json
import os
import signal
import stat
import subprocess
import sys
import time
import tomllib
from pathlib import Path
from typing import Any

import requests

from scorebridge.sandbox.runner import CONFIG_KINDS


def _start(tmp_path: Path) -> tuple[subprocess.Popen[bytes], dict[str, Any]]:
    ready = tmp_path / "ready.json"
    command = [
        sys.executable, "-m", "scorebridge", "sandbox", "--contacts", "25", "--days", "5",
        "--seed", "3", "--port", "0", "--ready-file", str(ready),
        "--write-config", str(tmp_path / "scorebridge.toml"),
    ]  # fmt: skip
    process = subprocess.Popen(command, stderr=subprocess.PIPE, stdout=subprocess.PIPE)
    deadline = time.monotonic() + 60
    while not ready.exists():
        if process.poll() is not None or time.monotonic() > deadline:
            process.kill()
            raise AssertionError(process.stderr.read().decode() if process.stderr else "")
        time.sleep(0.05)
    return process, json.loads(ready.read_text())


def _stop(process: subprocess.Popen[bytes], sig: int) -> int:
    process.send_signal(sig)
    try:
        return process.wait(timeout=10)
    finally:
        if process.poll() is None:
            process.kill()


def test_sandbox_serves_mautic_and_stops_cleanly_on_sigterm(tmp_path: Path) -> None:
    process, ready = _start(tmp_path)
    try:
        mautic = ready["mautic"]
        assert set(mautic) == {"url", "username", "password", "client_id", "client_secret"}
        assert mautic["url"].startswith("http://127.0.0.1:")
        basic = requests.get(
            mautic["url"] + "/api/contacts",
            params={"limit": 5},
            auth=(mautic["username"], mautic["password"]),
            timeout=10,
        )
        assert basic.status_code == 200
        assert int(basic.json()["total"]) > 0
        token = requests.post(
            mautic["url"] + "/oauth/v2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": mautic["client_id"],
                "client_secret": mautic["client_secret"],
            },
            timeout=10,
        ).json()["access_token"]
        bearer = requests.get(
            mautic["url"] + "/api/stats/lead_points_change_log",
            headers={"Authorization": f"Bearer {token}"},
            timeout=10,
        )
        assert bearer.status_code == 200
        config = tomllib.loads((tmp_path / "scorebridge.toml").read_text())
        assert config["store"]["url"] == "sqlite:///./scorebridge.db"
        assert config["mautic"]["url"] == mautic["url"]
        assert config["mautic"]["auth"] == "basic"
        password_file = Path(config["mautic"]["password_file"])
        assert password_file.read_text().strip() == mautic["password"]
        assert stat.S_IMODE(os.stat(password_file).st_mode) == 0o600
        assert config["scoring"]["rules"].endswith("config/scoring.example.toml")
        named = next(name for name in ready if name in CONFIG_KINDS)  # the first CRM started
        assert config["crm"]["kind"] == named
        assert config["crm"]["url"] == ready[named]["url"]
    finally:
        code = _stop(process, signal.SIGTERM)
    assert code == 0


def test_sandbox_stops_cleanly_on_ctrl_c(tmp_path: Path) -> None:
    process, _ready = _start(tmp_path)
    assert _stop(process, signal.SIGINT) == 0
