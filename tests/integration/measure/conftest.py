"""One sandbox world with enough history for measuring (2,500 contacts, 330 days, closed deals
whose outcomes follow each person's hidden intent), pulled from Mautic and HubSpot over real
sockets into a store once per session; the sandbox is stopped afterwards, so everything the
tests run against the store is offline. The generated world is kept as the truth."""

from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa

from scorebridge.clock import FrozenClock
from scorebridge.config import load_config
from scorebridge.crm.hubspot import HubSpotAdapter
from scorebridge.runtime import Runtime
from scorebridge.sandbox.runner import Sandbox, SandboxOptions, write_config
from scorebridge.sandbox.seed import generate_world
from scorebridge.sandbox.world import World
from scorebridge.store.tables import Contact
from scorebridge.sync.crm_pull import pull_crm
from scorebridge.sync.pull import Puller

NOW = datetime(2026, 11, 22, 12, 0, tzinfo=UTC)
CONTACTS, DAYS, SEED = 2500, 330, 7
FAST_LIMITS = {"ten_secondly": 100_000, "daily": 10_000_000, "search_per_second": 10_000}


@dataclass
class Pulled:
    """A store holding the pulled world, its config, and the world as generated (the truth)."""

    config: Path
    truth: World

    def cli(self, *args: str, timeout: float = 120) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [sys.executable, "-m", "scorebridge", "--config", str(self.config), *args],
            capture_output=True,
            text=True,
            timeout=timeout,
            check=False,
        )

    def intent_by_contact(self) -> dict[int, float]:
        """Hidden intent per stored contact id (matched by e-mail)."""
        by_email = {p.email.lower(): p.intent for p in self.truth.persons}
        by_email |= {p.crm_email.lower(): p.intent for p in self.truth.persons if p.crm_email}
        runtime = Runtime(load_config(self.config))
        table = Contact.__table__  # type: ignore[attr-defined]
        with runtime.store.read() as conn:
            rows = conn.execute(sa.select(table.c.id, table.c.email)).all()
        runtime.close()
        return {r.id: by_email[r.email] for r in rows if r.email in by_email}


def _settings_text(config: Path) -> str:
    return config.read_text().replace(
        "[scoring]",
        f"[pull]\nbackfill_days = {DAYS + 5}\n\n"
        "[mautic.page_size]\nstats = 5000\ncontacts = 1000\n\n[scoring]",
    )


@pytest.fixture(scope="session")
def pulled(tmp_path_factory: pytest.TempPathFactory) -> Pulled:
    root = tmp_path_factory.mktemp("measure")
    options = SandboxOptions(contacts=CONTACTS, days=DAYS, seed=SEED, now=NOW, steady=True)
    sandbox = Sandbox(options)
    info: dict[str, Any] = sandbox.start()
    try:
        config = root / "scorebridge.toml"
        write_config(config, info)
        config.write_text(_settings_text(config))
        requests.post(
            f"{info['hubspot']['url']}/_sandbox/limits", json=FAST_LIMITS, timeout=30
        ).raise_for_status()
        settings = load_config(config)
        clock = FrozenClock(NOW + timedelta(minutes=5))
        runtime = Runtime(settings, clock=clock)
        Puller(runtime.store, runtime.mautic, clock, runtime.pull_options()).pull()
        assert settings.crm.token is not None
        adapter = HubSpotAdapter(
            token=settings.crm.token.get_secret_value(),
            base_url=settings.crm.url,
            clock=clock,
            burst_per_10s=100_000,
            search_per_second=10_000,
            read_properties=settings.crm.read_properties,
        )
        pull_crm(runtime.store, adapter, clock, kind="hubspot", overlap=timedelta(minutes=10))
        runtime.close()
    finally:
        sandbox.stop()
    truth = generate_world(contacts=CONTACTS, days=DAYS, seed=SEED, now=NOW, steady=True)
    return Pulled(config, truth)


@pytest.fixture(scope="session")
def analysis(
    pulled: Pulled, tmp_path_factory: pytest.TempPathFactory
) -> tuple[dict[str, Any], Path]:
    """``scorebridge analyze --json --write-candidate FILE``: the document and the candidate."""
    candidate = tmp_path_factory.mktemp("analyze") / "candidate.toml"
    done = pulled.cli("analyze", "--json", "--write-candidate", str(candidate))
    assert done.returncode == 0, done.stderr
    return json.loads(done.stdout), candidate
