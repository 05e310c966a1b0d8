"""Fixtures for the security tests: one small sandbox per module, config files pointing at it
with DEBUG logging, and a helper that runs the real CLI as a subprocess."""

from __future__ import annotations

import base64
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import requests

from scorebridge.sandbox.runner import Sandbox, SandboxOptions, write_config


@dataclass
class Cli:
    """The outcome of one ``scorebridge`` subprocess."""

    args: list[str]
    code: int
    stdout: str
    stderr: str
    seconds: float


def run_cli(
    config: Path, *args: str, env: dict[str, str] | None = None, timeout: float = 60
) -> Cli:
    """``python -m scorebridge --config CONFIG ARGS`` with a clean SCOREBRIDGE_* environment."""
    environ = {k: v for k, v in os.environ.items() if not k.startswith("SCOREBRIDGE_")}
    environ.update(env or {})
    command = [sys.executable, "-m", "scorebridge", "--config", str(config), *args]
    started = time.monotonic()
    done = subprocess.run(
        command, capture_output=True, text=True, env=environ, timeout=timeout, check=False
    )
    return Cli(list(args), done.returncode, done.stdout, done.stderr, time.monotonic() - started)


@dataclass
class SecurityWorld:
    """A running sandbox, its ready info, and the secrets a leak scan looks for."""

    sandbox: Sandbox
    info: dict[str, Any]
    directory: Path
    extra_secrets: set[str] = field(default_factory=set)

    @property
    def mautic(self) -> dict[str, Any]:
        return dict(self.info["mautic"])

    def faults(self, **faults: Any) -> None:
        """Set fault knobs on every emulator through ``POST /_sandbox/faults``."""
        for entry in self.info.values():
            response = requests.post(
                entry["url"] + "/_sandbox/faults",
                json=faults,
                timeout=10,
                verify=entry.get("ca_bundle", True),
            )
            response.raise_for_status()

    def issued_tokens(self) -> set[str]:
        """Every OAuth2 access token the Mautic emulator has handed out."""
        server = self.sandbox.servers["mautic"]
        with server.lock:
            return set(self.sandbox.mautic.state.tokens)

    def fetch_token(self) -> str:
        """Get an access token ourselves (the value the client would also hold)."""
        mautic = self.mautic
        response = requests.post(
            mautic["url"] + "/oauth/v2/token",
            data={
                "grant_type": "client_credentials",
                "client_id": mautic["client_id"],
                "client_secret": mautic["client_secret"],
            },
            timeout=10,
            verify=mautic.get("ca_bundle", True),
        )
        response.raise_for_status()
        return str(response.json()["access_token"])

    def secrets(self) -> dict[str, str]:
        """Every secret value: name -> value (header encodings included)."""
        mautic = self.mautic
        found = {
            "mautic password": mautic["password"],
            "mautic client secret": mautic["client_secret"],
            "basic header value": base64.b64encode(
                f"{mautic['username']}:{mautic['password']}".encode()
            ).decode(),
        }
        for name, entry in self.info.items():
            if name != "mautic" and entry.get("token"):
                found[f"{name} token"] = str(entry["token"])
        for n, token in enumerate(sorted(self.issued_tokens() | self.extra_secrets)):
            found[f"token/extra #{n}"] = token
        return found

    def config(
        self, name: str, *, mautic: dict[str, str] | None = None, logging: str = "debug"
    ) -> Path:
        """A scorebridge.toml (own store) with [mautic] keys replaced by ``mautic``."""
        directory = self.directory / name
        directory.mkdir(parents=True)
        path = directory / "scorebridge.toml"
        write_config(path, self.info)
        text = path.read_text(encoding="utf-8")
        if mautic is not None:
            head, _, rest = text.partition("[mautic]\n")
            body, sep, tail = rest.partition("\n\n")
            kept = [
                line
                for line in body.splitlines()
                if line.split(" ", 1)[0] in {"url", "ca_bundle"} - set(mautic)
            ]
            extra = [f"{key} = {value}" for key, value in mautic.items()]
            text = head + "[mautic]\n" + "\n".join(kept + extra) + sep + tail
        path.write_text(text + f'\n[logging]\nlevel = "{logging}"\n', encoding="utf-8")
        return path


def start_world(tmp_path: Path, *, tls: bool = False) -> SecurityWorld:
    sandbox = Sandbox(SandboxOptions(contacts=20, days=4, seed=11, tls=tls))
    info = sandbox.start()
    return SecurityWorld(sandbox, info, tmp_path)


@pytest.fixture(scope="module")
def world(tmp_path_factory: pytest.TempPathFactory) -> Iterator[SecurityWorld]:
    """A plain-http sandbox shared by a module's tests."""
    started = start_world(tmp_path_factory.mktemp("security"))
    try:
        yield started
    finally:
        started.sandbox.stop()
