"""A sandbox world plus the whole write-back path (pull, rescore, plan, push) over real sockets."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from pull.conftest import World, start_world

from scorebridge.clock import FrozenClock
from scorebridge.config import Settings
from scorebridge.crm.hubspot import HubSpotAdapter
from scorebridge.runtime import Runtime, build_crm_adapter
from scorebridge.scoring import CompiledRules, compile_rules, load_rules
from scorebridge.sync.crm_pull import pull_crm
from scorebridge.sync.crm_writer import CrmWriter, crm_field_specs
from scorebridge.sync.desired import PlanReport, plan_changes
from scorebridge.sync.mautic_writer import MauticWriter
from scorebridge.sync.pull import Puller
from scorebridge.sync.push import PushReport, Writer, push
from scorebridge.sync.score import rescore

_READS = ("/search", "/batch/read")


def write_requests(counts: dict[str, int]) -> Counter[str]:
    """Requests that change something remotely (search and batch-read POSTs are reads)."""
    return Counter(
        {
            route: n
            for route, n in counts.items()
            if not route.startswith("GET ") and not route.endswith(_READS)
        }
    )


@dataclass
class Bridge:
    """The engine wired to a running sandbox; :meth:`sync` runs one write-back cycle."""

    world: World
    now: datetime
    runtime: Runtime = field(init=False)
    rules: CompiledRules = field(init=False)
    writers: list[Writer] = field(init=False)

    def __post_init__(self) -> None:
        self.runtime = Runtime(self.settings, clock=FrozenClock(self.now))
        self.rules = compile_rules(load_rules(self.settings.scoring.rules))
        self.writers = self.make_writers()

    @property
    def settings(self) -> Settings:
        return self.world.settings()

    def make_writers(self) -> list[Writer]:
        """Fresh writers (nothing cached), as a restarted process would have."""
        settings = self.settings
        adapter: Any
        if settings.crm.kind == "hubspot":
            assert settings.crm.token is not None
            adapter = HubSpotAdapter(
                token=settings.crm.token.get_secret_value(),
                base_url=settings.crm.url,
                clock=self.runtime.clock,
                burst_per_10s=10_000,
                search_per_second=1_000,
            )
        else:  # built from [crm] as the daemon builds it, paced for the emulators' raised limits
            fast = settings.crm.model_copy(update={"requests_per_2s": 10_000})
            adapter = build_crm_adapter(
                settings.model_copy(update={"crm": fast}), self.runtime.clock
            )
        return [
            MauticWriter.from_settings(self.runtime.mautic, settings, self.rules),
            CrmWriter.from_settings(adapter, settings, self.rules),
        ]

    def sync(self, minutes: float = 5) -> tuple[PlanReport, PushReport]:
        """Pull (Mautic, then HubSpot), rescore, plan and push, ``minutes`` after the last sync."""
        plan = self.pull_and_plan(minutes)
        return plan, push(self.runtime.store, self.writers, self.now)

    def pull_and_plan(self, minutes: float = 5) -> PlanReport:
        """A cycle up to the push."""
        self.now += timedelta(minutes=minutes)
        self.runtime.clock = FrozenClock(self.now)
        Puller(
            self.runtime.store, self.runtime.mautic, self.runtime.clock, self.runtime.pull_options()
        ).pull()
        crm = self.writers[1]
        assert isinstance(crm, CrmWriter)
        pull_crm(
            self.runtime.store,
            crm.adapter,
            self.runtime.clock,
            kind=self.settings.crm.kind,
            overlap=self.settings.pull.overlap,
            lag=self.settings.pull.commit_lag,
            ignore_properties=[f.name for f in crm_field_specs(self.settings, self.rules)],
        )
        rescore(
            self.runtime.store,
            self.rules,
            self.now,
            notify_existing=self.settings.scoring.notify_existing,
        )
        return plan_changes(self.runtime.store, self.rules, self.settings, self.now)

    def counts(self) -> dict[str, Counter[str]]:
        """Write requests so far, per system."""
        return {
            name: write_requests(server.request_counts())
            for name, server in self.world.sandbox.servers.items()
        }


def without_stage_resets(world: World) -> None:
    """Point the config at a copy of the rules without ``reset_score``.

    For tests that want scores which never restart at a stage entry (a reset takes effect in
    the run that enters the stage, so idle cycles write nothing either way).
    """
    rules_path = Path(world.settings().scoring.rules)
    copy = world.config.with_name("rules-no-reset.toml")
    copy.write_text(rules_path.read_text().replace("reset_score = true", ""))
    config = world.config.read_text().replace(f'"{rules_path}"', f'"{copy}"')
    assert str(copy) in config
    world.config.write_text(config)


def notify_existing(world: World) -> None:
    """``[scoring] notify_existing = true``: the first sync creates the tasks these tests count."""
    config = world.config.read_text()
    assert "[scoring]\n" in config
    world.config.write_text(config.replace("[scoring]\n", "[scoring]\nnotify_existing = true\n"))


def raise_hubspot_limits(world: World) -> None:
    """HubSpot limits so high that a test never waits on them."""
    hubspot = str(world.info["hubspot"]["url"])
    requests.post(
        f"{hubspot}/_sandbox/limits",
        json={"ten_secondly": 100_000, "daily": 1_000_000, "search_per_second": 100_000},
        timeout=10,
    ).raise_for_status()


@pytest.fixture
def bridge(tmp_path: Path) -> Iterator[Bridge]:
    """150 contacts x 20 days, HubSpot limits raised so the test never waits on them."""
    world = start_world(tmp_path, contacts=150, days=20, seed=11)
    notify_existing(world)
    raise_hubspot_limits(world)
    made = Bridge(world, datetime.now(UTC))
    yield made
    made.runtime.close()
    world.sandbox.stop()
