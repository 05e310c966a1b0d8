"""A running sandbox (Mautic + CRM emulators over real sockets) and a store for pull tests."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests

from scorebridge.clock import FrozenClock
from scorebridge.config import Settings, load_config
from scorebridge.runtime import Runtime
from scorebridge.sandbox.base import Faults
from scorebridge.sandbox.runner import Sandbox, SandboxOptions, write_config


@dataclass
class World:
    """A started sandbox plus the config that points at it."""

    sandbox: Sandbox
    info: dict[str, Any]
    config: Path

    @property
    def mautic_url(self) -> str:
        return str(self.info["mautic"]["url"])

    def settings(self) -> Settings:
        return load_config(self.config)

    def runtime(self, *, clock: Any = None) -> Runtime:
        """A runtime whose HTTP waits pass instantly (a frozen clock at the real time)."""
        return Runtime(self.settings(), clock=clock or FrozenClock(datetime.now(UTC)))

    def control(self, method: str, route: str, body: Any = None) -> Any:
        response = requests.request(
            method, f"{self.mautic_url}/_sandbox/{route}", json=body, timeout=60
        )
        response.raise_for_status()
        return response.json()

    def faults(self, **faults: Any) -> None:
        self.sandbox.servers["mautic"].set_faults(Faults(**faults))

    def requests_made(self) -> dict[str, int]:
        return self.sandbox.servers["mautic"].request_counts()


def start_world(
    tmp_path: Path,
    contacts: int,
    days: int,
    seed: int,
    now: datetime | None = None,
    crms: tuple[str, ...] | None = None,
) -> World:
    """A started sandbox; the same arguments (``now`` included) give the same world. The config
    names the first CRM of ``crms`` (default: every emulator; the config names HubSpot)."""
    options = SandboxOptions(contacts=contacts, days=days, seed=seed, now=now, crms=crms)
    sandbox = Sandbox(options)
    info = sandbox.start()
    config = tmp_path / "scorebridge.toml"
    write_config(config, info)
    return World(sandbox, info, config)


@pytest.fixture
def small_world(tmp_path: Path) -> Iterator[World]:
    """300 contacts x 20 days: quick enough for every test that needs its own world."""
    world = start_world(tmp_path, contacts=300, days=20, seed=11)
    yield world
    world.sandbox.stop()
