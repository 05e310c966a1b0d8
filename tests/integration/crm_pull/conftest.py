"""A sandbox whose seeded world is kept for comparison, a HubSpot adapter pointed at it, and
helpers to run the Mautic pull then the CRM pull into a store."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import sqlalchemy as sa
from pull.conftest import World, start_world

from scorebridge.clock import FrozenClock
from scorebridge.crm.hubspot import HubSpotAdapter
from scorebridge.http import BucketRegistry
from scorebridge.sandbox import seed
from scorebridge.sandbox.world import World as SeededWorld
from scorebridge.store.tables import Contact
from scorebridge.sync.crm_pull import CrmPullReport, pull_crm
from scorebridge.sync.pull import Puller

KIND = "hubspot"
OVERLAP = timedelta(minutes=10)
#: Fit fields the emulator seeds, read on top of the adapter's standard ones.
READ_PROPERTIES = ("jobtitle", "company", "country")
#: Limits high enough that pacing never slows these tests (pacing has its own tests).
FAST_LIMITS = {"ten_secondly": 100_000, "daily": 1_000_000, "search_per_second": 1_000}


@dataclass
class CrmWorld:
    """A started sandbox, the world it was seeded with, and the config pointing at it."""

    world: World
    seeded: SeededWorld

    @property
    def hubspot(self) -> dict[str, Any]:
        return dict(self.world.info[KIND])

    def with_store(self, name: str) -> CrmWorld:
        """The same sandbox with its own store ``<name>.db``."""
        config = self.world.config.with_name(f"{name}.toml")
        config.write_text(self.world.config.read_text().replace("scorebridge.db", f"{name}.db"))
        return CrmWorld(World(self.world.sandbox, self.world.info, config), self.seeded)

    def adapter(self, clock: FrozenClock, page_size: int = 200) -> HubSpotAdapter:
        return HubSpotAdapter(
            token=self.hubspot["token"],
            base_url=self.hubspot["url"],
            clock=clock,
            read_properties=READ_PROPERTIES,
            burst_per_10s=100_000,
            search_per_second=1_000,
            buckets=BucketRegistry(),
            search_page_size=page_size,
        )

    def pull_mautic(self) -> None:
        runtime = self.world.runtime()
        Puller(runtime.store, runtime.mautic, runtime.clock, runtime.pull_options()).pull()
        runtime.close()

    def pull_crm(self, page_size: int = 200) -> CrmPullReport:
        clock = FrozenClock(datetime.now(UTC))
        runtime = self.world.runtime(clock=clock)
        try:
            adapter = self.adapter(clock, page_size)
            return pull_crm(runtime.store, adapter, clock, kind=KIND, overlap=OVERLAP)
        finally:
            runtime.close()

    def hubspot_api(self, method: str, path: str, body: Any = None) -> Any:
        response = requests.request(
            method,
            f"{self.hubspot['url']}{path}",
            json=body,
            headers={"Authorization": f"Bearer {self.hubspot['token']}"},
            timeout=30,
        )
        response.raise_for_status()
        return response.json() if response.content else None

    def mautic_api(self, method: str, path: str, body: Any = None) -> Any:
        mautic = self.world.info["mautic"]
        response = requests.request(
            method,
            f"{mautic['url']}{path}",
            json=body,
            auth=(mautic["username"], mautic["password"]),
            timeout=30,
        )
        response.raise_for_status()
        return response.json()

    def hubspot_ids_by_email(self) -> dict[str, str]:
        with self.world.sandbox.servers[KIND].lock:
            state = self.world.sandbox.crms[KIND].state
            return {
                str(r.properties["email"]).lower(): r.id
                for r in state.records["contacts"].values()
                if not r.archived and r.properties.get("email")
            }

    def mautic_ids_by_email(self) -> dict[str, int]:
        with self.world.sandbox.servers["mautic"].lock:
            return {
                str(c.values["email"]).strip().lower(): c.id
                for c in self.world.sandbox.mautic.state.contacts.values()
                if c.values.get("email")
            }

    def local_contacts(self) -> list[Any]:
        runtime = self.world.runtime()
        table = Contact.__table__  # type: ignore[attr-defined]
        with runtime.store.read() as conn:
            rows = list(conn.execute(sa.select(table).order_by(table.c.id)))
        runtime.close()
        return rows


def start_crm_world(tmp_path: Path, *, contacts: int, days: int, seed_number: int) -> CrmWorld:
    """Start a sandbox and keep the world it generated (the sandbox itself does not)."""
    generated: list[SeededWorld] = []
    original = seed.generate_world

    def keep(**kwargs: Any) -> SeededWorld:
        generated.append(original(**kwargs))
        return generated[-1]

    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(seed, "generate_world", keep)
        world = start_world(tmp_path, contacts=contacts, days=days, seed=seed_number)
    requests.post(
        f"{world.info[KIND]['url']}/_sandbox/limits", json=FAST_LIMITS, timeout=30
    ).raise_for_status()
    return CrmWorld(world, generated[0])


@pytest.fixture
def crm_world(tmp_path: Path) -> Iterator[CrmWorld]:
    """A fresh 300-contact world (seed 3 has CRM-only persons and differing CRM e-mails)."""
    started = start_crm_world(tmp_path, contacts=300, days=20, seed_number=3)
    yield started
    started.world.sandbox.stop()
